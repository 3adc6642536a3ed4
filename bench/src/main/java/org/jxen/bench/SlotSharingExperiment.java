package org.jxen.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Experiment, not a target: does false sharing between two threads' reader slots slow the hit path
 * when each thread uses its own cache? Two threads, each on its own page with its own copy of the
 * cache's hit path; the slots (the {@code held} array and the {@code depth} counter that
 * enter/exit write on every lock and unlock) are either allocated back to back by one thread, as
 * ReaderSlots' {@code new Object[8]} and {@code Slot} objects can end up after a GC compacts them,
 * or each padded to cache lines of its own.
 *
 * <p>Threads: two benchmark threads; each takes one slot of each kind in its setup.
 */
@State(Scope.Thread)
@Threads(2)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SlotSharingExperiment {
    private static final ValueLayout.OfLong LONG_U = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final VarHandle HELD = MethodHandles.arrayElementVarHandle(Object[].class);
    /** 128 bytes of references either side: adjacent-line prefetch included. */
    private static final int PAD = 32;

    /** Slots for two threads, allocated by one thread in a row. */
    @State(Scope.Benchmark)
    public static class Slots {
        final Slot[] adjacent = new Slot[2];
        final Slot[] padded = new Slot[2];
        final AtomicInteger next = new AtomicInteger();

        @Setup(Level.Trial)
        public void setUp() {
            adjacent[0] = new Slot(0);
            adjacent[1] = new Slot(0);
            padded[0] = new Slot(PAD);
            padded[1] = new Slot(PAD);
        }
    }

    private HitPathExperiments.CopyCache cache;
    private Slot adjacent;
    private Slot padded;

    @Setup(Level.Trial)
    public void setUp(GuestPages guest, Slots slots) {
        cache = new HitPathExperiments.CopyCache(guest.newPage().raw);
        int i = slots.next.getAndIncrement();
        adjacent = slots.adjacent[i];
        padded = slots.padded[i];
    }

    @Benchmark
    public long adjacentSlotsRead() {
        return read(adjacent);
    }

    @Benchmark
    public long paddedSlotsRead() {
        return read(padded);
    }

    private long read(Slot slot) {
        HitPathExperiments.CopyCache c = cache;
        slot.enter(c);
        MemorySegment s = c.mappingOrNull();
        try {
            return s.get(LONG_U, Page.OFFSET);
        } finally {
            slot.exit(c);
        }
    }

    /** ReaderSlots.Slot's enter/exit with the entries and the depth at index {@code pad} onwards of one array. */
    static final class Slot {
        private final Object[] held;
        private final int[] depth;
        private final int base;

        Slot(int pad) {
            held = new Object[pad + 8 + pad];
            depth = new int[pad + 1 + pad];
            base = pad;
        }

        void enter(Object cache) {
            int d = depth[base];
            if (d == 8) {
                throw new IllegalStateException("too deep");
            }
            HELD.setVolatile(held, base + d, cache);
            depth[base] = d + 1;
        }

        void exit(Object cache) {
            int d = depth[base];
            int i = d - 1;
            while (i >= 0 && held[base + i] != cache) {
                i--;
            }
            if (i < 0) {
                throw new IllegalStateException("not locked");
            }
            for (int j = i; j < d - 1; j++) {
                HELD.setVolatile(held, base + j, held[base + j + 1]);
            }
            HELD.setRelease(held, base + d - 1, null);
            depth[base] = d - 1;
        }
    }
}

package org.jxen.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.MappedArea;
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
 * Experiments, not targets: where the time of {@code gpcRead} goes. Each {@code copy*} benchmark
 * runs a copy of the hit path of {@code GfnToPfnCache.lock()/unlock()} and {@code ReaderSlots}
 * (gpc commit f3546ea) with one step changed, so that the difference to {@code copyRead} is the
 * cost of that step. The {@code copyNoFence*} variant is NOT a correct protocol (it drops the
 * store-load fence that the Dekker handshake with invalidation needs); it only bounds what the
 * fence costs.
 *
 * <p>Threads: one benchmark thread, on its own page.
 */
@State(Scope.Thread)
@Threads(1)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class HitPathExperiments {
    private static final ValueLayout.OfLong LONG_U = ValueLayout.JAVA_LONG_UNALIGNED;

    private Page page;
    private CopyCache copy;
    private CopySlot mySlot;

    @Setup(Level.Trial)
    public void setUp(GuestPages guest) {
        page = guest.newPage();
        copy = new CopyCache(page.raw);
        mySlot = CopySlot.CURRENT.get();
    }

    /** The real thing, in the same run as the copies. */
    @Benchmark
    public long gpcRead() {
        GfnToPfnCache cache = page.cache;
        MappedArea area = cache.lock();
        try {
            return area.getLong(Page.OFFSET);
        } finally {
            cache.unlock();
        }
    }

    /** Real lock/unlock, but the access through {@link MappedArea#segment()}: the cost of getLong's checks. */
    @Benchmark
    public long gpcReadViaSegment() {
        GfnToPfnCache cache = page.cache;
        MappedArea area = cache.lock();
        try {
            return area.segment().get(LONG_U, Page.OFFSET);
        } finally {
            cache.unlock();
        }
    }

    /** A copy of the protocol: ThreadLocal lookup in lock and in unlock, volatile store on enter. */
    @Benchmark
    public long copyRead() {
        CopyCache c = copy;
        MemorySegment s = c.lock();
        try {
            return s.get(LONG_U, Page.OFFSET);
        } finally {
            c.unlock();
        }
    }

    /** One ThreadLocal lookup per lock/unlock pair: unlock is given the slot that lock used. */
    @Benchmark
    public long copyOneLookupRead() {
        CopyCache c = copy;
        CopySlot slot = CopySlot.CURRENT.get();
        MemorySegment s = c.lock(slot);
        try {
            return s.get(LONG_U, Page.OFFSET);
        } finally {
            slot.exit(c);
        }
    }

    /** No ThreadLocal at all: the slot is held by the caller (as a vCPU thread's context object could). */
    @Benchmark
    public long copyNoLookupRead() {
        CopyCache c = copy;
        CopySlot slot = mySlot;
        MemorySegment s = c.lock(slot);
        try {
            return s.get(LONG_U, Page.OFFSET);
        } finally {
            slot.exit(c);
        }
    }

    /** INCORRECT protocol, a bound only: enter with a release store, so no store-load fence. */
    @Benchmark
    public long copyNoFenceRead() {
        CopyCache c = copy;
        CopySlot slot = CopySlot.CURRENT.get();
        slot.enterRelease(c);
        MemorySegment s = c.mappingOrNull();
        try {
            return s.get(LONG_U, Page.OFFSET);
        } finally {
            c.unlock();
        }
    }

    /**
     * The slot holds a cache's numeric id in a {@code long[]} instead of a reference in an
     * {@code Object[]}: same protocol and fence, but no GC write barrier on enter and exit.
     */
    @Benchmark
    public long copyIdRead() {
        CopyCache c = copy;
        IdSlot slot = IdSlot.CURRENT.get();
        slot.enter(c.id);
        MemorySegment s = c.mappingOrNull();
        if (s == null) {
            slot.exit(c.id);
            throw new IllegalStateException("miss");
        }
        try {
            return s.get(LONG_U, Page.OFFSET);
        } finally {
            IdSlot.CURRENT.get().exit(c.id);
        }
    }

    /** Just the store-load fence and the read: what a minimal correct reader protocol cannot go below. */
    @Benchmark
    public long fenceOnlyRead() {
        CopyCache c = copy;
        CopySlot slot = mySlot;
        CopySlot.HELD.setVolatile(slot.held, 0, c);
        MemorySegment s = c.mappingOrNull();
        long v = s.get(LONG_U, Page.OFFSET);
        CopySlot.HELD.setRelease(slot.held, 0, (Object) null);
        return v;
    }

    /** The shape of the cache's hit path, without refresh or invalidation. */
    static final class CopyCache {
        private static final java.util.concurrent.atomic.AtomicLong IDS = new java.util.concurrent.atomic.AtomicLong();
        final long id = IDS.incrementAndGet();
        private final Object currentMap = new Object();
        private volatile Object map = currentMap;
        private volatile Mapping mapping;

        CopyCache(MemorySegment segment) {
            mapping = new Mapping(segment, currentMap);
        }

        MemorySegment lock() {
            return lock(CopySlot.CURRENT.get());
        }

        MemorySegment lock(CopySlot slot) {
            slot.enter(this);
            Mapping m = mapping;
            if (m != null && m.map == map) {
                return m.segment;
            }
            slot.exit(this);
            throw new IllegalStateException("miss");
        }

        MemorySegment mappingOrNull() {
            Mapping m = mapping;
            return m != null && m.map == map ? m.segment : null;
        }

        void unlock() {
            CopySlot.CURRENT.get().exit(this);
        }
    }

    record Mapping(MemorySegment segment, Object map) {
    }

    /** {@code ReaderSlots.Slot} with ids (never 0) in a {@code long[]}: no reference stores, so no GC barriers. */
    static final class IdSlot {
        static final VarHandle HELD = MethodHandles.arrayElementVarHandle(long[].class);
        static final ThreadLocal<IdSlot> CURRENT = ThreadLocal.withInitial(IdSlot::new);
        final long[] held = new long[8];
        int depth;

        void enter(long cache) {
            int d = depth;
            if (d == 8) {
                throw new IllegalStateException("too deep");
            }
            HELD.setVolatile(held, d, cache);
            depth = d + 1;
        }

        void exit(long cache) {
            int d = depth;
            int i = d - 1;
            while (i >= 0 && held[i] != cache) {
                i--;
            }
            if (i < 0) {
                throw new IllegalStateException("not locked");
            }
            for (int j = i; j < d - 1; j++) {
                HELD.setVolatile(held, j, held[j + 1]);
            }
            HELD.setRelease(held, d - 1, 0L);
            depth = d - 1;
        }
    }

    /** A copy of {@code ReaderSlots.Slot}'s enter and exit. */
    static final class CopySlot {
        static final VarHandle HELD = MethodHandles.arrayElementVarHandle(Object[].class);
        static final ThreadLocal<CopySlot> CURRENT = ThreadLocal.withInitial(CopySlot::new);
        final Object[] held = new Object[8];
        int depth;

        void enter(Object cache) {
            int d = depth;
            if (d == 8) {
                throw new IllegalStateException("too deep");
            }
            HELD.setVolatile(held, d, cache);
            depth = d + 1;
        }

        void enterRelease(Object cache) {
            int d = depth;
            if (d == 8) {
                throw new IllegalStateException("too deep");
            }
            HELD.setRelease(held, d, cache);
            depth = d + 1;
        }

        void exit(Object cache) {
            int d = depth;
            int i = d - 1;
            while (i >= 0 && held[i] != cache) {
                i--;
            }
            if (i < 0) {
                throw new IllegalStateException("not locked");
            }
            for (int j = i; j < d - 1; j++) {
                HELD.setVolatile(held, j, held[j + 1]);
            }
            HELD.setRelease(held, d - 1, null);
            depth = d - 1;
        }
    }
}

package org.jxen.bench;

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
 * Experiment, not a target: the real {@code gpcRead} with two threads on per-thread caches, after
 * a full GC has compacted the heap (as a long-running VMM's heap will be), which tends to place the
 * two threads' {@code ReaderSlots.Slot} objects next to each other: see {@link SlotSharingExperiment}.
 * Compare with {@code HitPathTwoThreadsPerThreadCache.gpcRead}.
 *
 * <p>Threads: two benchmark threads, each on its own page.
 */
@State(Scope.Thread)
@Threads(2)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AfterGcExperiment {
    /** Runs a full GC before every iteration; from the second on, both threads' slots exist. */
    @State(Scope.Benchmark)
    public static class Compactor {
        @Setup(Level.Iteration)
        public void compact() {
            System.gc();
        }
    }

    private GfnToPfnCache cache;

    @Setup(Level.Trial)
    public void setUp(GuestPages guest) {
        cache = guest.newPage().cache;
    }

    @Benchmark
    public long gpcReadAfterGc(Compactor compactor) {
        GfnToPfnCache c = cache;
        MappedArea area = c.lock();
        try {
            return area.getLong(Page.OFFSET);
        } finally {
            c.unlock();
        }
    }
}

package org.jxen.gpc;

import java.util.concurrent.atomic.LongAdder;

/**
 * What the gfn-to-pfn caches of one {@link GuestMemory} did, for metrics: plain counts that never
 * go down, with no dependency on a metrics library (the program binds them to its own).
 *
 * <ul>
 * <li>{@link #lockHits()}: {@code lock()}/{@code tryLock()} calls that found their cache valid.
 * This is the hit path (about 9 ns), so it is counted where it costs nothing: in the calling
 * thread's own reader slot, whose depth word carries the hit count above the depth, so the store
 * that the hit path makes anyway counts the hit too. A reader slot is per thread, not per cache, so
 * the count is one for the whole process: every cache of every memory. Counting per cache would
 * need every reader thread to write a line shared with the other readers of that cache, which is
 * exactly what the reader protocol avoids.</li>
 * <li>{@link #lockMisses()}: calls that found the cache not valid (a {@code lock()} then
 * refreshes); {@link #lockFailures()}: {@code lock()} calls that returned {@code null};
 * {@link #refreshes()}: refreshes that published a mapping; {@link #invalidations()}:
 * invalidations that made a cache invalid. All four are off the hit path
 * ({@link LongAdder}s), per memory and, for the live caches, per cache
 * ({@link GfnToPfnCache#lockMissCount()} and its siblings).</li>
 * </ul>
 *
 * <p>{@code -Djxen.metrics=false} turns the hit count off ({@link #COUNTING}, a constant the JIT
 * folds), which is how the benchmarks measure what it costs.
 *
 * <p>Threads: the counts are written by whichever thread takes the path that they count, and read
 * from any thread. A read sees every count made by a thread before an action that happens-before
 * the read, and may or may not see counts racing with it; it never sees a count go down.
 */
public final class CacheStats {
    /** False when the JVM runs with {@code -Djxen.metrics=false}: the hit path then counts nothing. */
    public static final boolean COUNTING = !"false".equalsIgnoreCase(System.getProperty("jxen.metrics"));

    final LongAdder lockMisses = new LongAdder();
    final LongAdder lockFailures = new LongAdder();
    final LongAdder refreshes = new LongAdder();
    final LongAdder invalidations = new LongAdder();

    CacheStats() {
    }

    /** Lock hits of every cache in the process, from threads alive or ended (0 with counting off). */
    public static long lockHits() {
        return ReaderSlots.lockHits();
    }

    /** {@code lock()} and {@code tryLock()} calls on this memory's caches that found them not valid. */
    public long lockMisses() {
        return lockMisses.sum();
    }

    /** {@code lock()} calls on this memory's caches that could not map their area. */
    public long lockFailures() {
        return lockFailures.sum();
    }

    /** Refreshes of this memory's caches that published a mapping. */
    public long refreshes() {
        return refreshes.sum();
    }

    /** Invalidations that made one of this memory's caches invalid. */
    public long invalidations() {
        return invalidations.sum();
    }
}

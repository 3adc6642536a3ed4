package org.jxen.bench;

import java.lang.foreign.MemorySegment;

import org.jxen.gpc.GfnToPfnCache;

/**
 * What the benchmarks access on one guest page: the gfn-to-pfn cache under test and, over the same
 * 64 bytes, the raw segment (the floor) and the two reference caches. Immutable after construction.
 */
public final class Page {
    /** Where the 8-byte accesses go: inside the area, naturally aligned (atomics need it). */
    public static final long OFFSET = 8;
    /** The bit that set-bit sets, as an event-channel pending bit would be. */
    public static final long BIT = 1L << 5;

    public final GfnToPfnCache cache;
    public final MemorySegment raw;
    public final ReadWriteLockCache readWriteLockCache;
    public final StampedLockCache stampedLockCache;

    Page(GfnToPfnCache cache, MemorySegment raw) {
        this.cache = cache;
        this.raw = raw;
        this.readWriteLockCache = new ReadWriteLockCache(raw);
        this.stampedLockCache = new StampedLockCache(raw);
    }
}

package org.jxen.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.MappedArea;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The gfn-to-pfn cache's hit path, measured beside its floor and two reference caches: three
 * operations (8-byte read, 8-byte write, atomic set-bit), each under
 * <ul>
 * <li>{@code gpc*}: {@link GfnToPfnCache#lock()} + {@link MappedArea} accessor + {@link GfnToPfnCache#unlock()};</li>
 * <li>{@code raw*}: the same access on a raw {@link MemorySegment} over the same bytes, no lock (the floor);</li>
 * <li>{@code rrwl*}: the access under the read lock of a {@link java.util.concurrent.locks.ReentrantReadWriteLock};</li>
 * <li>{@code stamped*}: the access under a {@link java.util.concurrent.locks.StampedLock} pessimistic read lock
 * ({@code stampedOptimisticRead}: an optimistic read, extra information, valid for reads only).</li>
 * </ul>
 * The subclasses fix the number of threads and whether they share one page (one cache) or each
 * have their own (per-thread caches), so that one JMH run puts every variant side by side.
 *
 * <p>Threads: JMH's; the {@link #page} is set in the subclass's setup and read-only afterwards.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public abstract class HitPath {
    private static final ValueLayout.OfLong LONG_U = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    /** The page this benchmark instance accesses; set by the subclass's {@code @Setup}. */
    protected Page page;

    // ---------------------------------------------------------------- gfn-to-pfn cache

    @Benchmark
    public long gpcRead() {
        GfnToPfnCache cache = page.cache;
        MappedArea area = lockOrFail(cache);
        try {
            return area.getLong(Page.OFFSET);
        } finally {
            cache.unlock();
        }
    }

    @Benchmark
    public void gpcWrite() {
        GfnToPfnCache cache = page.cache;
        MappedArea area = lockOrFail(cache);
        try {
            area.putLong(Page.OFFSET, Page.BIT);
        } finally {
            cache.unlock();
        }
    }

    @Benchmark
    public long gpcSetBit() {
        GfnToPfnCache cache = page.cache;
        MappedArea area = lockOrFail(cache);
        try {
            return area.getAndBitwiseOrLong(Page.OFFSET, Page.BIT);
        } finally {
            cache.unlock();
        }
    }

    private static MappedArea lockOrFail(GfnToPfnCache cache) {
        MappedArea area = cache.lock();
        if (area == null) {
            throw new IllegalStateException(cache + ": lock failed, " + cache.lastStatus());
        }
        return area;
    }

    // ---------------------------------------------------------------- floor: raw segment, no lock

    @Benchmark
    public long rawRead() {
        return page.raw.get(LONG_U, Page.OFFSET);
    }

    @Benchmark
    public void rawWrite() {
        page.raw.set(LONG_U, Page.OFFSET, Page.BIT);
    }

    @Benchmark
    public long rawSetBit() {
        return (long) LONG.getAndBitwiseOr(page.raw, Page.OFFSET, Page.BIT);
    }

    // ---------------------------------------------------------------- reference: ReentrantReadWriteLock

    @Benchmark
    public long rrwlRead() {
        ReadWriteLockCache c = page.readWriteLockCache;
        MemorySegment s = c.lock();
        try {
            return s.get(LONG_U, Page.OFFSET);
        } finally {
            c.unlock();
        }
    }

    @Benchmark
    public void rrwlWrite() {
        ReadWriteLockCache c = page.readWriteLockCache;
        MemorySegment s = c.lock();
        try {
            s.set(LONG_U, Page.OFFSET, Page.BIT);
        } finally {
            c.unlock();
        }
    }

    @Benchmark
    public long rrwlSetBit() {
        ReadWriteLockCache c = page.readWriteLockCache;
        MemorySegment s = c.lock();
        try {
            return (long) LONG.getAndBitwiseOr(s, Page.OFFSET, Page.BIT);
        } finally {
            c.unlock();
        }
    }

    // ---------------------------------------------------------------- reference: StampedLock

    @Benchmark
    public long stampedRead() {
        StampedLockCache c = page.stampedLockCache;
        long stamp = c.readLock();
        try {
            return c.segment().get(LONG_U, Page.OFFSET);
        } finally {
            c.unlockRead(stamp);
        }
    }

    @Benchmark
    public void stampedWrite() {
        StampedLockCache c = page.stampedLockCache;
        long stamp = c.readLock();
        try {
            c.segment().set(LONG_U, Page.OFFSET, Page.BIT);
        } finally {
            c.unlockRead(stamp);
        }
    }

    @Benchmark
    public long stampedSetBit() {
        StampedLockCache c = page.stampedLockCache;
        long stamp = c.readLock();
        try {
            return (long) LONG.getAndBitwiseOr(c.segment(), Page.OFFSET, Page.BIT);
        } finally {
            c.unlockRead(stamp);
        }
    }

    /** Extra information only: optimistic read, falling back to the read lock when validation fails. */
    @Benchmark
    public long stampedOptimisticRead() {
        StampedLockCache c = page.stampedLockCache;
        long stamp = c.tryOptimisticRead();
        long v = c.segment().get(LONG_U, Page.OFFSET);
        if (c.validate(stamp)) {
            return v;
        }
        stamp = c.readLock();
        try {
            return c.segment().get(LONG_U, Page.OFFSET);
        } finally {
            c.unlockRead(stamp);
        }
    }
}

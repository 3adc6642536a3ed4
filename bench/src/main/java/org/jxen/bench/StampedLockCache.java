package org.jxen.bench;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.StampedLock;

/**
 * Reference design for the benchmarks, not for use: a "cache" guarded by a {@link StampedLock}.
 * Accessors that read or write guest memory hold the pessimistic read lock ({@link #readLock()} ..
 * {@link #unlockRead(long)}): a writer of guest memory cannot validate after the fact, so the
 * pessimistic lock is the one to compare with. The optimistic read ({@link #tryOptimisticRead()} ..
 * {@link #validate(long)}) is only correct for pure reads, and is measured as extra information.
 * An invalidator would take the write lock.
 *
 * <p>Threads: any.
 */
public final class StampedLockCache {
    private final StampedLock lock = new StampedLock();
    private final MemorySegment segment;

    public StampedLockCache(MemorySegment segment) {
        this.segment = segment;
    }

    public MemorySegment segment() {
        return segment;
    }

    public long readLock() {
        return lock.readLock();
    }

    public void unlockRead(long stamp) {
        lock.unlockRead(stamp);
    }

    public long tryOptimisticRead() {
        return lock.tryOptimisticRead();
    }

    public boolean validate(long stamp) {
        return lock.validate(stamp);
    }
}

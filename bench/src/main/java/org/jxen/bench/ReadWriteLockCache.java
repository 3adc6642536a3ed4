package org.jxen.bench;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Reference design for the benchmarks, not for use: a "cache" whose readers (anyone accessing the
 * guest memory, reading or writing it) hold the read lock of a {@link ReentrantReadWriteLock} and
 * whose invalidator would take the write lock. It has no refresh path; only the hit path is measured.
 *
 * <p>Threads: any; {@link #unlock()} on the thread that called {@link #lock()}.
 */
public final class ReadWriteLockCache {
    private final ReentrantReadWriteLock.ReadLock readLock = new ReentrantReadWriteLock().readLock();
    private final MemorySegment segment;

    public ReadWriteLockCache(MemorySegment segment) {
        this.segment = segment;
    }

    /** Takes the read lock and returns the mapped bytes, valid until {@link #unlock()}. */
    public MemorySegment lock() {
        readLock.lock();
        return segment;
    }

    public void unlock() {
        readLock.unlock();
    }
}

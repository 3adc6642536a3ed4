package org.jxen.kvm.harness;

import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;

/**
 * Hands out zeroed guest-physical pages from a range of guest RAM, at run time. A bump allocator:
 * pages are never given back (a test VM is short-lived). Thread-safe.
 */
public final class PhysicalAllocator {
    private final GuestMemory memory;
    private final long end;
    private long next;

    public PhysicalAllocator(GuestMemory memory, long start, long end) {
        if (start % HostMemory.PAGE_SIZE != 0 || end % HostMemory.PAGE_SIZE != 0 || start >= end) {
            throw new IllegalArgumentException("bad allocator range");
        }
        this.memory = memory;
        this.next = start;
        this.end = end;
    }

    /** {@code pages} zeroed, contiguous pages; returns the gpa of the first. */
    public synchronized long allocatePages(long pages) {
        long bytes = pages * HostMemory.PAGE_SIZE;
        if (pages <= 0 || bytes > end - next) {
            throw new IllegalStateException("guest-physical allocator exhausted: " + pages + " pages wanted, "
                    + (end - next) / HostMemory.PAGE_SIZE + " left");
        }
        long gpa = next;
        next += bytes;
        byte[] zero = new byte[(int) HostMemory.PAGE_SIZE];
        for (long p = 0; p < pages; p++) {
            if (!memory.write(gpa + p * HostMemory.PAGE_SIZE, java.lang.foreign.MemorySegment.ofArray(zero))) {
                throw new IllegalStateException("gpa 0x" + Long.toHexString(gpa) + " is not backed");
            }
        }
        return gpa;
    }

    /** The first gpa not yet handed out. */
    public synchronized long next() {
        return next;
    }
}

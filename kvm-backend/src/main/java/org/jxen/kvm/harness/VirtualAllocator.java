package org.jxen.kvm.harness;

import org.jxen.gpc.HostMemory;

/**
 * Hands out guest-virtual ranges at run time, backed by fresh guest-physical pages: supervisor
 * ranges in the upper (kernel) half of the canonical address space, user ranges in the lower half.
 * Thread-safe.
 */
public final class VirtualAllocator {
    /** Who may access an allocation. */
    public enum Access {
        SUPERVISOR, USER
    }

    /** A guest-virtual allocation and the guest-physical pages behind it. */
    public record Allocation(long gva, long gpa, long size) {
    }

    /** Start of supervisor allocations: above the kernel image window. */
    static final long SUPERVISOR_BASE = 0xffff_ffff_c000_0000L;
    static final long SUPERVISOR_END = 0xffff_ffff_ff00_0000L;
    static final long USER_BASE = 0x0000_0000_4000_0000L;
    static final long USER_END = 0x0000_7fff_0000_0000L;

    private final PageTables tables;
    private final PhysicalAllocator physical;
    private long nextSupervisor = SUPERVISOR_BASE;
    private long nextUser = USER_BASE;

    public VirtualAllocator(PageTables tables, PhysicalAllocator physical) {
        this.tables = tables;
        this.physical = physical;
    }

    /**
     * Reserves a guest-virtual range of {@code size} bytes (rounded up to pages) without backing it,
     * for the caller to map onto guest-physical memory of its own (for example a memslot it adds).
     */
    public synchronized long reserve(long size, Access access) {
        long bytes = (size + HostMemory.PAGE_SIZE - 1) / HostMemory.PAGE_SIZE * HostMemory.PAGE_SIZE;
        long gva;
        if (access == Access.SUPERVISOR) {
            if (bytes > SUPERVISOR_END - nextSupervisor) {
                throw new IllegalStateException("supervisor virtual space exhausted");
            }
            gva = nextSupervisor;
            nextSupervisor += bytes + HostMemory.PAGE_SIZE;
        } else {
            if (bytes > USER_END - nextUser) {
                throw new IllegalStateException("user virtual space exhausted");
            }
            gva = nextUser;
            nextUser += bytes + HostMemory.PAGE_SIZE;
        }
        return gva;
    }

    /** {@code size} bytes (rounded up to pages) of zeroed, writable memory. */
    public synchronized Allocation allocate(long size, Access access) {
        long pages = (size + HostMemory.PAGE_SIZE - 1) / HostMemory.PAGE_SIZE;
        long bytes = pages * HostMemory.PAGE_SIZE;
        long gva;
        if (access == Access.SUPERVISOR) {
            if (bytes > SUPERVISOR_END - nextSupervisor) {
                throw new IllegalStateException("supervisor virtual space exhausted");
            }
            gva = nextSupervisor;
            nextSupervisor += bytes + HostMemory.PAGE_SIZE; // a guard page between allocations
        } else {
            if (bytes > USER_END - nextUser) {
                throw new IllegalStateException("user virtual space exhausted");
            }
            gva = nextUser;
            nextUser += bytes + HostMemory.PAGE_SIZE;
        }
        long gpa = physical.allocatePages(pages);
        tables.map(gva, gpa, bytes, true, access == Access.USER);
        return new Allocation(gva, gpa, bytes);
    }
}

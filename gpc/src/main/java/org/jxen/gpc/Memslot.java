package org.jxen.gpc;

import java.lang.foreign.MemorySegment;

/**
 * One memslot: a page-aligned guest-physical range {@code [gpa, gpa + size)} backed by
 * {@code [memoryOffset, memoryOffset + size)} of a {@link HostMemory}. Immutable; safe from any
 * thread. A slot's id is stable across moves and flag changes, as KVM's slot numbers are.
 *
 * @param id           slot number, unique within one {@link GuestMemory}
 * @param gpa          first guest-physical address, page-aligned
 * @param size         length in bytes, a positive multiple of the page size
 * @param memory       the host memory behind the slot
 * @param memoryOffset offset of the slot's first byte in {@code memory}, page-aligned
 * @param flags        {@link #READONLY}, {@link #LOG_DIRTY_PAGES}
 */
public record Memslot(int id, long gpa, long size, HostMemory memory, long memoryOffset, int flags) {
    /** KVM_MEM_LOG_DIRTY_PAGES. */
    public static final int LOG_DIRTY_PAGES = 1;
    /** KVM_MEM_READONLY: the guest may read but not write; the host does not cache it for writing. */
    public static final int READONLY = 2;

    public Memslot {
        if (id < 0) {
            throw new IllegalArgumentException("memslot id must be >= 0: " + id);
        }
        if (gpa < 0 || gpa % HostMemory.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("memslot gpa must be page-aligned and non-negative: 0x"
                    + Long.toHexString(gpa));
        }
        if (size <= 0 || size % HostMemory.PAGE_SIZE != 0 || gpa > Long.MAX_VALUE - size) {
            throw new IllegalArgumentException("memslot size must be a positive multiple of the page size: " + size);
        }
        if (memory == null) {
            throw new IllegalArgumentException("memslot needs host memory");
        }
        memory.checkRange(memoryOffset, size);
        if ((flags & ~(LOG_DIRTY_PAGES | READONLY)) != 0) {
            throw new IllegalArgumentException("unknown memslot flags 0x" + Integer.toHexString(flags));
        }
    }

    /** One past the last guest-physical address. */
    public long end() {
        return gpa + size;
    }

    public boolean contains(long address) {
        return address >= gpa && address - gpa < size;
    }

    public boolean overlaps(long start, long length) {
        return start < end() && gpa < start + length;
    }

    public boolean isReadOnly() {
        return (flags & READONLY) != 0;
    }

    /** The host address of the slot's first byte. */
    public long hva() {
        return memory.address() + memoryOffset;
    }

    /** The host view of {@code [gpa, gpa + length)}, which must lie in this slot. */
    MemorySegment hostSlice(long address, long length) {
        return memory.segment().asSlice(memoryOffset + (address - gpa), length);
    }

    Memslot movedTo(long newGpa) {
        return new Memslot(id, newGpa, size, memory, memoryOffset, flags);
    }

    Memslot withFlags(int newFlags) {
        return new Memslot(id, gpa, size, memory, memoryOffset, newFlags);
    }

    @Override
    public String toString() {
        return "memslot " + id + " [0x" + Long.toHexString(gpa) + ", 0x" + Long.toHexString(end()) + ") -> "
                + memory.name() + "+0x" + Long.toHexString(memoryOffset) + (flags != 0 ? " flags " + flags : "");
    }
}

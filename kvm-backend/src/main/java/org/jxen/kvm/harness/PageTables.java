package org.jxen.kvm.harness;

import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;

/**
 * x86-64 4-level page tables that the host builds in guest memory for a test guest, with 4 KiB
 * mappings. User or supervisor is a property of each mapping, chosen by the caller (the virtual
 * allocator), and intermediate entries allow both so that the leaf decides. Thread-safe.
 */
public final class PageTables {
    public static final long PRESENT = 1;
    public static final long WRITABLE = 1 << 1;
    public static final long USER = 1 << 2;
    private static final long ADDRESS_MASK = 0x000f_ffff_ffff_f000L;

    private final GuestMemory memory;
    private final PhysicalAllocator allocator;
    private final long root;

    public PageTables(GuestMemory memory, PhysicalAllocator allocator) {
        this.memory = memory;
        this.allocator = allocator;
        this.root = allocator.allocatePages(1);
    }

    /** The gpa of the PML4: the guest's CR3. */
    public long root() {
        return root;
    }

    /** Maps {@code [gva, gva + size)} to {@code [gpa, gpa + size)} with 4 KiB pages. */
    public synchronized void map(long gva, long gpa, long size, boolean writable, boolean user) {
        if (gva % HostMemory.PAGE_SIZE != 0 || gpa % HostMemory.PAGE_SIZE != 0 || size <= 0) {
            throw new IllegalArgumentException("map needs page-aligned addresses and a positive size");
        }
        long pages = (size + HostMemory.PAGE_SIZE - 1) / HostMemory.PAGE_SIZE;
        for (long i = 0; i < pages; i++) {
            mapPage(gva + i * HostMemory.PAGE_SIZE, gpa + i * HostMemory.PAGE_SIZE, writable, user);
        }
    }

    private void mapPage(long gva, long gpa, boolean writable, boolean user) {
        checkCanonical(gva);
        long table = root;
        for (int level = 3; level > 0; level--) {
            long entryGpa = table + 8 * index(gva, level);
            long entry = memory.getLong(entryGpa);
            if ((entry & PRESENT) == 0) {
                long next = allocator.allocatePages(1);
                entry = next | PRESENT | WRITABLE | USER;
                memory.putLong(entryGpa, entry);
            }
            table = entry & ADDRESS_MASK;
        }
        long leaf = table + 8 * index(gva, 0);
        if ((memory.getLong(leaf) & PRESENT) != 0) {
            throw new IllegalStateException("gva 0x" + Long.toHexString(gva) + " is already mapped");
        }
        memory.putLong(leaf, gpa | PRESENT | (writable ? WRITABLE : 0) | (user ? USER : 0));
    }

    /** The gpa that {@code gva} maps to under these tables, or -1. */
    public long translate(long gva) {
        long table = root;
        for (int level = 3; level >= 0; level--) {
            long entry = memory.getLong(table + 8 * index(gva, level));
            if ((entry & PRESENT) == 0) {
                return -1;
            }
            table = entry & ADDRESS_MASK;
        }
        return table | (gva & (HostMemory.PAGE_SIZE - 1));
    }

    private static long index(long gva, int level) {
        return (gva >>> (12 + 9 * level)) & 0x1ff;
    }

    static void checkCanonical(long gva) {
        long top = gva >> 47;
        if (top != 0 && top != -1) {
            throw new IllegalArgumentException("gva 0x" + Long.toHexString(gva) + " is not canonical");
        }
    }
}

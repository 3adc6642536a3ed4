package org.jxen.hypercalls.mm;

import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.GuestMemoryFault;

/**
 * Translates a guest-virtual (linear) address to a guest-physical address by walking the guest's
 * page tables in guest memory, with the checks the processor makes for a data access.
 *
 * <h2>What it checks</h2>
 * <ul>
 * <li>The present bit at every level.</li>
 * <li>Reserved bits at every level: address bits from MAXPHYADDR up (to bit 51 in 4-level paging, to
 * bit 62 in PAE), bit 63 when EFER.NXE = 0, PS in a PML4E, PAE PDPTE bits 1-2 and 5-8 and 63, the
 * low address bits of a large page (bits 13-29 of a 1 GiB PDPTE, 13-20 of a 2 MiB PDE, 21 and the
 * PSE-36 bits above MAXPHYADDR of a 4 MiB PDE).</li>
 * <li>R/W and U/S accumulated over all levels (PAE PDPTEs have neither and count as both set): a
 * user-mode access (CPL 3) needs U/S at every level; a write needs R/W at every level when it is a
 * user-mode access or CR0.WP = 1; a supervisor write to a read-only page is allowed when CR0.WP = 0.</li>
 * <li>Large pages: 1 GiB (PDPTE.PS, 4-level; 1 GiB pages are assumed to be in the guest's CPUID),
 * 2 MiB (PDE.PS, 4-level and PAE), 4 MiB (PDE.PS with CR4.PSE, 2-level, with PSE-36 physical
 * address bits 32 to {@code min(MAXPHYADDR, 40) - 1} from PDE bits 13 up, as the SDM describes).</li>
 * <li>Canonical addresses in 4-level paging; in the 32-bit modes (paging off, 2-level, PAE) an
 * address above 4 GiB fails with {@link WalkFault#NON_CANONICAL} rather than wrapping.</li>
 * </ul>
 *
 * <h2>What it does not do</h2>
 * <ul>
 * <li>It does <b>not</b> set accessed or dirty bits. Xen's walker sets them (the guest may rely on
 * them for its own page reclaim); jxen leaves them to a later change, because setting them needs
 * atomic updates of guest entries that race with other vCPUs, and no guest we run depends on the
 * bits for the pages that hold hypercall arguments.</li>
 * <li>NX, protection keys and SMAP are not checked: NX concerns instruction fetches only; protection
 * keys and SMAP would need PKRU and RFLAGS.AC (Linux brackets its hypercalls from user buffers with
 * {@code stac}/{@code clac}, so SMAP would rarely change the result). Segmentation is not applied:
 * the address is a linear address, as Xen takes it.</li>
 * <li>5-level paging (CR4.LA57) is not supported: {@link WalkFault#LA57_UNSUPPORTED}.</li>
 * <li>PAE PDPTEs are read from memory at {@code CR3 & ~0x1f} on every walk, not from the
 * processor's PDPTE registers loaded at the last CR3 write; they differ only if the guest changed
 * its PDPT without reloading CR3.</li>
 * <li>No TLB: every translation walks the tables.</li>
 * </ul>
 *
 * <h2>Results</h2>
 * {@link #translate} returns the guest-physical address ({@code >= 0}) or a negative code that
 * names a {@link WalkFault} and the level of the entry at fault ({@link #fault(long)}, {@link
 * #faultLevel(long)}); it allocates nothing. After each call, the walker also holds what the walk
 * found ({@link #lastUserAccessible()}, {@link #lastWritable()}, {@link #lastPageSize()}), for
 * chunked copies and for tests. A successful translation does not promise that the gpa is in RAM:
 * the copy that follows finds that out.
 *
 * <p>Threads: one walker per vCPU thread; not thread-safe (the {@code last*} fields). Page-table
 * entries are read with single 8-byte (4-byte in 2-level paging) acquire loads, as the processor
 * reads them atomically; another vCPU may change them at any time, as on hardware.
 */
public final class PageWalker {
    private static final long P = 1L;
    private static final long RW = 1L << 1;
    private static final long US = 1L << 2;
    private static final long PS = 1L << 7;
    private static final long ADDR_MASK = 0x000f_ffff_ffff_f000L;
    private static final long LOW_32 = 0xffff_ffffL;
    private static final WalkFault[] FAULTS = WalkFault.values();

    private boolean lastUserAccessible;
    private boolean lastWritable;
    private long lastPageSize;

    /**
     * Translates {@code gva} for {@code access} under {@code state}. Returns the guest-physical
     * address, or a negative code ({@link #isFault}).
     */
    public long translate(GuestMemory memory, PagingState state, long gva, Access access) {
        lastUserAccessible = false;
        lastWritable = false;
        lastPageSize = 0;
        return switch (state.mode()) {
            case NONE -> {
                if ((gva >>> 32) != 0) {
                    yield fail(WalkFault.NON_CANONICAL, 0);
                }
                lastUserAccessible = true;
                lastWritable = true;
                lastPageSize = 4096;
                yield gva;
            }
            case TWO_LEVEL -> walkTwoLevel(memory, state, gva, access);
            case PAE -> walkPae(memory, state, gva, access);
            case FOUR_LEVEL -> walkFourLevel(memory, state, gva, access);
            case FIVE_LEVEL_UNSUPPORTED -> fail(WalkFault.LA57_UNSUPPORTED, 5);
        };
    }

    /** True when a result of {@link #translate} is a failure. */
    public static boolean isFault(long result) {
        return result < 0;
    }

    /** The reason of a failed result, or null for a gpa. */
    public static WalkFault fault(long result) {
        return result < 0 ? FAULTS[(int) ((-result) & 0xff) - 1] : null;
    }

    /**
     * The level of the entry at fault of a failed result: 4 (PML4E) to 1 (PTE), 3 for a PAE PDPTE,
     * 0 for a fault of the whole walk (permissions, non-canonical), 5 for LA57; -1 for a gpa.
     */
    public static int faultLevel(long result) {
        return result < 0 ? (int) ((-result) >>> 8) : -1;
    }

    /** A readable description of a result. */
    public static String describe(long result) {
        return result >= 0 ? "gpa 0x" + Long.toHexString(result) : fault(result) + " (level " + faultLevel(result) + ")";
    }

    /** The last walk reached a page that is user-accessible (U/S at every level). */
    public boolean lastUserAccessible() {
        return lastUserAccessible;
    }

    /** The last walk reached a page that is writable (R/W at every level), whatever CR0.WP says. */
    public boolean lastWritable() {
        return lastWritable;
    }

    /** The size of the page the last successful walk reached (4 KiB to 1 GiB), or 0 after a failure. */
    public long lastPageSize() {
        return lastPageSize;
    }

    private static long fail(WalkFault f, int level) {
        return failure(f, level);
    }

    /** The negative code for {@code f} at {@code level}. */
    static long failure(WalkFault f, int level) {
        return -(((long) level << 8) | (f.ordinal() + 1));
    }

    // ------------------------------------------------------------------ the modes

    private long walkFourLevel(GuestMemory m, PagingState s, long gva, Access access) {
        if (((gva << 16) >> 16) != gva) {
            return fail(WalkFault.NON_CANONICAL, 0);
        }
        long high = highReserved(s.maxPhyAddr(), 51) | nxReserved(s);
        long table = s.cr3() & ADDR_MASK & ~highReserved(s.maxPhyAddr(), 63);
        boolean rw = true;
        boolean us = true;
        for (int level = 4; level >= 1; level--) {
            long entryGpa = table + ((gva >>> (12 + 9 * (level - 1))) & 0x1ff) * 8;
            long e;
            try {
                e = m.getLongAcquire(entryGpa);
            } catch (GuestMemoryFault | IllegalStateException notInRam) {
                return fail(WalkFault.TABLE_NOT_IN_RAM, level);
            }
            if ((e & P) == 0) {
                return fail(WalkFault.NOT_PRESENT, level);
            }
            long reserved = high;
            boolean leaf = level == 1;
            if (level == 4) {
                reserved |= PS;
            } else if ((level == 3 || level == 2) && (e & PS) != 0) {
                leaf = true;
                reserved |= level == 3 ? bits(13, 29) : bits(13, 20);
            }
            if ((e & reserved) != 0) {
                return fail(WalkFault.RESERVED_BIT, level);
            }
            rw &= (e & RW) != 0;
            us &= (e & US) != 0;
            if (leaf) {
                long size = 1L << (12 + 9 * (level - 1));
                return finish(s, access, rw, us, size, (e & ADDR_MASK & ~(size - 1)) | (gva & (size - 1)));
            }
            table = e & ADDR_MASK;
        }
        throw new AssertionError("unreachable");
    }

    private long walkPae(GuestMemory m, PagingState s, long gva, Access access) {
        if ((gva >>> 32) != 0) {
            return fail(WalkFault.NON_CANONICAL, 0);
        }
        long pdpte;
        try {
            pdpte = m.getLongAcquire((s.cr3() & LOW_32 & ~0x1fL) + ((gva >>> 30) & 3) * 8);
        } catch (GuestMemoryFault | IllegalStateException notInRam) {
            return fail(WalkFault.TABLE_NOT_IN_RAM, 3);
        }
        if ((pdpte & P) == 0) {
            return fail(WalkFault.NOT_PRESENT, 3);
        }
        if ((pdpte & (highReserved(s.maxPhyAddr(), 63) | bits(1, 2) | bits(5, 8))) != 0) {
            return fail(WalkFault.RESERVED_BIT, 3);
        }
        long high = highReserved(s.maxPhyAddr(), 62) | nxReserved(s);
        long table = pdpte & ADDR_MASK;
        boolean rw = true;
        boolean us = true;
        for (int level = 2; level >= 1; level--) {
            long entryGpa = table + ((gva >>> (12 + 9 * (level - 1))) & 0x1ff) * 8;
            long e;
            try {
                e = m.getLongAcquire(entryGpa);
            } catch (GuestMemoryFault | IllegalStateException notInRam) {
                return fail(WalkFault.TABLE_NOT_IN_RAM, level);
            }
            if ((e & P) == 0) {
                return fail(WalkFault.NOT_PRESENT, level);
            }
            boolean leaf = level == 1 || (e & PS) != 0;
            long reserved = high | (level == 2 && leaf ? bits(13, 20) : 0);
            if ((e & reserved) != 0) {
                return fail(WalkFault.RESERVED_BIT, level);
            }
            rw &= (e & RW) != 0;
            us &= (e & US) != 0;
            if (leaf) {
                long size = level == 2 ? 1L << 21 : 1L << 12;
                return finish(s, access, rw, us, size, (e & ADDR_MASK & ~(size - 1)) | (gva & (size - 1)));
            }
            table = e & ADDR_MASK;
        }
        throw new AssertionError("unreachable");
    }

    private long walkTwoLevel(GuestMemory m, PagingState s, long gva, Access access) {
        if ((gva >>> 32) != 0) {
            return fail(WalkFault.NON_CANONICAL, 0);
        }
        long pde;
        try {
            pde = m.getIntAcquire((s.cr3() & LOW_32 & ~0xfffL) + ((gva >>> 22) & 0x3ff) * 4) & LOW_32;
        } catch (GuestMemoryFault | IllegalStateException notInRam) {
            return fail(WalkFault.TABLE_NOT_IN_RAM, 2);
        }
        if ((pde & P) == 0) {
            return fail(WalkFault.NOT_PRESENT, 2);
        }
        if ((pde & PS) != 0 && (s.cr4() & PagingMode.CR4_PSE) != 0) {
            // PSE-36: physical address bits 32 and up come from PDE bits 13 and up, MAXPHYADDR capped at 40
            int pse36Bits = Math.min(s.maxPhyAddr(), 40) - 32;
            if ((pde & bits(13 + pse36Bits, 21)) != 0) {
                return fail(WalkFault.RESERVED_BIT, 2);
            }
            long high = ((pde >>> 13) & ((1L << pse36Bits) - 1)) << 32;
            return finish(s, access, (pde & RW) != 0, (pde & US) != 0, 1L << 22,
                    high | (pde & 0xffc0_0000L) | (gva & 0x3f_ffffL));
        }
        long pte;
        try {
            pte = m.getIntAcquire((pde & 0xffff_f000L) + ((gva >>> 12) & 0x3ff) * 4) & LOW_32;
        } catch (GuestMemoryFault | IllegalStateException notInRam) {
            return fail(WalkFault.TABLE_NOT_IN_RAM, 1);
        }
        if ((pte & P) == 0) {
            return fail(WalkFault.NOT_PRESENT, 1);
        }
        return finish(s, access, (pde & pte & RW) != 0, (pde & pte & US) != 0, 4096,
                (pte & 0xffff_f000L) | (gva & 0xfff));
    }

    private long finish(PagingState s, Access access, boolean rw, boolean us, long size, long gpa) {
        lastUserAccessible = us;
        lastWritable = rw;
        boolean user = s.userMode();
        if (user && !us) {
            return fail(WalkFault.USER_TO_SUPERVISOR_PAGE, 0);
        }
        if (access == Access.WRITE && !rw && (user || s.writeProtect())) {
            return fail(WalkFault.WRITE_TO_READ_ONLY, 0);
        }
        lastPageSize = size;
        return gpa;
    }

    // ------------------------------------------------------------------ bits

    /** Bits {@code lo} to {@code hi}, inclusive; 0 when {@code lo > hi}. */
    private static long bits(int lo, int hi) {
        if (lo > hi) {
            return 0;
        }
        long upTo = hi == 63 ? -1L : (1L << (hi + 1)) - 1;
        return upTo & -(1L << lo);
    }

    private static long highReserved(int maxPhyAddr, int hi) {
        return bits(maxPhyAddr, hi);
    }

    private static long nxReserved(PagingState s) {
        return (s.efer() & PagingMode.EFER_NXE) == 0 ? 1L << 63 : 0;
    }
}

package org.jxen.hypercalls.mm;

/**
 * The calling vCPU's control registers as the page walker needs them, supplied by the platform for
 * each hypercall (the KVM backend reads them from the sync-regs {@code kvm_sregs}; tests build them).
 *
 * @param cr0 CR0 (PG, WP are used)
 * @param cr3 CR3 (the root of the page tables; PCID bits are ignored)
 * @param cr4 CR4 (PSE, PAE, LA57 are used)
 * @param efer EFER (LMA, NXE are used)
 * @param cpl the current privilege level, 0 to 3; 3 makes every access a user-mode access
 * @param maxPhyAddr the guest's MAXPHYADDR (CPUID 0x80000008 EAX[7:0]), 32 to 52: bits of an entry
 *     from this one up to bit 51 are reserved
 */
public record PagingState(long cr0, long cr3, long cr4, long efer, int cpl, int maxPhyAddr) {

    /** MAXPHYADDR when the platform does not know the guest's: the architectural maximum. */
    public static final int DEFAULT_MAX_PHY_ADDR = 52;

    public PagingState {
        if (cpl < 0 || cpl > 3) {
            throw new IllegalArgumentException("cpl " + cpl);
        }
        if (maxPhyAddr < 32 || maxPhyAddr > 52) {
            throw new IllegalArgumentException("maxPhyAddr " + maxPhyAddr);
        }
    }

    /** A state with MAXPHYADDR {@value #DEFAULT_MAX_PHY_ADDR}. */
    public static PagingState of(long cr0, long cr3, long cr4, long efer, int cpl) {
        return new PagingState(cr0, cr3, cr4, efer, cpl, DEFAULT_MAX_PHY_ADDR);
    }

    public static PagingState of(long cr0, long cr3, long cr4, long efer, int cpl, int maxPhyAddr) {
        return new PagingState(cr0, cr3, cr4, efer, cpl, maxPhyAddr);
    }

    /** Paging off (CR0 = PE only), CPL 0. */
    public static PagingState pagingOff() {
        return of(1, 0, 0, 0, 0);
    }

    public PagingMode mode() {
        return PagingMode.of(cr0, cr4, efer);
    }

    /** True when accesses are user-mode accesses (CPL 3). */
    public boolean userMode() {
        return cpl == 3;
    }

    /** CR0.WP: supervisor writes honour read-only pages. */
    public boolean writeProtect() {
        return (cr0 & PagingMode.CR0_WP) != 0;
    }

    public PagingState withCpl(int newCpl) {
        return new PagingState(cr0, cr3, cr4, efer, newCpl, maxPhyAddr);
    }

    @Override
    public String toString() {
        return "paging " + mode() + " cr0=" + Long.toHexString(cr0) + " cr3=" + Long.toHexString(cr3) + " cr4="
                + Long.toHexString(cr4) + " efer=" + Long.toHexString(efer) + " cpl=" + cpl + " maxphyaddr="
                + maxPhyAddr;
    }
}

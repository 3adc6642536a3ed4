package org.jxen.hypercalls.mm;

/**
 * The paging mode of a vCPU, from CR0.PG, CR4.PAE, CR4.LA57 and EFER.LMA, as the processor decides it.
 */
public enum PagingMode {
    /** CR0.PG = 0: a linear (32-bit) address is the guest-physical address. */
    NONE,
    /** 32-bit paging (CR4.PAE = 0): two levels of 4-byte entries; 4 MiB pages when CR4.PSE = 1. */
    TWO_LEVEL,
    /**
     * PAE paging (CR4.PAE = 1, EFER.LMA = 0): four PDPTEs at {@code CR3 & ~0x1f}, then two levels of
     * 8-byte entries; 2 MiB pages.
     */
    PAE,
    /** 4-level paging (EFER.LMA = 1, CR4.LA57 = 0): 48-bit canonical addresses; 2 MiB and 1 GiB pages. */
    FOUR_LEVEL,
    /**
     * 5-level paging (EFER.LMA = 1, CR4.LA57 = 1). <b>Not supported</b>: every translation fails with
     * {@link WalkFault#LA57_UNSUPPORTED}.
     */
    FIVE_LEVEL_UNSUPPORTED;

    public static final long CR0_WP = 1L << 16;
    public static final long CR0_PG = 1L << 31;
    public static final long CR4_PSE = 1L << 4;
    public static final long CR4_PAE = 1L << 5;
    public static final long CR4_LA57 = 1L << 12;
    public static final long EFER_LMA = 1L << 10;
    public static final long EFER_NXE = 1L << 11;

    /** The mode these control registers select. */
    public static PagingMode of(long cr0, long cr4, long efer) {
        if ((cr0 & CR0_PG) == 0) {
            return NONE;
        }
        if ((efer & EFER_LMA) != 0) {
            return (cr4 & CR4_LA57) != 0 ? FIVE_LEVEL_UNSUPPORTED : FOUR_LEVEL;
        }
        return (cr4 & CR4_PAE) != 0 ? PAE : TWO_LEVEL;
    }
}

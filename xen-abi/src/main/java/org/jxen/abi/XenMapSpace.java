package org.jxen.abi;

/**
 * The spaces {@link XenMem#ADD_TO_PHYSMAP} maps from ({@code XENMAPSPACE_*} in {@code xen/memory.h}),
 * the {@code space} of {@link XenAddToPhysmap}.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class XenMapSpace {
    private XenMapSpace() {
    }

    public static final int SHARED_INFO = 0;
    public static final int GRANT_TABLE = 1;
    public static final int GMFN = 2;
    public static final int GMFN_RANGE = 3;
    public static final int GMFN_FOREIGN = 4;
    public static final int DEV_MMIO = 5;

    /**
     * {@code XENMAPIDX_grant_table_status}: set in the {@code idx} of a {@link #GRANT_TABLE}
     * mapping to ask for a version-2 status frame instead of a shared frame.
     */
    public static final long IDX_GRANT_TABLE_STATUS = 0x8000_0000L;

    /** The Xen name of a value (e.g. "shared_info"), or "xenmapspace_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case SHARED_INFO -> "shared_info";
            case GRANT_TABLE -> "grant_table";
            case GMFN -> "gmfn";
            case GMFN_RANGE -> "gmfn_range";
            case GMFN_FOREIGN -> "gmfn_foreign";
            case DEV_MMIO -> "dev_mmio";
            default -> "xenmapspace_" + value;
        };
    }
}

package org.jxen.abi;

/**
 * Sub-operations of {@link Hypercall#GRANT_TABLE_OP} ({@code GNTTABOP_*} in {@code xen/grant_table.h}).
 * A version-1 grant entry is {@link GrantEntryV1}.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class GnttabOp {
    private GnttabOp() {
    }

    public static final int SETUP_TABLE = 2;
    public static final int QUERY_SIZE = 6;
    public static final int SET_VERSION = 8;
    public static final int GET_VERSION = 10;

    /** The Xen name of a value (e.g. "setup_table"), or "gnttabop_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case SETUP_TABLE -> "setup_table";
            case QUERY_SIZE -> "query_size";
            case SET_VERSION -> "set_version";
            case GET_VERSION -> "get_version";
            default -> "gnttabop_" + value;
        };
    }
}

package org.jxen.abi;

/**
 * Grant-table operation status codes ({@code GNTST_*} in {@code xen/grant_table.h}): what the
 * host writes into the {@code status} field of a grant-table operation's argument. They are not
 * errnos: the hypercall itself returns 0 and the status says how the operation went.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class Gntst {
    private Gntst() {
    }

    public static final int OKAY = 0;
    public static final int GENERAL_ERROR = -1;
    public static final int BAD_DOMAIN = -2;
    public static final int BAD_GNTREF = -3;
    public static final int BAD_HANDLE = -4;
    public static final int BAD_VIRT_ADDR = -5;
    public static final int BAD_DEV_ADDR = -6;
    public static final int NO_DEVICE_SPACE = -7;
    public static final int PERMISSION_DENIED = -8;
    public static final int BAD_PAGE = -9;
    public static final int BAD_COPY_ARG = -10;
    public static final int ADDRESS_TOO_BIG = -11;
    public static final int EAGAIN = -12;
    public static final int NO_SPACE = -13;

    /** The Xen name of a status (e.g. "bad_gntref"), or "gntst_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case OKAY -> "okay";
            case GENERAL_ERROR -> "general_error";
            case BAD_DOMAIN -> "bad_domain";
            case BAD_GNTREF -> "bad_gntref";
            case BAD_HANDLE -> "bad_handle";
            case BAD_VIRT_ADDR -> "bad_virt_addr";
            case BAD_DEV_ADDR -> "bad_dev_addr";
            case NO_DEVICE_SPACE -> "no_device_space";
            case PERMISSION_DENIED -> "permission_denied";
            case BAD_PAGE -> "bad_page";
            case BAD_COPY_ARG -> "bad_copy_arg";
            case ADDRESS_TOO_BIG -> "address_too_big";
            case EAGAIN -> "eagain";
            case NO_SPACE -> "no_space";
            default -> "gntst_" + value;
        };
    }
}

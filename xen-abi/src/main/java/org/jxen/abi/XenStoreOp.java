package org.jxen.abi;

/**
 * XenStore message types ({@code enum xsd_sockmsg_type} in {@code xen/io/xs_wire.h}), the
 * {@code type} of {@link XsdSockmsg}. Names are given without the {@code XS_} prefix. Type 0 is
 * {@code XS_CONTROL} in Xen 4.17, with {@code XS_DEBUG} as its older alias.
 *
 * <p>Constants and pure functions only; immutable and safe from any thread.
 */
public final class XenStoreOp {
    private XenStoreOp() {
    }

    public static final int CONTROL = 0;
    public static final int DEBUG = 0;
    public static final int DIRECTORY = 1;
    public static final int READ = 2;
    public static final int GET_PERMS = 3;
    public static final int WATCH = 4;
    public static final int UNWATCH = 5;
    public static final int TRANSACTION_START = 6;
    public static final int TRANSACTION_END = 7;
    public static final int INTRODUCE = 8;
    public static final int RELEASE = 9;
    public static final int GET_DOMAIN_PATH = 10;
    public static final int WRITE = 11;
    public static final int MKDIR = 12;
    public static final int RM = 13;
    public static final int SET_PERMS = 14;
    public static final int WATCH_EVENT = 15;
    public static final int ERROR = 16;
    public static final int IS_DOMAIN_INTRODUCED = 17;
    public static final int RESUME = 18;
    public static final int SET_TARGET = 19;
    public static final int RESET_WATCHES = 21;
    public static final int DIRECTORY_PART = 22;
    /** {@code XS_TYPE_COUNT}: one past the highest type. */
    public static final int TYPE_COUNT = 23;
    /** {@code XS_INVALID}: guaranteed never to be a valid type. */
    public static final int INVALID = 0xFFFF;

    /** The name of a type without {@code XS_} (e.g. "READ"), or "XS_" and the number if unknown. */
    public static String name(int type) {
        return switch (type) {
            case CONTROL -> "CONTROL";
            case DIRECTORY -> "DIRECTORY";
            case READ -> "READ";
            case GET_PERMS -> "GET_PERMS";
            case WATCH -> "WATCH";
            case UNWATCH -> "UNWATCH";
            case TRANSACTION_START -> "TRANSACTION_START";
            case TRANSACTION_END -> "TRANSACTION_END";
            case INTRODUCE -> "INTRODUCE";
            case RELEASE -> "RELEASE";
            case GET_DOMAIN_PATH -> "GET_DOMAIN_PATH";
            case WRITE -> "WRITE";
            case MKDIR -> "MKDIR";
            case RM -> "RM";
            case SET_PERMS -> "SET_PERMS";
            case WATCH_EVENT -> "WATCH_EVENT";
            case ERROR -> "ERROR";
            case IS_DOMAIN_INTRODUCED -> "IS_DOMAIN_INTRODUCED";
            case RESUME -> "RESUME";
            case SET_TARGET -> "SET_TARGET";
            case RESET_WATCHES -> "RESET_WATCHES";
            case DIRECTORY_PART -> "DIRECTORY_PART";
            default -> "XS_" + type;
        };
    }

    /**
     * The type with the given name, with or without the {@code XS_} prefix ("DEBUG" is accepted
     * for {@link #CONTROL}), or -1 if there is none.
     */
    public static int byName(String name) {
        String n = name.startsWith("XS_") ? name.substring(3) : name;
        if (n.equals("DEBUG")) {
            return DEBUG;
        }
        for (int t = 0; t < TYPE_COUNT; t++) {
            if (name(t).equals(n)) {
                return t;
            }
        }
        return -1;
    }
}

package org.jxen.abi;

/**
 * Xen's errno values ({@code XEN_E*} in {@code xen/errno.h}), positive as defined; a hypercall
 * returns them negated.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class XenErrno {
    private XenErrno() {
    }

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    /** Hypervisor-internal (guarded by {@code __XEN__} in the headers): never returned to a guest. */
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int E2BIG = 7;
    public static final int ENOEXEC = 8;
    public static final int EBADF = 9;
    public static final int ECHILD = 10;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EXDEV = 18;
    public static final int ENODEV = 19;
    public static final int ENOTDIR = 20;
    public static final int EISDIR = 21;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int ENOSPC = 28;
    public static final int EROFS = 30;
    public static final int EMLINK = 31;
    public static final int EDOM = 33;
    public static final int ERANGE = 34;
    public static final int EDEADLK = 35;
    public static final int ENAMETOOLONG = 36;
    public static final int ENOLCK = 37;
    public static final int ENOSYS = 38;
    public static final int ENOTEMPTY = 39;
    public static final int ENODATA = 61;
    public static final int ETIME = 62;
    public static final int EBADMSG = 74;
    public static final int EOVERFLOW = 75;
    public static final int EILSEQ = 84;
    /** Hypervisor-internal (guarded by {@code __XEN__}): "restart this hypercall", never returned to a guest. */
    public static final int ERESTART = 85;
    public static final int EOPNOTSUPP = 95;
    public static final int ENOBUFS = 105;
    public static final int EISCONN = 106;
    public static final int ENOTCONN = 107;
    public static final int ETIMEDOUT = 110;

    /** The name of a negated errno as a hypercall returns it, e.g. {@code -14} gives "EFAULT". */
    public static String nameOfResult(long result) {
        return result < 0 && result >= Integer.MIN_VALUE ? name((int) -result) : Long.toString(result);
    }

    /** The Xen name of a value (e.g. "EPERM"), or "errno_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case ESRCH -> "ESRCH";
            case EINTR -> "EINTR";
            case EIO -> "EIO";
            case ENXIO -> "ENXIO";
            case E2BIG -> "E2BIG";
            case ENOEXEC -> "ENOEXEC";
            case EBADF -> "EBADF";
            case ECHILD -> "ECHILD";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EACCES -> "EACCES";
            case EFAULT -> "EFAULT";
            case EBUSY -> "EBUSY";
            case EEXIST -> "EEXIST";
            case EXDEV -> "EXDEV";
            case ENODEV -> "ENODEV";
            case ENOTDIR -> "ENOTDIR";
            case EISDIR -> "EISDIR";
            case EINVAL -> "EINVAL";
            case ENFILE -> "ENFILE";
            case EMFILE -> "EMFILE";
            case ENOSPC -> "ENOSPC";
            case EROFS -> "EROFS";
            case EMLINK -> "EMLINK";
            case EDOM -> "EDOM";
            case ERANGE -> "ERANGE";
            case EDEADLK -> "EDEADLK";
            case ENAMETOOLONG -> "ENAMETOOLONG";
            case ENOLCK -> "ENOLCK";
            case ENOSYS -> "ENOSYS";
            case ENOTEMPTY -> "ENOTEMPTY";
            case ENODATA -> "ENODATA";
            case ENOBUFS -> "ENOBUFS";
            case ETIME -> "ETIME";
            case EBADMSG -> "EBADMSG";
            case EOVERFLOW -> "EOVERFLOW";
            case EILSEQ -> "EILSEQ";
            case ERESTART -> "ERESTART";
            case EOPNOTSUPP -> "EOPNOTSUPP";
            case EISCONN -> "EISCONN";
            case ENOTCONN -> "ENOTCONN";
            case ETIMEDOUT -> "ETIMEDOUT";
            default -> "errno_" + value;
        };
    }
}

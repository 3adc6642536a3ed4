package org.jxen.abi;

import java.util.List;

/**
 * The error names a XenStore server may answer with ({@code xsd_errors} in
 * {@code xen/io/xs_wire.h}): an {@link XenStoreOp#ERROR} reply carries one of these names followed
 * by a NUL. The list keeps the header's order, and each name pairs with the {@link XenErrno} value
 * of the same name. A successful write-like request is answered with {@link #OK}.
 *
 * <p>Constants and pure functions only; immutable and safe from any thread.
 */
public final class XenStoreError {
    private XenStoreError() {
    }

    /** The payload of a successful write-like reply (followed by a NUL). */
    public static final String OK = "OK";

    public static final String EINVAL = "EINVAL";
    public static final String EACCES = "EACCES";
    public static final String EEXIST = "EEXIST";
    public static final String EISDIR = "EISDIR";
    public static final String ENOENT = "ENOENT";
    public static final String ENOMEM = "ENOMEM";
    public static final String ENOSPC = "ENOSPC";
    public static final String EIO = "EIO";
    public static final String ENOTEMPTY = "ENOTEMPTY";
    public static final String ENOSYS = "ENOSYS";
    public static final String EROFS = "EROFS";
    public static final String EBUSY = "EBUSY";
    public static final String EAGAIN = "EAGAIN";
    public static final String EISCONN = "EISCONN";
    public static final String E2BIG = "E2BIG";
    public static final String EPERM = "EPERM";

    private static final List<String> NAMES = List.of(
            EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO,
            ENOTEMPTY, ENOSYS, EROFS, EBUSY, EAGAIN, EISCONN, E2BIG, EPERM);

    private static final int[] ERRNOS = {
        XenErrno.EINVAL, XenErrno.EACCES, XenErrno.EEXIST, XenErrno.EISDIR, XenErrno.ENOENT,
        XenErrno.ENOMEM, XenErrno.ENOSPC, XenErrno.EIO, XenErrno.ENOTEMPTY, XenErrno.ENOSYS,
        XenErrno.EROFS, XenErrno.EBUSY, XenErrno.EAGAIN, XenErrno.EISCONN, XenErrno.E2BIG,
        XenErrno.EPERM,
    };

    /** All error names, in the header's order (immutable). */
    public static List<String> names() {
        return NAMES;
    }

    /** Whether {@code name} is one of the error names. */
    public static boolean isKnown(String name) {
        return NAMES.contains(name);
    }

    /** The position of {@code name} in {@link #names()}, or -1. */
    public static int indexOf(String name) {
        return NAMES.indexOf(name);
    }

    /** The positive {@link XenErrno} value of an error name, or -1 if the name is not known. */
    public static int errno(String name) {
        int i = NAMES.indexOf(name);
        return i < 0 ? -1 : ERRNOS[i];
    }

    /**
     * The error name for a positive errno value, or {@link #EIO} when the list has no name for it
     * (XenStore clients understand only these names).
     */
    public static String forErrno(int errno) {
        for (int i = 0; i < ERRNOS.length; i++) {
            if (ERRNOS[i] == errno) {
                return NAMES.get(i);
            }
        }
        return EIO;
    }
}

package org.jxen.gpc;

/**
 * A host system call or ioctl that failed: the message names the call and its errno, as
 * Linux's KVM selftests print them. Thrown for host failures only, never for anything a guest
 * can cause. Immutable.
 */
public final class HostCallException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String call;
    private final int errno;

    public HostCallException(String call, int errno, String detail) {
        super(call + " failed: " + errnoName(errno) + " (errno " + errno + ")"
                + (detail == null || detail.isEmpty() ? "" : ": " + detail));
        this.call = call;
        this.errno = errno;
    }

    /** The call that failed, for example {@code "mmap"} or {@code "KVM_RUN"}. */
    public String call() {
        return call;
    }

    /** The host errno the call reported. */
    public int errno() {
        return errno;
    }

    /** The symbolic name of a Linux x86-64 errno value. */
    public static String errnoName(int errno) {
        return switch (errno) {
            case 1 -> "EPERM";
            case 2 -> "ENOENT";
            case 3 -> "ESRCH";
            case 4 -> "EINTR";
            case 5 -> "EIO";
            case 6 -> "ENXIO";
            case 7 -> "E2BIG";
            case 8 -> "ENOEXEC";
            case 9 -> "EBADF";
            case 11 -> "EAGAIN";
            case 12 -> "ENOMEM";
            case 13 -> "EACCES";
            case 14 -> "EFAULT";
            case 16 -> "EBUSY";
            case 17 -> "EEXIST";
            case 19 -> "ENODEV";
            case 22 -> "EINVAL";
            case 24 -> "EMFILE";
            case 25 -> "ENOTTY";
            case 28 -> "ENOSPC";
            case 38 -> "ENOSYS";
            case 95 -> "EOPNOTSUPP";
            default -> "E" + errno;
        };
    }
}

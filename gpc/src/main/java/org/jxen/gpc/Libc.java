package org.jxen.gpc;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * jxen's one binding of the host's C library, through {@code java.lang.foreign}, with {@code errno}
 * captured on every call: guest memory's calls ({@code mmap}, {@code munmap}, {@code madvise},
 * {@code mincore}, {@code memfd_create}, {@code ftruncate}) and those of the KVM backend
 * ({@code open}, {@code ioctl}, {@code mprotect}, {@code gettid}, {@code tgkill}, {@code sigaction}).
 * For jxen's own modules, not a general API.
 *
 * <p>Two kinds of method. Those that return a {@code void} or a result that cannot signal failure
 * ({@link #mmap}, {@link #munmap}, {@link #close}, ...) throw a {@link HostCallException} that names
 * the call and its errno. The raw ones ({@link #open}, {@link #ioctl}, {@link #tgkill},
 * {@link #sigaction}) return the C result (-1 on error) and leave the errno to {@link #errno()}, for
 * callers that handle some errnos themselves (for example {@code KVM_RUN}'s {@code EINTR}).
 *
 * <p>Stateless; safe from any thread. The errno is captured into a per-thread buffer, so a call
 * allocates nothing and {@link #errno()} reads the calling thread's last call.
 */
public final class Libc {
    public static final int O_RDWR = 0x2;
    public static final int O_CLOEXEC = 0x80000;
    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int PROT_EXEC = 0x4;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MADV_REMOVE = 9;
    public static final int MFD_CLOEXEC = 0x1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    public static final int EACCES = 13;

    private static final long MAP_FAILED = -1L;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_OPTION = Linker.Option.captureCallState("errno");

    private static final MethodHandle OPEN = bind("open", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT));
    private static final MethodHandle IOCTL_LONG = bind("ioctl", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_PTR = bind("ioctl", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle MMAP = bind("mmap", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle MUNMAP = bind("munmap", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
    private static final MethodHandle MPROTECT = bind("mprotect", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle MADVISE = bind("madvise", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle MINCORE = bind("mincore", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
    private static final MethodHandle MEMFD_CREATE = bind("memfd_create", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle FTRUNCATE = bind("ftruncate", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle GETTID = bind("gettid", FunctionDescriptor.of(ValueLayout.JAVA_INT));
    private static final MethodHandle GETPID = bind("getpid", FunctionDescriptor.of(ValueLayout.JAVA_INT));
    private static final MethodHandle TGKILL = bind("tgkill", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle SIGACTION = bind("sigaction", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));

    private static final ThreadLocal<MemorySegment> STATE = ThreadLocal.withInitial(
            () -> Arena.ofAuto().allocate(CALL_STATE));

    private Libc() {
    }

    private static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... extra) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        Linker.Option[] options = new Linker.Option[extra.length + 1];
        options[0] = ERRNO_OPTION;
        System.arraycopy(extra, 0, options, 1, extra.length);
        return LINKER.downcallHandle(symbol, fd, options);
    }

    /** The errno of the calling thread's last call made through this class. */
    public static int errno() {
        return (int) ERRNO.get(STATE.get(), 0L);
    }

    /** {@code open(path, flags)}; returns the raw result (-1 on error, see {@link #errno()}). */
    public static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) OPEN.invokeExact(STATE.get(), arena.allocateFrom(path), flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code close(fd)}; a failure is a {@link HostCallException}. */
    public static void close(int fd) {
        int r;
        try {
            r = (int) CLOSE.invokeExact(STATE.get(), fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check(r, "close", "fd " + fd);
    }

    /** {@code ioctl(fd, request, arg)} with an integer argument; returns the raw result (-1 on error). */
    public static int ioctl(int fd, long request, long arg) {
        try {
            return (int) IOCTL_LONG.invokeExact(STATE.get(), fd, request, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ioctl(fd, request, ptr)}; returns the raw result (-1 on error). */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        try {
            return (int) IOCTL_PTR.invokeExact(STATE.get(), fd, request, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code mmap(NULL, length, prot, flags, fd, offset)}: the address; a failure is a {@link HostCallException}. */
    public static long mmap(long length, int prot, int flags, int fd, long offset) {
        long r;
        try {
            r = (long) MMAP.invokeExact(STATE.get(), 0L, length, prot, flags, fd, offset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r == MAP_FAILED) {
            throw new HostCallException("mmap", errno(), "length " + length + " fd " + fd);
        }
        return r;
    }

    /** {@code munmap(address, length)}; a failure is a {@link HostCallException}. */
    public static void munmap(long address, long length) {
        int r;
        try {
            r = (int) MUNMAP.invokeExact(STATE.get(), address, length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check(r, "munmap", "length " + length);
    }

    /** {@code mprotect(address, length, prot)}; a failure is a {@link HostCallException}. */
    public static void mprotect(long address, long length, int prot) {
        int r;
        try {
            r = (int) MPROTECT.invokeExact(STATE.get(), address, length, prot);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check(r, "mprotect", "prot " + prot);
    }

    /** {@code madvise(address, length, advice)}; a failure is a {@link HostCallException}. */
    public static void madvise(long address, long length, int advice) {
        int r;
        try {
            r = (int) MADVISE.invokeExact(STATE.get(), address, length, advice);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check(r, "madvise", "advice " + advice);
    }

    /**
     * {@code mincore}: one byte per page of {@code [address, address + length)} into {@code vec}, bit 0
     * set when the page is resident in host RAM (for shared memory: in the page cache). A failure is a
     * {@link HostCallException}.
     */
    public static void mincore(long address, long length, MemorySegment vec) {
        int r;
        try {
            r = (int) MINCORE.invokeExact(STATE.get(), address, length, vec);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check(r, "mincore", "length " + length);
    }

    /** {@code memfd_create(name, flags)}: the new fd; a failure is a {@link HostCallException}. */
    public static int memfdCreate(String name, int flags) {
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            fd = (int) MEMFD_CREATE.invokeExact(STATE.get(), arena.allocateFrom(name), flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check(fd, "memfd_create", name);
        return fd;
    }

    /** {@code ftruncate(fd, length)}; a failure is a {@link HostCallException}. */
    public static void ftruncate(int fd, long length) {
        int r;
        try {
            r = (int) FTRUNCATE.invokeExact(STATE.get(), fd, length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check(r, "ftruncate", "length " + length);
    }

    /** {@code gettid()}: the calling thread's host thread id. */
    public static int gettid() {
        try {
            return (int) GETTID.invokeExact(STATE.get());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code getpid()}. */
    public static int getpid() {
        try {
            return (int) GETPID.invokeExact(STATE.get());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code tgkill(pid, tid, signal)}; returns the raw result (-1 on error). */
    public static int tgkill(int pid, int tid, int signal) {
        try {
            return (int) TGKILL.invokeExact(STATE.get(), pid, tid, signal);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code sigaction(signal, act, oldAct)}; returns the raw result (-1 on error). */
    public static int sigaction(int signal, MemorySegment act, MemorySegment oldAct) {
        try {
            return (int) SIGACTION.invokeExact(STATE.get(), signal, act, oldAct);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Throws a {@link HostCallException} naming {@code call} and the errno when {@code result} is negative. */
    private static void check(int result, String call, String detail) {
        if (result < 0) {
            throw new HostCallException(call, errno(), detail);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}

package org.jxen.gpc;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few Linux calls that guest memory needs ({@code mmap}, {@code munmap}, {@code memfd_create},
 * {@code ftruncate}, {@code madvise}, {@code mincore}, {@code close}), bound through {@code java.lang.foreign} with
 * {@code errno} captured on every call. Stateless; safe from any thread.
 */
final class LinuxMemory {
    static final int PROT_READ = 0x1;
    static final int PROT_WRITE = 0x2;
    static final int MAP_SHARED = 0x01;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_NORESERVE = 0x4000;
    static final int MADV_REMOVE = 9;
    static final int MFD_CLOEXEC = 0x1;
    static final long MAP_FAILED = -1L;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(
            java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private static final MethodHandle MMAP = bind("mmap", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle MUNMAP = bind("munmap", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
    private static final MethodHandle MADVISE = bind("madvise", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle MEMFD_CREATE = bind("memfd_create", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle FTRUNCATE = bind("ftruncate", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT));
    private static final MethodHandle MINCORE = bind("mincore", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));

    private LinuxMemory() {
    }

    private static MethodHandle bind(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(symbol, descriptor,
                CAPTURE_ERRNO);
    }

    static long mmap(long address, long length, int prot, int flags, int fd, long offset) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            long result = (long) MMAP.invokeExact(state, address, length, prot, flags, fd, offset);
            if (result == MAP_FAILED) {
                throw new HostCallException("mmap", (int) ERRNO.get(state, 0L), "length " + length);
            }
            return result;
        } catch (HostCallException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("mmap call failed", t);
        }
    }

    static void munmap(long address, long length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int result = (int) MUNMAP.invokeExact(state, address, length);
            if (result != 0) {
                throw new HostCallException("munmap", (int) ERRNO.get(state, 0L), "");
            }
        } catch (HostCallException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("munmap call failed", t);
        }
    }

    static void madvise(long address, long length, int advice) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int result = (int) MADVISE.invokeExact(state, address, length, advice);
            if (result != 0) {
                throw new HostCallException("madvise", (int) ERRNO.get(state, 0L), "advice " + advice);
            }
        } catch (HostCallException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("madvise call failed", t);
        }
    }

    /**
     * {@code mincore}: one byte per page of {@code [address, address + length)} into {@code vec}, bit 0
     * set when the page is resident in host RAM (for shared memory: in the page cache).
     */
    static void mincore(long address, long length, MemorySegment vec) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int result = (int) MINCORE.invokeExact(state, address, length, vec);
            if (result != 0) {
                throw new HostCallException("mincore", (int) ERRNO.get(state, 0L), "length " + length);
            }
        } catch (HostCallException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("mincore call failed", t);
        }
    }

    static int memfdCreate(String name, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) MEMFD_CREATE.invokeExact(state, arena.allocateFrom(name), flags);
            if (fd < 0) {
                throw new HostCallException("memfd_create", (int) ERRNO.get(state, 0L), name);
            }
            return fd;
        } catch (HostCallException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("memfd_create call failed", t);
        }
    }

    static void ftruncate(int fd, long length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int result = (int) FTRUNCATE.invokeExact(state, fd, length);
            if (result != 0) {
                throw new HostCallException("ftruncate", (int) ERRNO.get(state, 0L), "length " + length);
            }
        } catch (HostCallException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("ftruncate call failed", t);
        }
    }

    static void close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int result = (int) CLOSE.invokeExact(state, fd);
            if (result != 0) {
                throw new HostCallException("close", (int) ERRNO.get(state, 0L), "fd " + fd);
            }
        } catch (HostCallException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("close call failed", t);
        }
    }
}

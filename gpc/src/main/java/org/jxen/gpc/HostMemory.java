package org.jxen.gpc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A block of host memory that can back guest RAM: a {@code MAP_SHARED} mapping (anonymous or of a
 * {@code memfd}), so that KVM can register the very same pages, or plain off-heap memory for
 * in-process tests and benchmarks.
 *
 * <p>The segment belongs to a <em>shared</em> {@link Arena}. {@link #close()} closes that arena
 * before the pages are unmapped; the JVM guarantees that a closed shared arena's memory is no longer
 * being accessed by any thread, and that every later access throws {@link IllegalStateException}.
 * So a late access through a stale segment can never reach unmapped or reused memory: it fails
 * loudly instead. {@code close()} is refused while a memslot still maps this memory.
 *
 * <p>Thread safety: every method may be called from any thread. {@link #close()} is idempotent.
 */
public final class HostMemory implements AutoCloseable {
    /** The page size of the host and of the guest's frames. */
    public static final long PAGE_SIZE = 4096;

    /** How the memory was obtained. */
    public enum Kind {
        /** {@code mmap(MAP_SHARED | MAP_ANONYMOUS)}. */
        ANONYMOUS_SHARED,
        /** {@code memfd_create} + {@code mmap(MAP_SHARED)}. */
        MEMFD,
        /** Off-heap memory from a shared arena: not shareable with KVM; for tests and benchmarks. */
        OFF_HEAP
    }

    private final String name;
    private final Kind kind;
    private final long size;
    private final int fd;
    private final Arena arena;
    private final MemorySegment segment;
    private final AtomicInteger mappedBySlots = new AtomicInteger();
    private volatile boolean closed;

    private HostMemory(String name, Kind kind, long size, int fd, Arena arena, MemorySegment segment) {
        this.name = name;
        this.kind = kind;
        this.size = size;
        this.fd = fd;
        this.arena = arena;
        this.segment = segment;
    }

    /** Anonymous shared memory ({@code MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE}), zero-filled. */
    public static HostMemory anonymous(String name, long size) {
        checkSize(size);
        long address = Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_SHARED | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        Arena arena = Arena.ofShared();
        MemorySegment seg = MemorySegment.ofAddress(address)
                .reinterpret(size, arena, s -> Libc.munmap(address, size));
        return new HostMemory(name, Kind.ANONYMOUS_SHARED, size, -1, arena, seg);
    }

    /** Memory of a new {@code memfd}, mapped {@code MAP_SHARED}; zero-filled. */
    public static HostMemory memfd(String name, long size) {
        checkSize(size);
        int fd = Libc.memfdCreate("jxen:" + name, Libc.MFD_CLOEXEC);
        long address;
        try {
            Libc.ftruncate(fd, size);
            address = Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_SHARED, fd, 0);
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
        Arena arena = Arena.ofShared();
        MemorySegment seg = MemorySegment.ofAddress(address).reinterpret(size, arena, s -> {
            Libc.munmap(address, size);
            Libc.close(fd);
        });
        return new HostMemory(name, Kind.MEMFD, size, fd, arena, seg);
    }

    /** Page-aligned off-heap memory from a shared arena; zero-filled. For tests and benchmarks. */
    public static HostMemory offHeap(String name, long size) {
        checkSize(size);
        Arena arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(size, PAGE_SIZE);
        return new HostMemory(name, Kind.OFF_HEAP, size, -1, arena, seg);
    }

    private static void checkSize(long size) {
        if (size <= 0 || size % PAGE_SIZE != 0) {
            throw new IllegalArgumentException("host memory size must be a positive multiple of "
                    + PAGE_SIZE + ": " + size);
        }
    }

    public String name() {
        return name;
    }

    public Kind kind() {
        return kind;
    }

    public long size() {
        return size;
    }

    /** The host virtual address of the first byte. */
    public long address() {
        return segment.address();
    }

    /** The file descriptor of a {@link Kind#MEMFD} block, or -1. */
    public int fd() {
        return fd;
    }

    /** The whole block; every access through it fails once the block is closed. */
    public MemorySegment segment() {
        return segment;
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Gives the pages of a range back to the host ({@code madvise(MADV_REMOVE)}); they read as
     * zero afterwards. Guest memory calls this inside a host-range invalidation: see
     * {@link GuestMemory#discard(HostMemory, long, long)}.
     */
    void discardPages(long offset, long length) {
        checkRange(offset, length);
        if (kind == Kind.OFF_HEAP) {
            segment.asSlice(offset, length).fill((byte) 0);
        } else {
            Libc.madvise(segment.address() + offset, length, Libc.MADV_REMOVE);
        }
    }

    /**
     * How many pages of {@code [offset, offset + length)} (page-aligned) are resident in host RAM now,
     * as {@code mincore} reports them: for {@code MAP_SHARED} memory a page counts while the shared
     * memory object holds it, whoever touched it (this process or KVM on the guest's behalf). A
     * snapshot: other threads and the guest may change it at once. Any thread; fails with
     * {@link IllegalStateException} once the memory is closed ({@code mincore} only reads page
     * tables, so even a call that races with {@link #close()} touches no memory).
     */
    public long residentPages(long offset, long length) {
        checkRange(offset, length);
        if (closed || !segment.scope().isAlive()) {
            throw new IllegalStateException(this + " is closed");
        }
        long pages = length / PAGE_SIZE;
        long resident = 0;
        long chunkPages = 1 << 16;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment vec = a.allocate(Math.min(pages, chunkPages));
            for (long done = 0; done < pages; done += chunkPages) {
                long n = Math.min(chunkPages, pages - done);
                Libc.mincore(segment.address() + offset + done * PAGE_SIZE, n * PAGE_SIZE, vec);
                for (long i = 0; i < n; i++) {
                    resident += vec.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) & 1;
                }
            }
        }
        return resident;
    }

    void checkRange(long offset, long length) {
        if (offset < 0 || length <= 0 || offset % PAGE_SIZE != 0 || length % PAGE_SIZE != 0
                || offset > size - length) {
            throw new IllegalArgumentException("range [" + offset + ", +" + length + ") is not a page-aligned part of "
                    + this);
        }
    }

    void retainForSlot() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        mappedBySlots.incrementAndGet();
    }

    void releaseFromSlot() {
        mappedBySlots.decrementAndGet();
    }

    /** How many memslots (of all guest memories) map this block now. */
    public int mappedBySlots() {
        return mappedBySlots.get();
    }

    /**
     * Releases the memory. Refused while a memslot maps it. After this returns no thread is
     * accessing the memory, and any later access through its segments throws.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        int users = mappedBySlots.get();
        if (users != 0) {
            throw new IllegalStateException("cannot close " + this + ": still mapped by " + users + " memslot(s)");
        }
        closed = true;
        arena.close();
    }

    @Override
    public String toString() {
        return "host memory '" + name + "' (" + kind + ", " + size + " bytes)";
    }
}

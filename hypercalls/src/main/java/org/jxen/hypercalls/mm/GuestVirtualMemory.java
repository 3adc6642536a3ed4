package org.jxen.hypercalls.mm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.GuestMemoryFault;
import org.jxen.gpc.MemoryMap;
import org.jxen.gpc.Memslot;

/**
 * Reads and writes by guest-virtual address for the hypercall handlers of one vCPU: Xen's {@code
 * copy_from_guest} and {@code copy_to_guest}. Bound to one {@link GuestMemory} and one
 * {@link PagingState} for the duration of one hypercall ({@link #bind}); the same object is reused
 * for every call of its vCPU, so a call costs no allocation here.
 *
 * <h2>Failures</h2>
 * Hypercall handlers return {@code >= 0} or a negative Xen errno and never throw for guest-caused
 * conditions. Accordingly:
 * <ul>
 * <li>The bulk copies {@link #copyFromGuest} and {@link #copyToGuest} return {@code 0} or {@code
 * -EFAULT} ({@code -XenErrno.EFAULT}); {@link #lastFaultGva()} and {@link #lastWalkResult()} say
 * where and why.</li>
 * <li>The typed accessors ({@link #readU64}, {@link #writeU32}, ...) return the value and throw this
 * object's preallocated, stackless {@link GuestPointerFault} on a bad pointer. A handler that uses
 * them catches it and returns {@link GuestPointerFault#errno()}; it never leaves the handler. This
 * keeps handlers that read several fields straight-line without allocating a result per read.</li>
 * </ul>
 *
 * <h2>Page by page</h2>
 * An argument that crosses a page boundary is copied piecewise: each page is translated and checked
 * on its own (its physical page may be anywhere), so a structure that spans a present and a
 * non-present page fails cleanly. Large pages are copied in one piece per page. No host buffer is
 * allocated: bytes go straight between the caller's segment and guest RAM, whatever the length.
 *
 * <p>Reads may have filled part of the destination when they fail. Writes check every page first
 * (translation for a write, and backing by a writable memslot), then write; so a write that fails
 * on its second page writes nothing. Only a concurrent change by another vCPU (of its page tables)
 * or of the memory map between the check and the write can leave a write partly done; it still
 * returns {@code -EFAULT}. Xen itself copies page by page and may leave partial writes.
 *
 * <p>Nothing is ever written outside guest RAM: every access goes through {@link GuestMemory},
 * which only touches bytes inside memslots (and never read-only ones for writes).
 *
 * <p>Threads: owned by one vCPU thread; not thread-safe.
 */
public final class GuestVirtualMemory {
    private static final long PAGE_SIZE = 4096;

    private final PageWalker walker = new PageWalker();
    private final GuestPointerFault fault = new GuestPointerFault();
    private final MemorySegment scratch = Arena.ofAuto().allocate(8, 8);
    private final MemorySegment scratch1 = scratch.asSlice(0, 1);
    private final MemorySegment scratch2 = scratch.asSlice(0, 2);
    private final MemorySegment scratch4 = scratch.asSlice(0, 4);
    private GuestMemory memory;
    private PagingState paging;
    private long lastFaultGva;
    private long lastWalkResult;

    /** Binds this object to the memory and paging state of the hypercall about to be handled. */
    public GuestVirtualMemory bind(GuestMemory guestMemory, PagingState state) {
        this.memory = guestMemory;
        this.paging = state;
        return this;
    }

    public GuestMemory memory() {
        return memory;
    }

    public PagingState paging() {
        return paging;
    }

    /** The walker, for callers that need one translation (its {@code last*} state belongs to this object's vCPU). */
    public PageWalker walker() {
        return walker;
    }

    /** Translates one address under the bound state: a gpa, or a negative {@link PageWalker} code. */
    public long translate(long gva, Access access) {
        return walker.translate(memory, paging, gva, access);
    }

    /** The guest-virtual address of the page at fault in the last failed copy. */
    public long lastFaultGva() {
        return lastFaultGva;
    }

    /**
     * The walk's result for the page at fault in the last failed copy: a negative {@link PageWalker}
     * code, or the gpa (>= 0) when the translation worked but the gpa is not in (writable) RAM.
     */
    public long lastWalkResult() {
        return lastWalkResult;
    }

    // ------------------------------------------------------------------ bulk copies

    /** Copies {@code dst.byteSize()} bytes from guest-virtual {@code gva} into {@code dst}. Returns 0 or {@code -EFAULT}. */
    public int copyFromGuest(long gva, MemorySegment dst) {
        long n = dst.byteSize();
        if (!rangeOk(gva, n)) {
            return efault(gva, PageWalker.failure(WalkFault.NON_CANONICAL, 0));
        }
        long done = 0;
        while (done < n) {
            long va = gva + done;
            long gpa = walker.translate(memory, paging, va, Access.READ);
            if (gpa < 0) {
                return efault(va, gpa);
            }
            long chunk = Math.min(n - done, chunkSize(va));
            if (!memory.read(gpa, dst.asSlice(done, chunk))) {
                return efault(va, gpa);
            }
            done += chunk;
        }
        return 0;
    }

    /**
     * Copies all of {@code src} to guest-virtual {@code gva}. Returns 0 or {@code -EFAULT}; checks
     * every page before writing any (see the class comment).
     */
    public int copyToGuest(MemorySegment src, long gva) {
        long n = src.byteSize();
        if (!rangeOk(gva, n)) {
            return efault(gva, PageWalker.failure(WalkFault.NON_CANONICAL, 0));
        }
        MemoryMap map = memory.currentMap();
        long done = 0;
        while (done < n) {
            long va = gva + done;
            long gpa = walker.translate(memory, paging, va, Access.WRITE);
            if (gpa < 0) {
                return efault(va, gpa);
            }
            long chunk = Math.min(n - done, chunkSize(va));
            if (!writable(map, gpa, chunk)) {
                return efault(va, gpa);
            }
            done += chunk;
        }
        done = 0;
        while (done < n) {
            long va = gva + done;
            long gpa = walker.translate(memory, paging, va, Access.WRITE);
            if (gpa < 0) {
                return efault(va, gpa);
            }
            long chunk = Math.min(n - done, chunkSize(va));
            if (!memory.write(gpa, src.asSlice(done, chunk))) {
                return efault(va, gpa);
            }
            done += chunk;
        }
        return 0;
    }

    /** True when every byte of {@code [gva, gva + length)} may be read now (nothing is read). */
    public boolean isReadable(long gva, long length) {
        return check(gva, length, Access.READ);
    }

    /** True when every byte of {@code [gva, gva + length)} may be written now (nothing is written). */
    public boolean isWritable(long gva, long length) {
        return check(gva, length, Access.WRITE);
    }

    private boolean check(long gva, long n, Access access) {
        if (!rangeOk(gva, n)) {
            return false;
        }
        MemoryMap map = memory.currentMap();
        long done = 0;
        while (done < n) {
            long va = gva + done;
            long gpa = walker.translate(memory, paging, va, access);
            if (gpa < 0) {
                return false;
            }
            long chunk = Math.min(n - done, chunkSize(va));
            if (access == Access.WRITE ? !writable(map, gpa, chunk) : !memory.isBacked(gpa, chunk)) {
                return false;
            }
            done += chunk;
        }
        return true;
    }

    // ------------------------------------------------------------------ typed accessors

    /** An 8-bit value at {@code gva}, zero-extended. @throws GuestPointerFault on a bad pointer */
    public int readU8(long gva) {
        read(gva, scratch1);
        return Byte.toUnsignedInt(scratch.get(ValueLayout.JAVA_BYTE, 0));
    }

    /** A 16-bit little-endian value at {@code gva}, zero-extended. @throws GuestPointerFault on a bad pointer */
    public int readU16(long gva) {
        long gpa = translateInOnePage(gva, 2);
        if (gpa >= 0) {
            try {
                return Short.toUnsignedInt(memory.getShort(gpa));
            } catch (GuestMemoryFault | IllegalStateException notBackedOrRemoved) {
                // not backed, or its memory closed under us: the checked copy below reports it
            }
        }
        read(gva, scratch2);
        return Short.toUnsignedInt(scratch.get(ValueLayout.JAVA_SHORT, 0));
    }

    /** A 32-bit value at {@code gva}, zero-extended. @throws GuestPointerFault on a bad pointer */
    public long readU32(long gva) {
        long gpa = translateInOnePage(gva, 4);
        if (gpa >= 0) {
            try {
                return Integer.toUnsignedLong(memory.getInt(gpa));
            } catch (GuestMemoryFault | IllegalStateException notBackedOrRemoved) {
                // not backed, or its memory closed under us: the checked copy below reports it
            }
        }
        read(gva, scratch4);
        return Integer.toUnsignedLong(scratch.get(ValueLayout.JAVA_INT, 0));
    }

    /** A 64-bit value at {@code gva}. @throws GuestPointerFault on a bad pointer */
    public long readU64(long gva) {
        long gpa = translateInOnePage(gva, 8);
        if (gpa >= 0) {
            try {
                return memory.getLong(gpa);
            } catch (GuestMemoryFault | IllegalStateException notBackedOrRemoved) {
                // not backed, or its memory closed under us: the checked copy below reports it
            }
        }
        read(gva, scratch);
        return scratch.get(ValueLayout.JAVA_LONG, 0);
    }

    /**
     * The fast path of the typed reads: the gpa of the {@code n} bytes at {@code gva} when they lie
     * in one 4 KiB page and that page translates for reading; else negative, and the caller takes
     * the general copy (which also records where a fault was). A scalar read then costs one walk
     * and one read by gpa, with no buffer and no slice.
     */
    private long translateInOnePage(long gva, int n) {
        if ((gva & (PAGE_SIZE - 1)) > PAGE_SIZE - n) {
            return -1;
        }
        return walker.translate(memory, paging, gva, Access.READ);
    }

    /** @throws GuestPointerFault on a bad pointer (nothing written) */
    public void writeU8(long gva, int value) {
        scratch.set(ValueLayout.JAVA_BYTE, 0, (byte) value);
        write(scratch1, gva);
    }

    /** @throws GuestPointerFault on a bad pointer (nothing written) */
    public void writeU16(long gva, int value) {
        scratch.set(ValueLayout.JAVA_SHORT, 0, (short) value);
        write(scratch2, gva);
    }

    /** @throws GuestPointerFault on a bad pointer (nothing written) */
    public void writeU32(long gva, int value) {
        scratch.set(ValueLayout.JAVA_INT, 0, value);
        write(scratch4, gva);
    }

    /** @throws GuestPointerFault on a bad pointer (nothing written) */
    public void writeU64(long gva, long value) {
        scratch.set(ValueLayout.JAVA_LONG, 0, value);
        write(scratch, gva);
    }

    /** Like {@link #copyFromGuest}, but throws this object's {@link GuestPointerFault} instead of returning {@code -EFAULT}. */
    public void read(long gva, MemorySegment dst) {
        if (copyFromGuest(gva, dst) != 0) {
            throw fault.set(lastFaultGva, lastWalkResult);
        }
    }

    /** Like {@link #copyToGuest}, but throws this object's {@link GuestPointerFault} instead of returning {@code -EFAULT}. */
    public void write(MemorySegment src, long gva) {
        if (copyToGuest(src, gva) != 0) {
            throw fault.set(lastFaultGva, lastWalkResult);
        }
    }

    // ------------------------------------------------------------------ helpers

    /** The bytes from {@code va} to the end of the page the walker just reached. */
    private long chunkSize(long va) {
        long size = walker.lastPageSize();
        if (size == 0) {
            size = PAGE_SIZE;
        }
        return size - (va & (size - 1));
    }

    /** No wrap-around of the range, and no more than 4 GiB of addresses in the 32-bit modes. */
    private boolean rangeOk(long gva, long n) {
        if (n == 0) {
            return true;
        }
        long last = gva + n - 1;
        if (Long.compareUnsigned(last, gva) < 0) {
            return false;
        }
        PagingMode mode = paging.mode();
        return mode == PagingMode.FOUR_LEVEL || mode == PagingMode.FIVE_LEVEL_UNSUPPORTED || (last >>> 32) == 0;
    }

    private static boolean writable(MemoryMap map, long gpa, long length) {
        long done = 0;
        while (done < length) {
            Memslot s = map.find(gpa + done);
            if (s == null || s.isReadOnly()) {
                return false;
            }
            done += s.end() - (gpa + done);
        }
        return true;
    }

    private int efault(long gva, long walkResult) {
        lastFaultGva = gva;
        lastWalkResult = walkResult;
        return -XenErrno.EFAULT;
    }
}

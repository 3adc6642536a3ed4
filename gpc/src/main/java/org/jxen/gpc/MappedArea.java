package org.jxen.gpc;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.List;

/**
 * The host's view of exactly the bytes of a guest area that a {@link GfnToPfnCache} maps: what
 * {@link GfnToPfnCache#lock()} returns. Offsets are relative to the area's first byte, and every
 * access is checked against the area's length.
 *
 * <p>An area that crosses a memslot boundary has two (or more) parts, each in a different host
 * mapping; accessors hide the split. A plain access that straddles the split is done byte by byte
 * (not atomically); the ordered and atomic accessors need a naturally aligned location inside one
 * part and throw {@link IllegalArgumentException} otherwise. Multi-byte values are little-endian,
 * as on x86.
 *
 * <p>Threads: any thread, but only between the {@code lock()} that returned this view and the
 * matching {@code unlock()}; afterwards the view may describe memory that the guest no longer
 * owns. The memory orderings are those the method names say (see {@link VarHandle}).
 */
public final class MappedArea {
    private static final ValueLayout.OfLong LONG_U = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT_U = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT_U = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle BYTE = ValueLayout.JAVA_BYTE.varHandle();

    private final long gpa;
    private final long length;
    private final MemoryMap map;
    /** The only part when the area is contiguous in host memory, else null. */
    private final MemorySegment single;
    private final MemorySegment[] parts;
    private final long[] partStart;
    private final Memslot[] slots;

    MappedArea(long gpa, long length, MemoryMap map, MemorySegment[] parts, long[] partStart, Memslot[] slots) {
        this.gpa = gpa;
        this.length = length;
        this.map = map;
        this.parts = parts;
        this.partStart = partStart;
        this.slots = slots;
        this.single = parts.length == 1 ? parts[0] : null;
    }

    /** The guest-physical address of the first byte. */
    public long gpa() {
        return gpa;
    }

    /** The length in bytes, fixed at activation. */
    public long length() {
        return length;
    }

    /** The generation of the memory map that this view was translated under. */
    public long generation() {
        return map.generation();
    }

    MemoryMap map() {
        return map;
    }

    /** How many host mappings serve the area: 1, or 2 or more when it crosses memslot boundaries. */
    public int partCount() {
        return parts.length;
    }

    /** Part {@code i}'s host view. */
    public MemorySegment part(int i) {
        return parts[i];
    }

    /** The offset in the area at which part {@code i} starts. */
    public long partOffset(int i) {
        return partStart[i];
    }

    /** The whole area as one segment; only for an area that is one part. */
    public MemorySegment segment() {
        if (single == null) {
            throw new IllegalStateException("area at gpa 0x" + Long.toHexString(gpa) + " is split in "
                    + parts.length + " parts; use part(i) or the accessors");
        }
        return single;
    }

    /** The memslots that back the parts. */
    public List<Memslot> slots() {
        return List.of(slots);
    }

    boolean usesSlot(Memslot slot) {
        for (Memslot s : slots) {
            if (s == slot) {
                return true;
            }
        }
        return false;
    }

    boolean overlapsHost(HostMemory memory, long offset, long len) {
        for (int i = 0; i < parts.length; i++) {
            Memslot s = slots[i];
            if (s.memory() != memory) {
                continue;
            }
            long start = s.memoryOffset() + (gpa + partStart[i] - s.gpa());
            long end = start + parts[i].byteSize();
            if (start < offset + len && offset < end) {
                return true;
            }
        }
        return false;
    }

    // ---- plain accesses: any offset inside the area, split-safe ----

    public byte getByte(long offset) {
        check(offset, 1);
        if (single != null) {
            return single.get(ValueLayout.JAVA_BYTE, offset);
        }
        int p = partOf(offset);
        return parts[p].get(ValueLayout.JAVA_BYTE, offset - partStart[p]);
    }

    public void putByte(long offset, byte value) {
        check(offset, 1);
        if (single != null) {
            single.set(ValueLayout.JAVA_BYTE, offset, value);
            return;
        }
        int p = partOf(offset);
        parts[p].set(ValueLayout.JAVA_BYTE, offset - partStart[p], value);
    }

    public short getShort(long offset) {
        check(offset, 2);
        if (single != null) {
            return single.get(SHORT_U, offset);
        }
        return (short) getSplit(offset, 2);
    }

    public void putShort(long offset, short value) {
        check(offset, 2);
        if (single != null) {
            single.set(SHORT_U, offset, value);
        } else {
            putSplit(offset, 2, value);
        }
    }

    public int getInt(long offset) {
        check(offset, 4);
        if (single != null) {
            return single.get(INT_U, offset);
        }
        return (int) getSplit(offset, 4);
    }

    public void putInt(long offset, int value) {
        check(offset, 4);
        if (single != null) {
            single.set(INT_U, offset, value);
        } else {
            putSplit(offset, 4, value);
        }
    }

    public long getLong(long offset) {
        check(offset, 8);
        if (single != null) {
            return single.get(LONG_U, offset);
        }
        return getSplit(offset, 8);
    }

    public void putLong(long offset, long value) {
        check(offset, 8);
        if (single != null) {
            single.set(LONG_U, offset, value);
        } else {
            putSplit(offset, 8, value);
        }
    }

    /** Copies {@code dst.byteSize()} bytes from {@code offset} into {@code dst}. */
    public void copyTo(long offset, MemorySegment dst) {
        long n = dst.byteSize();
        check(offset, n);
        long done = 0;
        while (done < n) {
            int p = partOf(offset + done);
            long inPart = offset + done - partStart[p];
            long chunk = Math.min(n - done, parts[p].byteSize() - inPart);
            MemorySegment.copy(parts[p], inPart, dst, done, chunk);
            done += chunk;
        }
    }

    /** Copies all of {@code src} into the area at {@code offset}. */
    public void copyFrom(MemorySegment src, long offset) {
        long n = src.byteSize();
        check(offset, n);
        long done = 0;
        while (done < n) {
            int p = partOf(offset + done);
            long inPart = offset + done - partStart[p];
            long chunk = Math.min(n - done, parts[p].byteSize() - inPart);
            MemorySegment.copy(src, done, parts[p], inPart, chunk);
            done += chunk;
        }
    }

    /** Fills {@code [offset, offset + n)} with {@code value}. */
    public void fill(long offset, long n, byte value) {
        check(offset, n);
        long done = 0;
        while (done < n) {
            int p = partOf(offset + done);
            long inPart = offset + done - partStart[p];
            long chunk = Math.min(n - done, parts[p].byteSize() - inPart);
            parts[p].asSlice(inPart, chunk).fill(value);
            done += chunk;
        }
    }

    // ---- ordered and atomic accesses: naturally aligned, inside one part ----

    public byte getByteVolatile(long offset) {
        MemorySegment s = atomicPart(offset, 1);
        return (byte) BYTE.getVolatile(s, offset - base(s, offset));
    }

    public void putByteRelease(long offset, byte value) {
        MemorySegment s = atomicPart(offset, 1);
        BYTE.setRelease(s, offset - base(s, offset), value);
    }

    public void putByteVolatile(long offset, byte value) {
        MemorySegment s = atomicPart(offset, 1);
        BYTE.setVolatile(s, offset - base(s, offset), value);
    }

    /**
     * Atomically sets one byte and returns its old value. Memory segments offer no byte-sized atomic
     * updates, so this is a compare-and-set loop on the naturally aligned 32-bit word that holds the
     * byte (x86 is little-endian); that word must lie inside the area.
     */
    public byte getAndSetByte(long offset, byte value) {
        check(offset, 1);
        long misalign = (gpa + offset) & 3;
        long word = offset - misalign;
        int shift = (int) misalign * 8;
        while (true) {
            int old = getIntVolatile(word);
            int next = (old & ~(0xff << shift)) | ((value & 0xff) << shift);
            if (compareAndSetInt(word, old, next)) {
                return (byte) (old >>> shift);
            }
        }
    }

    public int getIntAcquire(long offset) {
        MemorySegment s = atomicPart(offset, 4);
        return (int) INT.getAcquire(s, offset - base(s, offset));
    }

    public int getIntVolatile(long offset) {
        MemorySegment s = atomicPart(offset, 4);
        return (int) INT.getVolatile(s, offset - base(s, offset));
    }

    public void putIntRelease(long offset, int value) {
        MemorySegment s = atomicPart(offset, 4);
        INT.setRelease(s, offset - base(s, offset), value);
    }

    public void putIntVolatile(long offset, int value) {
        MemorySegment s = atomicPart(offset, 4);
        INT.setVolatile(s, offset - base(s, offset), value);
    }

    public boolean compareAndSetInt(long offset, int expected, int value) {
        MemorySegment s = atomicPart(offset, 4);
        return INT.compareAndSet(s, offset - base(s, offset), expected, value);
    }

    public int getAndAddInt(long offset, int delta) {
        MemorySegment s = atomicPart(offset, 4);
        return (int) INT.getAndAdd(s, offset - base(s, offset), delta);
    }

    public int getAndBitwiseOrInt(long offset, int bits) {
        MemorySegment s = atomicPart(offset, 4);
        return (int) INT.getAndBitwiseOr(s, offset - base(s, offset), bits);
    }

    public int getAndBitwiseAndInt(long offset, int bits) {
        MemorySegment s = atomicPart(offset, 4);
        return (int) INT.getAndBitwiseAnd(s, offset - base(s, offset), bits);
    }

    public long getLongAcquire(long offset) {
        MemorySegment s = atomicPart(offset, 8);
        return (long) LONG.getAcquire(s, offset - base(s, offset));
    }

    public long getLongVolatile(long offset) {
        MemorySegment s = atomicPart(offset, 8);
        return (long) LONG.getVolatile(s, offset - base(s, offset));
    }

    public void putLongRelease(long offset, long value) {
        MemorySegment s = atomicPart(offset, 8);
        LONG.setRelease(s, offset - base(s, offset), value);
    }

    public void putLongVolatile(long offset, long value) {
        MemorySegment s = atomicPart(offset, 8);
        LONG.setVolatile(s, offset - base(s, offset), value);
    }

    public boolean compareAndSetLong(long offset, long expected, long value) {
        MemorySegment s = atomicPart(offset, 8);
        return LONG.compareAndSet(s, offset - base(s, offset), expected, value);
    }

    public long getAndAddLong(long offset, long delta) {
        MemorySegment s = atomicPart(offset, 8);
        return (long) LONG.getAndAdd(s, offset - base(s, offset), delta);
    }

    public long getAndBitwiseOrLong(long offset, long bits) {
        MemorySegment s = atomicPart(offset, 8);
        return (long) LONG.getAndBitwiseOr(s, offset - base(s, offset), bits);
    }

    public long getAndBitwiseAndLong(long offset, long bits) {
        MemorySegment s = atomicPart(offset, 8);
        return (long) LONG.getAndBitwiseAnd(s, offset - base(s, offset), bits);
    }

    // ---- helpers ----

    private void check(long offset, long n) {
        if (offset < 0 || n < 0 || offset > length - n) {
            throw new IndexOutOfBoundsException("access [" + offset + ", +" + n + ") outside the "
                    + length + "-byte area at gpa 0x" + Long.toHexString(gpa));
        }
    }

    private int partOf(long offset) {
        int p = parts.length - 1;
        while (partStart[p] > offset) {
            p--;
        }
        return p;
    }

    private MemorySegment atomicPart(long offset, int n) {
        check(offset, n);
        if ((gpa + offset) % n != 0) {
            throw new IllegalArgumentException("atomic " + n + "-byte access at gpa 0x"
                    + Long.toHexString(gpa + offset) + " is not naturally aligned");
        }
        if (single != null) {
            return single;
        }
        int p = partOf(offset);
        if (offset + n - partStart[p] > parts[p].byteSize()) {
            throw new IllegalArgumentException("atomic access straddles the parts of a split area");
        }
        return parts[p];
    }

    private long base(MemorySegment s, long offset) {
        if (s == single) {
            return 0;
        }
        return partStart[partOf(offset)];
    }

    private long getSplit(long offset, int n) {
        long v = 0;
        for (int i = 0; i < n; i++) {
            int p = partOf(offset + i);
            long b = parts[p].get(ValueLayout.JAVA_BYTE, offset + i - partStart[p]) & 0xffL;
            v |= b << (8 * i);
        }
        return v;
    }

    private void putSplit(long offset, int n, long v) {
        for (int i = 0; i < n; i++) {
            int p = partOf(offset + i);
            parts[p].set(ValueLayout.JAVA_BYTE, offset + i - partStart[p], (byte) (v >>> (8 * i)));
        }
    }

    @Override
    public String toString() {
        return "area [0x" + Long.toHexString(gpa) + ", +" + length + ") in " + parts.length + " part(s), generation "
                + map.generation();
    }
}

package org.jxen.abi;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The C scalar types of the x86 guest ABI as value layouts, and the unaligned twins that the
 * accessors use. Guest memory is little-endian. Package-private; stateless and safe from any
 * thread.
 */
final class CTypes {
    private CTypes() {
    }

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    // Layouts with the C alignment of each type, used to build structure layouts.
    static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT.withOrder(LE);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT.withOrder(LE);
    /** A 64-bit integer as a 64-bit guest aligns it in a structure (8). */
    static final ValueLayout.OfLong U64_ALIGN8 = ValueLayout.JAVA_LONG.withOrder(LE);
    /** A 64-bit integer as a 32-bit (i386) guest aligns it in a structure (4). */
    static final ValueLayout.OfLong U64_ALIGN4 = ValueLayout.JAVA_LONG.withOrder(LE).withByteAlignment(4);

    // Layouts without an alignment constraint, used for every access so that a structure may
    // sit at any address (the packed i386 forms place 64-bit fields at offsets like 4 and 12).
    static final ValueLayout.OfShort U16_UA = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfInt U32_UA = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfLong U64_UA = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);

    /** {@code uint64_t} with the structure alignment of the given guest. */
    static ValueLayout.OfLong u64(WordSize w) {
        return w == WordSize.BITS_64 ? U64_ALIGN8 : U64_ALIGN4;
    }

    /** {@code unsigned long}, {@code xen_ulong_t}, {@code xen_pfn_t} or a guest pointer. */
    static ValueLayout ulong(WordSize w) {
        return w == WordSize.BITS_64 ? U64_ALIGN8 : U32;
    }

    /** A {@code XEN_GUEST_HANDLE(T)}: on x86 a structure holding one pointer {@code p}. */
    static StructLayout guestHandle(WordSize w) {
        return MemoryLayout.structLayout(ulong(w).withName("p"));
    }

    /** {@code char name[n]} or {@code uint8_t name[n]}. */
    static MemoryLayout bytes(long n) {
        return MemoryLayout.sequenceLayout(n, U8);
    }

    /** The byte offset of a (possibly nested) member path. */
    static long offset(MemoryLayout layout, String... path) {
        MemoryLayout.PathElement[] elements = new MemoryLayout.PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = MemoryLayout.PathElement.groupElement(path[i]);
        }
        return layout.byteOffset(elements);
    }

    /** Reads a guest word (zero-extended to a long for a 32-bit guest). */
    static long getWord(MemorySegment seg, WordSize w, long offset) {
        return w == WordSize.BITS_64
                ? seg.get(U64_UA, offset)
                : Integer.toUnsignedLong(seg.get(U32_UA, offset));
    }

    /** Writes a guest word (the low 32 bits of {@code value} for a 32-bit guest). */
    static void setWord(MemorySegment seg, WordSize w, long offset, long value) {
        if (w == WordSize.BITS_64) {
            seg.set(U64_UA, offset, value);
        } else {
            seg.set(U32_UA, offset, (int) value);
        }
    }

    static int getU8(MemorySegment seg, long offset) {
        return Byte.toUnsignedInt(seg.get(U8, offset));
    }

    static void setU8(MemorySegment seg, long offset, int value) {
        seg.set(U8, offset, (byte) value);
    }

    static int getU16(MemorySegment seg, long offset) {
        return Short.toUnsignedInt(seg.get(U16_UA, offset));
    }

    static void setU16(MemorySegment seg, long offset, int value) {
        seg.set(U16_UA, offset, (short) value);
    }

    static int getU32(MemorySegment seg, long offset) {
        return seg.get(U32_UA, offset);
    }

    static void setU32(MemorySegment seg, long offset, int value) {
        seg.set(U32_UA, offset, value);
    }

    static long getU64(MemorySegment seg, long offset) {
        return seg.get(U64_UA, offset);
    }

    static void setU64(MemorySegment seg, long offset, long value) {
        seg.set(U64_UA, offset, value);
    }

    /** Picks the 64-bit or 32-bit value. */
    static long pick(WordSize w, long if64, long if32) {
        return w == WordSize.BITS_64 ? if64 : if32;
    }

    /** Reads a NUL-terminated (or full-length) ASCII/UTF-8 string from a {@code char[len]} field. */
    static String getCString(MemorySegment seg, long offset, int len) {
        MemorySegment field = seg.asSlice(offset, len);
        int n = 0;
        while (n < len && field.get(U8, n) != 0) {
            n++;
        }
        byte[] bytes = field.asSlice(0, n).toArray(U8);
        return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * Writes {@code value} into a {@code char[len]} field, truncated to {@code len - 1} bytes and
     * NUL-padded to the end of the field.
     */
    static void setCString(MemorySegment seg, long offset, int len, String value) {
        MemorySegment field = seg.asSlice(offset, len);
        byte[] bytes = value.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int n = Math.min(bytes.length, len - 1);
        field.fill((byte) 0);
        MemorySegment.copy(bytes, 0, field, U8, 0, n);
    }
}

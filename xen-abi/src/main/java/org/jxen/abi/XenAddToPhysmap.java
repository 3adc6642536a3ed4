package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code xen_add_to_physmap_t} ({@code xen/memory.h}): the argument of
 * {@link XenMem#ADD_TO_PHYSMAP}, asking to map page {@code idx} of a {@link XenMapSpace} at
 * guest frame {@code gpfn}.
 *
 * <pre>
 * 64-bit guest (24 bytes)      32-bit guest (16 bytes)
 *  0 domid u16                  0 domid u16
 *  2 size  u16                  2 size  u16
 *  4 space u32                  4 space u32
 *  8 idx   u64 (xen_ulong_t)    8 idx   u32
 * 16 gpfn  u64 (xen_pfn_t)     12 gpfn  u32
 * </pre>
 *
 * <p>Stateless, safe from any thread. 16-bit fields read as zero-extended ints.
 */
public final class XenAddToPhysmap {
    private XenAddToPhysmap() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U16.withName("domid"),
                U16.withName("size"),
                U32.withName("space"),
                ulong(w).withName("idx"),
                ulong(w).withName("gpfn")).withName("xen_add_to_physmap");
    }

    private static final long DOMID = CTypes.offset(L64, "domid");
    private static final long SIZE = CTypes.offset(L64, "size");
    private static final long SPACE = CTypes.offset(L64, "space");
    private static final long IDX_64 = CTypes.offset(L64, "idx"), IDX_32 = CTypes.offset(L32, "idx");
    private static final long GPFN_64 = CTypes.offset(L64, "gpfn"), GPFN_32 = CTypes.offset(L32, "gpfn");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 24 for a 64-bit guest, 16 for a 32-bit one. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfDomid(WordSize w) { return DOMID; }
    public static long offsetOfSize(WordSize w) { return SIZE; }
    public static long offsetOfSpace(WordSize w) { return SPACE; }
    public static long offsetOfIdx(WordSize w) { return pick(w, IDX_64, IDX_32); }
    public static long offsetOfGpfn(WordSize w) { return pick(w, GPFN_64, GPFN_32); }

    public static int domid(MemorySegment seg) { return getU16(seg, DOMID); }
    public static void setDomid(MemorySegment seg, int value) { setU16(seg, DOMID, value); }
    public static int size(MemorySegment seg) { return getU16(seg, SIZE); }
    public static void setSize(MemorySegment seg, int value) { setU16(seg, SIZE, value); }
    public static int space(MemorySegment seg) { return getU32(seg, SPACE); }
    public static void setSpace(MemorySegment seg, int value) { setU32(seg, SPACE, value); }
    public static long idx(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfIdx(w)); }
    public static void setIdx(MemorySegment seg, WordSize w, long value) { setWord(seg, w, offsetOfIdx(w), value); }
    public static long gpfn(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfGpfn(w)); }
    public static void setGpfn(MemorySegment seg, WordSize w, long value) { setWord(seg, w, offsetOfGpfn(w), value); }
}

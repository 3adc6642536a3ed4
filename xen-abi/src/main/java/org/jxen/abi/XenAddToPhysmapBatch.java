package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct xen_add_to_physmap_batch} ({@code xen/memory.h}): the argument of
 * {@link XenMem#ADD_TO_PHYSMAP_BATCH}: {@code size} pages of one {@link XenMapSpace}, their indexes
 * in {@code idxs} ({@code xen_ulong_t}), the guest frames in {@code gpfns} ({@code xen_pfn_t}), and
 * an {@code int} per entry in {@code errs} where the host writes each entry's result.
 *
 * <pre>
 * 64-bit guest (32 bytes)            32-bit guest (20 bytes)
 *  0 domid  u16                       0 domid  u16
 *  2 space  u16                       2 space  u16
 *  4 size   u16                       4 size   u16
 *  6 u      union {foreign_domid,     6 u      u16
 *                  res0} u16
 *  8 idxs   handle {u64 p}            8 idxs   handle {u32 p}
 * 16 gpfns  handle {u64 p}           12 gpfns  handle {u32 p}
 * 24 errs   handle {u64 p}           16 errs   handle {u32 p}
 * </pre>
 *
 * <p>Stateless, safe from any thread. 16-bit fields read as zero-extended ints.
 */
public final class XenAddToPhysmapBatch {
    private XenAddToPhysmapBatch() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U16.withName("domid"),
                U16.withName("space"),
                U16.withName("size"),
                MemoryLayout.unionLayout(
                        U16.withName("foreign_domid"),
                        U16.withName("res0")).withName("u"),
                guestHandle(w).withName("idxs"),
                guestHandle(w).withName("gpfns"),
                guestHandle(w).withName("errs")).withName("xen_add_to_physmap_batch");
    }

    private static final long DOMID = CTypes.offset(L64, "domid");
    private static final long SPACE = CTypes.offset(L64, "space");
    private static final long SIZE = CTypes.offset(L64, "size");
    private static final long U = CTypes.offset(L64, "u");
    private static final long IDXS = CTypes.offset(L64, "idxs");
    private static final long GPFNS_64 = CTypes.offset(L64, "gpfns"), GPFNS_32 = CTypes.offset(L32, "gpfns");
    private static final long ERRS_64 = CTypes.offset(L64, "errs"), ERRS_32 = CTypes.offset(L32, "errs");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 32 for a 64-bit guest, 20 for a 32-bit one. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfDomid(WordSize w) { return DOMID; }
    public static long offsetOfSpace(WordSize w) { return SPACE; }
    public static long offsetOfSize(WordSize w) { return SIZE; }
    /** The union {@code u}: {@code foreign_domid} for {@link XenMapSpace#GMFN_FOREIGN}, else {@code res0}. */
    public static long offsetOfU(WordSize w) { return U; }
    public static long offsetOfIdxs(WordSize w) { return IDXS; }
    public static long offsetOfGpfns(WordSize w) { return pick(w, GPFNS_64, GPFNS_32); }
    public static long offsetOfErrs(WordSize w) { return pick(w, ERRS_64, ERRS_32); }

    public static int domid(MemorySegment seg) { return getU16(seg, DOMID); }
    public static void setDomid(MemorySegment seg, int value) { setU16(seg, DOMID, value); }
    public static int space(MemorySegment seg) { return getU16(seg, SPACE); }
    public static void setSpace(MemorySegment seg, int value) { setU16(seg, SPACE, value); }
    public static int size(MemorySegment seg) { return getU16(seg, SIZE); }
    public static void setSize(MemorySegment seg, int value) { setU16(seg, SIZE, value); }
    public static int u(MemorySegment seg) { return getU16(seg, U); }
    public static void setU(MemorySegment seg, int value) { setU16(seg, U, value); }
    public static long idxs(MemorySegment seg, WordSize w) { return getWord(seg, w, IDXS); }
    public static void setIdxs(MemorySegment seg, WordSize w, long value) { setWord(seg, w, IDXS, value); }
    public static long gpfns(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfGpfns(w)); }
    public static void setGpfns(MemorySegment seg, WordSize w, long value) { setWord(seg, w, offsetOfGpfns(w), value); }
    public static long errs(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfErrs(w)); }
    public static void setErrs(MemorySegment seg, WordSize w, long value) { setWord(seg, w, offsetOfErrs(w), value); }
}

package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct xen_memory_reservation} ({@code xen/memory.h}): the argument of
 * {@link XenMem#INCREASE_RESERVATION}, {@link XenMem#DECREASE_RESERVATION} and
 * {@link XenMem#POPULATE_PHYSMAP}: a guest handle to an array of {@code xen_pfn_t} extent bases,
 * their count, the order of each extent ({@code 2^order} pages), {@code XENMEMF_*} flags and the
 * domain.
 *
 * <pre>
 * 64-bit guest (32 bytes)             32-bit guest (20 bytes)
 *  0 extent_start handle {u64 p}       0 extent_start handle {u32 p}
 *  8 nr_extents   u64 (xen_ulong_t)    4 nr_extents   u32
 * 16 extent_order u32                  8 extent_order u32
 * 20 mem_flags    u32                 12 mem_flags    u32
 * 24 domid        u16                 16 domid        u16
 * </pre>
 *
 * <p>Stateless, safe from any thread. 16-bit fields read as zero-extended ints.
 */
public final class XenMemoryReservation {
    private XenMemoryReservation() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                guestHandle(w).withName("extent_start"),
                ulong(w).withName("nr_extents"),
                U32.withName("extent_order"),
                U32.withName("mem_flags"),
                U16.withName("domid"),
                MemoryLayout.paddingLayout(w == WordSize.BITS_64 ? 6 : 2)).withName("xen_memory_reservation");
    }

    private static final long EXTENT_START = CTypes.offset(L64, "extent_start");
    private static final long NR_EXTENTS_64 = CTypes.offset(L64, "nr_extents"), NR_EXTENTS_32 = CTypes.offset(L32, "nr_extents");
    private static final long ORDER_64 = CTypes.offset(L64, "extent_order"), ORDER_32 = CTypes.offset(L32, "extent_order");
    private static final long FLAGS_64 = CTypes.offset(L64, "mem_flags"), FLAGS_32 = CTypes.offset(L32, "mem_flags");
    private static final long DOMID_64 = CTypes.offset(L64, "domid"), DOMID_32 = CTypes.offset(L32, "domid");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 32 for a 64-bit guest, 20 for a 32-bit one. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfExtentStart(WordSize w) { return EXTENT_START; }
    public static long offsetOfNrExtents(WordSize w) { return pick(w, NR_EXTENTS_64, NR_EXTENTS_32); }
    public static long offsetOfExtentOrder(WordSize w) { return pick(w, ORDER_64, ORDER_32); }
    public static long offsetOfMemFlags(WordSize w) { return pick(w, FLAGS_64, FLAGS_32); }
    public static long offsetOfDomid(WordSize w) { return pick(w, DOMID_64, DOMID_32); }

    /** {@code extent_start.p}: the guest virtual address of the {@code xen_pfn_t} array. */
    public static long extentStart(MemorySegment seg, WordSize w) { return getWord(seg, w, EXTENT_START); }
    public static void setExtentStart(MemorySegment seg, WordSize w, long value) { setWord(seg, w, EXTENT_START, value); }
    public static long nrExtents(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfNrExtents(w)); }
    public static void setNrExtents(MemorySegment seg, WordSize w, long value) { setWord(seg, w, offsetOfNrExtents(w), value); }
    public static int extentOrder(MemorySegment seg, WordSize w) { return getU32(seg, offsetOfExtentOrder(w)); }
    public static void setExtentOrder(MemorySegment seg, WordSize w, int value) { setU32(seg, offsetOfExtentOrder(w), value); }
    public static int memFlags(MemorySegment seg, WordSize w) { return getU32(seg, offsetOfMemFlags(w)); }
    public static void setMemFlags(MemorySegment seg, WordSize w, int value) { setU32(seg, offsetOfMemFlags(w), value); }
    public static int domid(MemorySegment seg, WordSize w) { return getU16(seg, offsetOfDomid(w)); }
    public static void setDomid(MemorySegment seg, WordSize w, int value) { setU16(seg, offsetOfDomid(w), value); }
}

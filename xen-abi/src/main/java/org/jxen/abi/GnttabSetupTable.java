package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct gnttab_setup_table} ({@code xen/grant_table.h}): the argument of
 * {@link GnttabOp#SETUP_TABLE}. The guest asks for a table of at least {@code nr_frames} frames;
 * the host writes a {@link Gntst} status and one {@code xen_pfn_t} per frame into
 * {@code frame_list}.
 *
 * <pre>
 * 64-bit guest (24 bytes)              32-bit guest (16 bytes)
 *  0 dom        u16                     0 dom        u16
 *  4 nr_frames  u32                     4 nr_frames  u32
 *  8 status     s16                     8 status     s16
 * 16 frame_list handle {u64 p}         12 frame_list handle {u32 p}
 * </pre>
 *
 * <p>Stateless, safe from any thread. {@code dom} reads zero-extended, {@code status} sign-extended.
 */
public final class GnttabSetupTable {
    private GnttabSetupTable() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U16.withName("dom"),
                MemoryLayout.paddingLayout(2),
                U32.withName("nr_frames"),
                U16.withName("status"),
                MemoryLayout.paddingLayout(w == WordSize.BITS_64 ? 6 : 2),
                guestHandle(w).withName("frame_list")).withName("gnttab_setup_table");
    }

    private static final long DOM = CTypes.offset(L64, "dom");
    private static final long NR_FRAMES = CTypes.offset(L64, "nr_frames");
    private static final long STATUS = CTypes.offset(L64, "status");
    private static final long FRAME_LIST_64 = CTypes.offset(L64, "frame_list"), FRAME_LIST_32 = CTypes.offset(L32, "frame_list");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 24 for a 64-bit guest, 16 for a 32-bit one. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfDom(WordSize w) { return DOM; }
    public static long offsetOfNrFrames(WordSize w) { return NR_FRAMES; }
    public static long offsetOfStatus(WordSize w) { return STATUS; }
    public static long offsetOfFrameList(WordSize w) { return pick(w, FRAME_LIST_64, FRAME_LIST_32); }

    public static int dom(MemorySegment seg) { return getU16(seg, DOM); }
    public static void setDom(MemorySegment seg, int value) { setU16(seg, DOM, value); }
    public static int nrFrames(MemorySegment seg) { return getU32(seg, NR_FRAMES); }
    public static void setNrFrames(MemorySegment seg, int value) { setU32(seg, NR_FRAMES, value); }
    public static int status(MemorySegment seg) { return (short) getU16(seg, STATUS); }
    public static void setStatus(MemorySegment seg, int value) { setU16(seg, STATUS, value); }
    public static long frameList(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfFrameList(w)); }
    public static void setFrameList(MemorySegment seg, WordSize w, long value) { setWord(seg, w, offsetOfFrameList(w), value); }
}

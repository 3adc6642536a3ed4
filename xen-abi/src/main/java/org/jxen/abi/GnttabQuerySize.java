package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct gnttab_query_size} ({@code xen/grant_table.h}): the argument of
 * {@link GnttabOp#QUERY_SIZE}: the current and the largest number of grant-table frames, and a
 * {@link Gntst} status. 16 bytes in both forms.
 *
 * <pre>
 *  0 dom           u16
 *  4 nr_frames     u32
 *  8 max_nr_frames u32
 * 12 status        s16
 * </pre>
 *
 * <p>Stateless, safe from any thread. {@code dom} reads zero-extended, {@code status} sign-extended.
 */
public final class GnttabQuerySize {
    private GnttabQuerySize() {
    }

    private static final StructLayout L64 = make();
    private static final StructLayout L32 = make();

    private static StructLayout make() {
        return MemoryLayout.structLayout(
                U16.withName("dom"),
                MemoryLayout.paddingLayout(2),
                U32.withName("nr_frames"),
                U32.withName("max_nr_frames"),
                U16.withName("status"),
                MemoryLayout.paddingLayout(2)).withName("gnttab_query_size");
    }

    private static final long DOM = CTypes.offset(L64, "dom");
    private static final long NR_FRAMES = CTypes.offset(L64, "nr_frames");
    private static final long MAX_NR_FRAMES = CTypes.offset(L64, "max_nr_frames");
    private static final long STATUS = CTypes.offset(L64, "status");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 16 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfDom(WordSize w) { return DOM; }
    public static long offsetOfNrFrames(WordSize w) { return NR_FRAMES; }
    public static long offsetOfMaxNrFrames(WordSize w) { return MAX_NR_FRAMES; }
    public static long offsetOfStatus(WordSize w) { return STATUS; }

    public static int dom(MemorySegment seg) { return getU16(seg, DOM); }
    public static void setDom(MemorySegment seg, int value) { setU16(seg, DOM, value); }
    public static int nrFrames(MemorySegment seg) { return getU32(seg, NR_FRAMES); }
    public static void setNrFrames(MemorySegment seg, int value) { setU32(seg, NR_FRAMES, value); }
    public static int maxNrFrames(MemorySegment seg) { return getU32(seg, MAX_NR_FRAMES); }
    public static void setMaxNrFrames(MemorySegment seg, int value) { setU32(seg, MAX_NR_FRAMES, value); }
    public static int status(MemorySegment seg) { return (short) getU16(seg, STATUS); }
    public static void setStatus(MemorySegment seg, int value) { setU16(seg, STATUS, value); }
}

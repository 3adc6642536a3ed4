package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct evtchn_expand_array} ({@code xen/event_channel.h}): the argument of
 * {@link EvtchnOp#EXPAND_ARRAY}. 8 bytes in both forms.
 *
 * <pre>
 *  0 array_gfn  u64   IN: the frame of the next event-array page
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class EvtchnExpandArray {
    private EvtchnExpandArray() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(u64(w).withName("array_gfn")).withName("evtchn_expand_array");
    }

    private static final long ARRAY_GFN = CTypes.offset(L64, "array_gfn");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 8 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfArrayGfn(WordSize w) { return ARRAY_GFN; }

    public static long arrayGfn(MemorySegment seg) { return getU64(seg, ARRAY_GFN); }
    public static void setArrayGfn(MemorySegment seg, long value) { setU64(seg, ARRAY_GFN, value); }
}

package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct evtchn_alloc_unbound} ({@code xen/event_channel.h}): the argument of {@link EvtchnOp#ALLOC_UNBOUND}.
 * 8 bytes, the same in both guest forms.
 *
 * <pre>
 *  0 dom          u16
 *  2 remote_dom   u16
 *  4 port         u32
 * </pre>
 *
 * <p>Stateless, safe from any thread. 16-bit fields
 * ({@code domid_t} and the like) read as zero-extended ints.
 */
public final class EvtchnAllocUnbound {
    private EvtchnAllocUnbound() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U16.withName("dom"),
                U16.withName("remote_dom"),
                U32.withName("port")).withName("evtchn_alloc_unbound");
    }

    private static final long DOM = CTypes.offset(L64, "dom");
    private static final long REMOTE_DOM = CTypes.offset(L64, "remote_dom");
    private static final long PORT = CTypes.offset(L64, "port");

    /** The layout of the given guest form (the forms differ at most in alignment). */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 8 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfDom(WordSize w) { return DOM; }
    public static long offsetOfRemoteDom(WordSize w) { return REMOTE_DOM; }
    public static long offsetOfPort(WordSize w) { return PORT; }

    public static int dom(MemorySegment seg) { return getU16(seg, DOM); }
    public static void setDom(MemorySegment seg, int value) { setU16(seg, DOM, value); }
    public static int remoteDom(MemorySegment seg) { return getU16(seg, REMOTE_DOM); }
    public static void setRemoteDom(MemorySegment seg, int value) { setU16(seg, REMOTE_DOM, value); }
    public static int port(MemorySegment seg) { return getU32(seg, PORT); }
    public static void setPort(MemorySegment seg, int value) { setU32(seg, PORT, value); }
}

package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct evtchn_init_control} ({@code xen/event_channel.h}): the argument of
 * {@link EvtchnOp#INIT_CONTROL}. 24 bytes in both forms (aligned 8 for a 64-bit guest, 4 for a
 * 32-bit one).
 *
 * <pre>
 *  0 control_gfn  u64   IN: the frame of the control block
 *  8 offset       u32   IN: its offset in the frame
 * 12 vcpu         u32   IN: the vCPU it belongs to
 * 16 link_bits    u8    OUT: {@link EvtchnFifo#LINK_BITS}
 * 17 _pad         u8[7]
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class EvtchnInitControl {
    private EvtchnInitControl() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                u64(w).withName("control_gfn"),
                U32.withName("offset"),
                U32.withName("vcpu"),
                U8.withName("link_bits"),
                bytes(7).withName("_pad")).withName("evtchn_init_control");
    }

    private static final long CONTROL_GFN = CTypes.offset(L64, "control_gfn");
    private static final long OFFSET = CTypes.offset(L64, "offset");
    private static final long VCPU = CTypes.offset(L64, "vcpu");
    private static final long LINK_BITS = CTypes.offset(L64, "link_bits");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 24 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfControlGfn(WordSize w) { return CONTROL_GFN; }
    public static long offsetOfOffset(WordSize w) { return OFFSET; }
    public static long offsetOfVcpu(WordSize w) { return VCPU; }
    public static long offsetOfLinkBits(WordSize w) { return LINK_BITS; }

    public static long controlGfn(MemorySegment seg) { return getU64(seg, CONTROL_GFN); }
    public static void setControlGfn(MemorySegment seg, long value) { setU64(seg, CONTROL_GFN, value); }
    public static int offset(MemorySegment seg) { return getU32(seg, OFFSET); }
    public static void setOffset(MemorySegment seg, int value) { setU32(seg, OFFSET, value); }
    public static int vcpu(MemorySegment seg) { return getU32(seg, VCPU); }
    public static void setVcpu(MemorySegment seg, int value) { setU32(seg, VCPU, value); }
    public static int linkBits(MemorySegment seg) { return getU8(seg, LINK_BITS); }
    public static void setLinkBits(MemorySegment seg, int value) { setU8(seg, LINK_BITS, value); }
}

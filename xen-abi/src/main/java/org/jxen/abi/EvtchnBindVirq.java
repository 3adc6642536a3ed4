package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct evtchn_bind_virq} ({@code xen/event_channel.h}): the argument of {@link EvtchnOp#BIND_VIRQ}.
 * 12 bytes, the same in both guest forms.
 *
 * <pre>
 *  0 virq         u32
 *  4 vcpu         u32
 *  8 port         u32
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class EvtchnBindVirq {
    private EvtchnBindVirq() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U32.withName("virq"),
                U32.withName("vcpu"),
                U32.withName("port")).withName("evtchn_bind_virq");
    }

    private static final long VIRQ = CTypes.offset(L64, "virq");
    private static final long VCPU = CTypes.offset(L64, "vcpu");
    private static final long PORT = CTypes.offset(L64, "port");

    /** The layout of the given guest form (the forms differ at most in alignment). */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 12 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfVirq(WordSize w) { return VIRQ; }
    public static long offsetOfVcpu(WordSize w) { return VCPU; }
    public static long offsetOfPort(WordSize w) { return PORT; }

    public static int virq(MemorySegment seg) { return getU32(seg, VIRQ); }
    public static void setVirq(MemorySegment seg, int value) { setU32(seg, VIRQ, value); }
    public static int vcpu(MemorySegment seg) { return getU32(seg, VCPU); }
    public static void setVcpu(MemorySegment seg, int value) { setU32(seg, VCPU, value); }
    public static int port(MemorySegment seg) { return getU32(seg, PORT); }
    public static void setPort(MemorySegment seg, int value) { setU32(seg, PORT, value); }
}

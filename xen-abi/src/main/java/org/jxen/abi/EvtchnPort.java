package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct evtchn_send} ({@code xen/event_channel.h}): the one-port argument shared by {@code struct evtchn_send}, {@code struct evtchn_close} and
 * {@code struct evtchn_unmask} ({@link EvtchnOp#SEND}, {@link EvtchnOp#CLOSE}, {@link EvtchnOp#UNMASK}).
 * 4 bytes, the same in both guest forms.
 *
 * <pre>
 *  0 port         u32
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class EvtchnPort {
    private EvtchnPort() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U32.withName("port")).withName("evtchn_send");
    }

    private static final long PORT = CTypes.offset(L64, "port");

    /** The layout of the given guest form (the forms differ at most in alignment). */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 4 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfPort(WordSize w) { return PORT; }

    public static int port(MemorySegment seg) { return getU32(seg, PORT); }
    public static void setPort(MemorySegment seg, int value) { setU32(seg, PORT, value); }
}

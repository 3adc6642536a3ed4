package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct evtchn_set_priority} ({@code xen/event_channel.h}): the argument of
 * {@link EvtchnOp#SET_PRIORITY}. 8 bytes in both forms.
 *
 * <pre>
 *  0 port      u32
 *  4 priority  u32   0 (highest) .. 15 (lowest)
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class EvtchnSetPriority {
    private EvtchnSetPriority() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U32.withName("port"),
                U32.withName("priority")).withName("evtchn_set_priority");
    }

    private static final long PORT = CTypes.offset(L64, "port");
    private static final long PRIORITY = CTypes.offset(L64, "priority");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 8 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfPort(WordSize w) { return PORT; }
    public static long offsetOfPriority(WordSize w) { return PRIORITY; }

    public static int port(MemorySegment seg) { return getU32(seg, PORT); }
    public static void setPort(MemorySegment seg, int value) { setU32(seg, PORT, value); }
    public static int priority(MemorySegment seg) { return getU32(seg, PRIORITY); }
    public static void setPriority(MemorySegment seg, int value) { setU32(seg, PRIORITY, value); }
}

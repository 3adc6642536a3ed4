package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct evtchn_bind_interdomain} ({@code xen/event_channel.h}): the argument of {@link EvtchnOp#BIND_INTERDOMAIN}.
 * 12 bytes, the same in both guest forms.
 *
 * <pre>
 *  0 remote_dom   u16
 *  4 remote_port  u32
 *  8 local_port   u32
 * </pre>
 *
 * <p>Stateless, safe from any thread. 16-bit fields
 * ({@code domid_t} and the like) read as zero-extended ints.
 */
public final class EvtchnBindInterdomain {
    private EvtchnBindInterdomain() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U16.withName("remote_dom"),
                MemoryLayout.paddingLayout(2),
                U32.withName("remote_port"),
                U32.withName("local_port")).withName("evtchn_bind_interdomain");
    }

    private static final long REMOTE_DOM = CTypes.offset(L64, "remote_dom");
    private static final long REMOTE_PORT = CTypes.offset(L64, "remote_port");
    private static final long LOCAL_PORT = CTypes.offset(L64, "local_port");

    /** The layout of the given guest form (the forms differ at most in alignment). */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 12 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfRemoteDom(WordSize w) { return REMOTE_DOM; }
    public static long offsetOfRemotePort(WordSize w) { return REMOTE_PORT; }
    public static long offsetOfLocalPort(WordSize w) { return LOCAL_PORT; }

    public static int remoteDom(MemorySegment seg) { return getU16(seg, REMOTE_DOM); }
    public static void setRemoteDom(MemorySegment seg, int value) { setU16(seg, REMOTE_DOM, value); }
    public static int remotePort(MemorySegment seg) { return getU32(seg, REMOTE_PORT); }
    public static void setRemotePort(MemorySegment seg, int value) { setU32(seg, REMOTE_PORT, value); }
    public static int localPort(MemorySegment seg) { return getU32(seg, LOCAL_PORT); }
    public static void setLocalPort(MemorySegment seg, int value) { setU32(seg, LOCAL_PORT, value); }
}

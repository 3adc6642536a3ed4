package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct evtchn_fifo_control_block} ({@code xen/event_channel.h}): a vCPU's FIFO control
 * block, placed by the guest with {@link EvtchnOp#INIT_CONTROL}. 72 bytes in both forms.
 *
 * <pre>
 *  0 ready        u32       bit q set: queue q (priority q) may be non-empty
 *  4 _rsvd        u32
 *  8 head[16]     u32 each  the first port of each priority's queue
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class EvtchnFifoControlBlock {
    private EvtchnFifoControlBlock() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U32.withName("ready"),
                U32.withName("_rsvd"),
                MemoryLayout.sequenceLayout(EvtchnFifo.MAX_QUEUES, U32).withName("head"))
                .withName("evtchn_fifo_control_block");
    }

    private static final long READY = CTypes.offset(L64, "ready");
    private static final long RSVD = CTypes.offset(L64, "_rsvd");
    private static final long HEAD = CTypes.offset(L64, "head");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 72 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfReady(WordSize w) { return READY; }
    public static long offsetOfRsvd(WordSize w) { return RSVD; }
    /** The offset of {@code head[priority]}. */
    public static long offsetOfHead(WordSize w, int priority) {
        return HEAD + 4L * java.util.Objects.checkIndex(priority, EvtchnFifo.MAX_QUEUES);
    }

    public static int ready(MemorySegment seg) { return getU32(seg, READY); }
    public static void setReady(MemorySegment seg, int value) { setU32(seg, READY, value); }
    public static int head(MemorySegment seg, int priority) { return getU32(seg, offsetOfHead(WordSize.BITS_64, priority)); }
    public static void setHead(MemorySegment seg, int priority, int value) {
        setU32(seg, offsetOfHead(WordSize.BITS_64, priority), value);
    }
}

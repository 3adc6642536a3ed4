package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct sched_shutdown} ({@code xen/sched.h}): the argument of {@link SchedOp#SHUTDOWN}: the {@link ShutdownReason}.
 * 4 bytes, the same in both guest forms.
 *
 * <pre>
 *  0 reason       u32
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class SchedShutdown {
    private SchedShutdown() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U32.withName("reason")).withName("sched_shutdown");
    }

    private static final long REASON = CTypes.offset(L64, "reason");

    /** The layout of the given guest form (the forms differ at most in alignment). */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 4 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfReason(WordSize w) { return REASON; }

    public static int reason(MemorySegment seg) { return getU32(seg, REASON); }
    public static void setReason(MemorySegment seg, int value) { setU32(seg, REASON, value); }
}

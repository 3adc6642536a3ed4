package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct vcpu_set_singleshot_timer} ({@code xen/vcpu.h}): the argument of
 * {@link VcpuOp#SET_SINGLESHOT_TIMER}.
 *
 * <pre>
 * 64-bit guest (16 bytes)        32-bit guest (12 bytes)
 *  0 timeout_abs_ns u64           0 timeout_abs_ns u64
 *  8 flags          u32           8 flags          u32
 * 12 (tail padding)
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class VcpuSetSingleshotTimer {
    private VcpuSetSingleshotTimer() {
    }

    private static final StructLayout L64 = MemoryLayout.structLayout(
            U64_ALIGN8.withName("timeout_abs_ns"),
            U32.withName("flags"),
            MemoryLayout.paddingLayout(4)).withName("vcpu_set_singleshot_timer");
    private static final StructLayout L32 = MemoryLayout.structLayout(
            U64_ALIGN4.withName("timeout_abs_ns"),
            U32.withName("flags")).withName("vcpu_set_singleshot_timer");

    private static final long TIMEOUT = CTypes.offset(L64, "timeout_abs_ns");
    private static final long FLAGS = CTypes.offset(L64, "flags");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 16 for a 64-bit guest, 12 for a 32-bit one. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfTimeoutAbsNs(WordSize w) { return TIMEOUT; }
    public static long offsetOfFlags(WordSize w) { return FLAGS; }

    public static long timeoutAbsNs(MemorySegment seg) { return getU64(seg, TIMEOUT); }
    public static void setTimeoutAbsNs(MemorySegment seg, long value) { setU64(seg, TIMEOUT, value); }

    /** {@code flags}: {@link VcpuOp#VCPU_SSHOTTMR_FUTURE} or 0. */
    public static int flags(MemorySegment seg) { return getU32(seg, FLAGS); }
    public static void setFlags(MemorySegment seg, int value) { setU32(seg, FLAGS, value); }
}

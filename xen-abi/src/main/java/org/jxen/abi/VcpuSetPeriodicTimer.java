package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct vcpu_set_periodic_timer} ({@code xen/vcpu.h}): the argument of
 * {@link VcpuOp#SET_PERIODIC_TIMER}, one {@code uint64_t period_ns} at offset 0; 8 bytes in both
 * forms. Stateless, safe from any thread.
 */
public final class VcpuSetPeriodicTimer {
    private VcpuSetPeriodicTimer() {
    }

    private static final StructLayout L64 = MemoryLayout.structLayout(
            U64_ALIGN8.withName("period_ns")).withName("vcpu_set_periodic_timer");
    private static final StructLayout L32 = MemoryLayout.structLayout(
            U64_ALIGN4.withName("period_ns")).withName("vcpu_set_periodic_timer");

    private static final long PERIOD = CTypes.offset(L64, "period_ns");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 8 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfPeriodNs(WordSize w) { return PERIOD; }

    public static long periodNs(MemorySegment seg) { return getU64(seg, PERIOD); }
    public static void setPeriodNs(MemorySegment seg, long value) { setU64(seg, PERIOD, value); }
}

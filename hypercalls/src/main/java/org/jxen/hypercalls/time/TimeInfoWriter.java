package org.jxen.hypercalls.time;

import java.lang.invoke.VarHandle;
import org.jxen.abi.PvClock;
import org.jxen.abi.VcpuTimeInfo;
import org.jxen.abi.WordSize;
import org.jxen.gpc.MappedArea;

/**
 * Writes a {@code vcpu_time_info} (the pvclock, 32 bytes, the same layout for both word sizes) into
 * a locked guest area, with Xen's version protocol:
 * <pre>
 *   version = (version + 1) | 1     odd: the guest retries
 *   ---- release fence ----
 *   tsc_timestamp, system_time, tsc_to_system_mul, tsc_shift, flags
 *   ---- release fence ----
 *   version = version + 1           even (2 rather than 0 when it wraps)
 * </pre>
 * The guest-owned {@link PvClock#GUEST_STOPPED} flag is kept; {@link PvClock#TSC_STABLE} is set
 * when asked. The guest computes {@code system_time + scale(tsc - tsc_timestamp)} ({@link TscScale}).
 *
 * <p>Where the pvclock lives: {@code vcpu_info.time} (offset 32 of the vCPU's vcpu_info, through
 * its cache) and, when registered, the separate area of {@code VCPUOP_register_vcpu_time_memory_area}
 * ({@link VcpuTimeArea}).
 *
 * <p>Threads: stateless. {@link #write} on one thread at a time per pvclock (the vCPU's thread, or
 * any thread while it is stopped), inside the cache's {@code lock()..unlock()}; {@link #read} from
 * any thread, as the guest reads. The version is written with release ordering when it is naturally
 * aligned (it always is in a real guest), else with a plain write after a release fence.
 */
public final class TimeInfoWriter {
    private TimeInfoWriter() {
    }

    /** Size of the structure: 32 bytes. */
    public static final long SIZE = VcpuTimeInfo.sizeof(WordSize.BITS_64);

    private static final long VERSION = VcpuTimeInfo.offsetOfVersion(WordSize.BITS_64);
    private static final long TSC_TIMESTAMP = VcpuTimeInfo.offsetOfTscTimestamp(WordSize.BITS_64);
    private static final long SYSTEM_TIME = VcpuTimeInfo.offsetOfSystemTime(WordSize.BITS_64);
    private static final long MUL = VcpuTimeInfo.offsetOfTscToSystemMul(WordSize.BITS_64);
    private static final long SHIFT = VcpuTimeInfo.offsetOfTscShift(WordSize.BITS_64);
    private static final long FLAGS = VcpuTimeInfo.offsetOfFlags(WordSize.BITS_64);

    /**
     * Publishes one pvclock sample at {@code offset} in {@code area}.
     *
     * @param tscTimestamp the guest's TSC at the sample
     * @param systemTime   Xen system time (ns) at the sample
     * @param scale        the guest TSC's scale ({@link TscScale#forFrequency})
     * @param tscStable    set {@link PvClock#TSC_STABLE}
     * @param guestStopped also set {@link PvClock#GUEST_STOPPED} (the host paused the guest); a
     *                     set bit is always kept, since only the guest clears it
     * @return the version now in the structure (even)
     */
    public static int write(MappedArea area, long offset, long tscTimestamp, long systemTime, TscScale scale,
            boolean tscStable, boolean guestStopped) {
        int version = (area.getInt(offset + VERSION) + 1) | 1;
        putIntRelease(area, offset + VERSION, version);
        VarHandle.storeStoreFence();
        int kept = area.getByte(offset + FLAGS) & PvClock.GUEST_STOPPED;
        int flags = kept | (tscStable ? PvClock.TSC_STABLE : 0) | (guestStopped ? PvClock.GUEST_STOPPED : 0);
        area.putLong(offset + TSC_TIMESTAMP, tscTimestamp);
        area.putLong(offset + SYSTEM_TIME, systemTime);
        area.putInt(offset + MUL, scale.mul());
        area.putByte(offset + SHIFT, (byte) scale.shift());
        area.putByte(offset + FLAGS, (byte) flags);
        int end = nextEven(version);
        putIntRelease(area, offset + VERSION, end);
        return end;
    }

    /** The even version after odd {@code version}: {@code version + 1}, or 2 where that wraps to 0. */
    static int nextEven(int version) {
        int end = version + 1;
        return end == 0 ? 2 : end;
    }

    /** One consistent read of a pvclock, as the guest makes it. */
    public record Snapshot(int version, long tscTimestamp, long systemTime, int mul, int shift, int flags) {
        /** The guest's clock at {@code tsc}: {@code system_time + scale(tsc - tsc_timestamp)}. */
        public long systemTimeAt(long tsc) {
            return systemTime + TscScale.scale(tsc - tscTimestamp, mul, shift);
        }
    }

    /**
     * Reads the pvclock at {@code offset} following the guest's protocol: retries while the version
     * is odd or changes across the read. Spins at most {@code maxAttempts} times.
     *
     * @return the snapshot, or null when no consistent read was possible in that many attempts
     */
    public static Snapshot read(MappedArea area, long offset, int maxAttempts) {
        for (int i = 0; i < maxAttempts; i++) {
            int v1 = getIntAcquire(area, offset + VERSION);
            if ((v1 & 1) != 0) {
                Thread.onSpinWait();
                continue;
            }
            long tsc = area.getLong(offset + TSC_TIMESTAMP);
            long sys = area.getLong(offset + SYSTEM_TIME);
            int mul = area.getInt(offset + MUL);
            int shift = area.getByte(offset + SHIFT);
            int flags = area.getByte(offset + FLAGS) & 0xff;
            VarHandle.loadLoadFence();
            int v2 = area.getInt(offset + VERSION);
            if (v1 == v2) {
                return new Snapshot(v1, tsc, sys, mul, shift, flags);
            }
        }
        return null;
    }

    static void putIntRelease(MappedArea area, long offset, int value) {
        if (((area.gpa() + offset) & 3) == 0) {
            area.putIntRelease(offset, value);
        } else {
            VarHandle.releaseFence();
            area.putInt(offset, value);
        }
    }

    static int getIntAcquire(MappedArea area, long offset) {
        if (((area.gpa() + offset) & 3) == 0) {
            return area.getIntAcquire(offset);
        }
        int v = area.getInt(offset);
        VarHandle.acquireFence();
        return v;
    }
}

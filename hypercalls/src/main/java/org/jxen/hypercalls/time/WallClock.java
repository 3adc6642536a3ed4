package org.jxen.hypercalls.time;

import java.lang.invoke.VarHandle;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.WordSize;
import org.jxen.gpc.MappedArea;

/**
 * The wall clock in {@code shared_info}: the real time (seconds and nanoseconds since the Unix
 * epoch) at Xen system time 0, so that the guest's time of day is {@code wc + system_time}.
 * Written with Xen's protocol:
 * <pre>
 *   wc_version = (wc_version + 1) | 1
 *   ---- release fence ----
 *   wc_nsec, wc_sec (low 32 bits), wc_sec_hi (high 32 bits; arch.wc_sec_hi for a 32-bit guest)
 *   ---- release fence ----
 *   wc_version += 1                           even (2 rather than 0 when it wraps)
 * </pre>
 *
 * <p>Threads: stateless; one writer at a time per shared_info (the domain serialises wall-clock
 * updates), inside the shared_info cache's {@code lock()..unlock()}. {@code area} is the
 * shared_info page's view (offset 0 = the start of shared_info).
 */
public final class WallClock {
    private WallClock() {
    }

    private static final long NANOS_PER_SEC = 1_000_000_000L;

    /**
     * Writes the wall clock.
     *
     * @return the new {@code wc_version} (even, non-zero)
     * @throws IllegalArgumentException when {@code nsec} is not in [0, 10^9)
     */
    public static int write(MappedArea si, WordSize w, long epochSec, int nsec) {
        if (nsec < 0 || nsec >= NANOS_PER_SEC) {
            throw new IllegalArgumentException("wc_nsec out of range: " + nsec);
        }
        long versionAt = SharedInfo.offsetOfWcVersion(w);
        int version = (si.getInt(versionAt) + 1) | 1;
        TimeInfoWriter.putIntRelease(si, versionAt, version);
        VarHandle.storeStoreFence();
        si.putInt(SharedInfo.offsetOfWcNsec(w), nsec);
        si.putInt(SharedInfo.offsetOfWcSec(w), (int) epochSec);
        si.putInt(SharedInfo.offsetOfWcSecHi(w), (int) (epochSec >>> 32));
        int end = TimeInfoWriter.nextEven(version);
        TimeInfoWriter.putIntRelease(si, versionAt, end);
        return end;
    }

    /**
     * Writes the boot time: the wall clock at system time 0, from a sample of both clocks taken
     * together ({@code realtimeNanos} since the epoch at {@code systemTimeNanos}).
     */
    public static int writeBootTime(MappedArea si, WordSize w, long realtimeNanos, long systemTimeNanos) {
        long boot = realtimeNanos - systemTimeNanos;
        return write(si, w, Math.floorDiv(boot, NANOS_PER_SEC), (int) Math.floorMod(boot, NANOS_PER_SEC));
    }

    /** The wall clock as the guest reads it, or null if no consistent read in {@code maxAttempts}. */
    public record Reading(int version, long epochSec, int nsec) {
    }

    /** Reads the wall clock with the guest's protocol (retry while the version is odd or changes). */
    public static Reading read(MappedArea si, WordSize w, int maxAttempts) {
        long versionAt = SharedInfo.offsetOfWcVersion(w);
        for (int i = 0; i < maxAttempts; i++) {
            int v1 = TimeInfoWriter.getIntAcquire(si, versionAt);
            if ((v1 & 1) != 0) {
                Thread.onSpinWait();
                continue;
            }
            int nsec = si.getInt(SharedInfo.offsetOfWcNsec(w));
            long sec = (si.getInt(SharedInfo.offsetOfWcSec(w)) & 0xffff_ffffL)
                    | ((long) si.getInt(SharedInfo.offsetOfWcSecHi(w)) << 32);
            VarHandle.loadLoadFence();
            if (si.getInt(versionAt) == v1) {
                return new Reading(v1, sec, nsec);
            }
        }
        return null;
    }
}

package org.jxen.hypercalls.time;

/**
 * Xen's time calibration for the pvclock: keeps the guest's TSC-based computation of system time
 * ({@code system_time + scale(tsc - tsc_timestamp)}) on the platform's monotonic clock, which is
 * what every other user of Xen system time reads ({@code HVMOP_get_time}, timer deadlines,
 * runstate times, the wall clock's origin).
 *
 * <p>Each {@link #calibrate} takes a fresh {@link GuestTsc.Sample} {@code (tsc, ns)} and publishes a
 * new {@link Reference}:
 * <pre>
 *   predicted = previous reference's system time at tsc      (what the guest computes now)
 *   error     = predicted - ns                                (positive: the guest runs ahead)
 *   reference = (tsc, predicted, scale)                       continuous: no jump at tsc
 *   scale     = (interval - correction) ns per (ticks in the interval)
 *               correction = error, limited to MAX_SLEW_PPM of the interval
 * </pre>
 * where the interval is the time and the tick count since the previous sample. So the guest's clock
 * never jumps at an update and never runs backwards: it is slewed, as NTP slews, to meet the host's
 * clock at the next calibration. Only a guest clock that lags by more than {@link #STEP_NANOS} is
 * stepped forward (to the host's time, keeping the previous rate, since an interval in which the
 * host's clock moved against the counter does not measure the counter's rate). A guest clock that is
 * ahead is never stepped back; it is
 * slewed at the most {@link #MAX_SLEW_PPM} allows. The first reference uses the nominal frequency.
 * Samples less than {@link #MIN_INTERVAL_NANOS} after the previous one carry no useful rate and
 * leave the reference as it is; a counter that went backwards starts the calibration afresh.
 *
 * <p>Threads: {@link #calibrate} from any thread, serialised by this object's monitor (the
 * domain's scheduler thread calls it once a second); {@link #reference()} from any thread: the
 * reference is immutable and published through a volatile field.
 */
public final class TimeCalibration {
    /** The largest rate correction: 500 parts per million (NTP's bound). */
    public static final long MAX_SLEW_PPM = 500;
    /** A guest clock that lags by more than this is stepped forward instead of slewed: 1 ms. */
    public static final long STEP_NANOS = 1_000_000L;
    /** Samples closer together carry too little rate information: 10 ms. */
    public static final long MIN_INTERVAL_NANOS = 10_000_000L;
    /** Fewer ticks than this in an interval cannot give a scale (see {@link TscScale#forRatio}). */
    private static final long MIN_TICKS = 1000;

    /**
     * The pvclock parameters, in the reference counter's terms (add a vCPU's offset to
     * {@code tscTimestamp}).
     */
    public record Reference(long tscTimestamp, long systemTime, TscScale scale) {
        /** System time as the guest computes it at reference counter value {@code tsc}. */
        public long systemTimeAt(long tsc) {
            return systemTime + scale.scale(tsc - tscTimestamp);
        }
    }

    /** What one calibration did. */
    public enum Outcome {
        /** The first sample: the reference is the sample with the nominal scale. */
        FIRST,
        /** Continuous with the previous reference, rate corrected. */
        SLEWED,
        /** The guest lagged by more than {@link #STEP_NANOS}: system time set to the host's. */
        STEPPED,
        /** Too close to the previous sample: nothing changed. */
        UNCHANGED,
        /** The counter went backwards: started afresh from the sample. */
        RESET
    }

    /**
     * The result of one calibration.
     *
     * @param reference the reference now in force
     * @param errorNanos the guest's clock minus the host's at the sample, before this calibration
     *                   (0 for {@link Outcome#FIRST} and {@link Outcome#RESET})
     * @param outcome    what was done
     */
    public record Result(Reference reference, long errorNanos, Outcome outcome) {
    }

    private final TscScale nominal;
    private volatile Reference reference;
    private GuestTsc.Sample last;
    private volatile long lastErrorNanos;

    /** A calibration for a counter of nominal frequency {@code frequencyKhz}. */
    public TimeCalibration(long frequencyKhz) {
        if (frequencyKhz <= 0 || frequencyKhz > Long.MAX_VALUE / 1000) {
            throw new IllegalArgumentException("TSC frequency out of range: " + frequencyKhz + " kHz");
        }
        this.nominal = TscScale.forFrequency(frequencyKhz * 1000);
    }

    /** The scale of the nominal frequency. */
    public TscScale nominalScale() {
        return nominal;
    }

    /** The reference now in force, or null before the first {@link #calibrate}. */
    public Reference reference() {
        return reference;
    }

    /** The guest's clock minus the host's at the last calibration that measured it. */
    public long lastErrorNanos() {
        return lastErrorNanos;
    }

    /** Takes one sample into account and publishes the new reference. */
    public synchronized Result calibrate(GuestTsc.Sample s) {
        Reference ref = reference;
        if (ref == null) {
            return publish(new Reference(s.tsc(), s.monotonicNanos(), nominal), s, 0, Outcome.FIRST);
        }
        long interval = s.monotonicNanos() - last.monotonicNanos();
        long ticks = s.tsc() - last.tsc();
        if (ticks < 0) {
            return publish(new Reference(s.tsc(), s.monotonicNanos(), nominal), s, 0, Outcome.RESET);
        }
        if (interval < MIN_INTERVAL_NANOS || ticks < MIN_TICKS) {
            return new Result(ref, lastErrorNanos, Outcome.UNCHANGED);
        }
        long predicted = ref.systemTimeAt(s.tsc());
        long error = predicted - s.monotonicNanos();
        lastErrorNanos = error;
        if (error < -STEP_NANOS) {
            // the host's clock moved against the counter: this interval's rate is not the counter's,
            // keep the previous one
            return publish(new Reference(s.tsc(), s.monotonicNanos(), ref.scale()), s, error, Outcome.STEPPED);
        }
        long limit = Math.max(1, interval / 1_000_000 * MAX_SLEW_PPM);
        long correction = Math.clamp(error, -limit, limit);
        TscScale scale = TscScale.forRatio(interval - correction, ticks);
        return publish(new Reference(s.tsc(), predicted, scale), s, error, Outcome.SLEWED);
    }

    private Result publish(Reference r, GuestTsc.Sample s, long error, Outcome outcome) {
        last = s;
        reference = r;
        return new Result(r, error, outcome);
    }
}

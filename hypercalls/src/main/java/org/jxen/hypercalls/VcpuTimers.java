package org.jxen.hypercalls;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.abi.Virq;
import org.jxen.abi.XenErrno;

/**
 * One vCPU's Xen timers: the single-shot timer (shared by {@code set_timer_op} and
 * {@code VCPUOP_set_singleshot_timer}, as in Xen) and the periodic timer. Both raise
 * {@code VIRQ_TIMER} on the vCPU when they fire, on the domain's scheduler thread. Deadlines are
 * absolute Xen system time (the platform's monotonic nanoseconds), kept as plain values so that they
 * can be saved and restored.
 *
 * <p>Threads: set and stop from the vCPU's thread; firing on the scheduler thread; the deadline
 * getters from any thread. Guarded by this object's monitor.
 */
public final class VcpuTimers {
    /** Xen's bound for plausible deadlines: 2^50 ns (about 13 days) ahead. */
    static final long FAR_FUTURE_NS = 1L << 50;
    /** What Xen does with an implausible deadline: fire 100 ms from now. */
    static final long FAR_FUTURE_FALLBACK_NS = 100_000_000L;
    /** The shortest periodic timer Xen accepts: 1 ms. */
    static final long MIN_PERIOD_NS = 1_000_000L;

    private final XenDomain domain;
    private final int vcpu;
    private final ScheduledExecutorService scheduler;
    private ScheduledFuture<?> singleShot;
    private long singleShotDeadline;
    private ScheduledFuture<?> periodic;
    private long periodNs;
    /** The periodic timer's first deadline; it fires at this plus whole periods. */
    private long periodicBase;

    VcpuTimers(XenDomain domain, int vcpu, ScheduledExecutorService scheduler) {
        this.domain = domain;
        this.vcpu = vcpu;
        this.scheduler = scheduler;
    }

    /**
     * {@code set_timer_op(deadline)}: 0 stops the single-shot timer. A deadline more than 2^50 ns
     * ahead, which Linux produces when its jiffies arithmetic wraps, fires 100 ms from now instead
     * (Xen's behaviour); a deadline in the past fires at once.
     */
    synchronized long setTimerOp(long deadline) {
        if (deadline == 0) {
            stopSingleShot();
            return 0;
        }
        long now = domain.systemTime();
        long offset = deadline - now;
        if (offset > 0 && (offset >>> 50) != 0) {
            deadline = now + FAR_FUTURE_FALLBACK_NS;
        }
        armSingleShot(deadline, now);
        return 0;
    }

    /** VCPUOP_set_singleshot_timer: with {@code future}, a deadline already past is {@code -ETIME}. */
    synchronized long setSingleShot(long deadline, boolean future) {
        long now = domain.systemTime();
        if (future && deadline < now) {
            return -XenErrno.ETIME;
        }
        armSingleShot(deadline, now);
        return 0;
    }

    synchronized long stopSingleShot() {
        if (singleShot != null) {
            singleShot.cancel(false);
            singleShot = null;
        }
        singleShotDeadline = 0;
        return 0;
    }

    /** VCPUOP_set_periodic_timer: period in ns, at least 1 ms. */
    synchronized long setPeriodic(long period) {
        if (period < MIN_PERIOD_NS) {
            return -XenErrno.EINVAL;
        }
        stopPeriodic();
        armPeriodic(period, domain.systemTime() + period);
        return 0;
    }

    /** Runs the periodic timer every {@code period} ns from the absolute {@code firstDeadline}. */
    private void armPeriodic(long period, long firstDeadline) {
        periodNs = period;
        periodicBase = firstDeadline;
        long delay = Math.max(0, firstDeadline - domain.systemTime());
        periodic = scheduler.scheduleAtFixedRate(this::firePeriodic, delay, period, TimeUnit.NANOSECONDS);
    }

    /**
     * The next deadline of the periodic timer in Xen system time, or 0 when it is stopped: the first
     * deadline plus whole periods, the earliest not yet past.
     */
    public synchronized long periodicNextDeadline() {
        if (periodNs == 0) {
            return 0;
        }
        long now = domain.systemTime();
        if (now < periodicBase) {
            return periodicBase;
        }
        return periodicBase + ((now - periodicBase) / periodNs + 1) * periodNs;
    }

    /**
     * Stops both timers from firing but keeps their deadlines and period, so that a capture of the
     * state holds timers that have not fired (for save: freeze, capture, close).
     */
    synchronized void freeze() {
        if (singleShot != null) {
            singleShot.cancel(false);
            singleShot = null;
        }
        if (periodic != null) {
            periodic.cancel(false);
            periodic = null;
        }
    }

    /**
     * Puts timers back from captured values (absolute deadlines in Xen system time): a single-shot
     * deadline (0: none) and a period with its next deadline (0: none). A deadline already past
     * fires at once, as a timer set in the past does.
     */
    synchronized void restore(long singleShotAt, long period, long periodicAt) {
        stopSingleShot();
        stopPeriodic();
        if (singleShotAt != 0) {
            armSingleShot(singleShotAt, domain.systemTime());
        }
        if (period != 0) {
            armPeriodic(period, periodicAt != 0 ? periodicAt : domain.systemTime() + period);
        }
    }

    synchronized long stopPeriodic() {
        if (periodic != null) {
            periodic.cancel(false);
            periodic = null;
        }
        periodNs = 0;
        return 0;
    }

    /** The armed single-shot deadline (Xen system time), or 0. */
    public synchronized long singleShotDeadline() {
        return singleShotDeadline;
    }

    /** The periodic timer's period in ns, or 0. */
    public synchronized long periodNs() {
        return periodNs;
    }

    private void armSingleShot(long deadline, long now) {
        if (singleShot != null) {
            singleShot.cancel(false);
        }
        singleShotDeadline = deadline;
        long delay = Math.max(0, deadline - now);
        final long armed = deadline;
        singleShot = scheduler.schedule(() -> fireSingleShot(armed), delay, TimeUnit.NANOSECONDS);
    }

    private void fireSingleShot(long armed) {
        synchronized (this) {
            if (singleShotDeadline != armed) {
                return; // re-armed or stopped meanwhile
            }
            long now = domain.systemTime();
            if (now < armed) { // the scheduler's clock ran early: never fire before the deadline
                singleShot = scheduler.schedule(() -> fireSingleShot(armed), armed - now, TimeUnit.NANOSECONDS);
                return;
            }
            singleShotDeadline = 0;
            singleShot = null;
        }
        domain.stats().timerFired(vcpu, false);
        domain.raiseVirq(vcpu, Virq.TIMER);
    }

    private void firePeriodic() {
        domain.stats().timerFired(vcpu, true);
        domain.raiseVirq(vcpu, Virq.TIMER);
    }
}

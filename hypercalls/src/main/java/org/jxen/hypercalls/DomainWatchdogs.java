package org.jxen.hypercalls;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.abi.ShutdownReason;
import org.jxen.abi.XenErrno;

/**
 * The domain's {@code SCHEDOP_watchdog} timers: a guest arms one with a timeout in seconds and must
 * re-arm it before it expires, or the domain shuts down with {@code SHUTDOWN_watchdog}. Two per
 * domain, as in Xen; ids are 1 and 2.
 *
 * <p>Threads: {@link #op} from vCPU threads; expiry on the domain's scheduler thread. Guarded by
 * this object's monitor. Deadlines are kept as plain values (timeout in seconds per slot).
 */
final class DomainWatchdogs {
    static final int SLOTS = 2;

    private final XenDomain domain;
    private final ScheduledExecutorService scheduler;
    private final ScheduledFuture<?>[] timers = new ScheduledFuture<?>[SLOTS];
    private final long[] timeouts = new long[SLOTS];
    private final boolean[] inUse = new boolean[SLOTS];

    DomainWatchdogs(XenDomain domain, ScheduledExecutorService scheduler) {
        this.domain = domain;
        this.scheduler = scheduler;
    }

    /**
     * id 0: takes a free watchdog, arms it and returns its id ({@code -ENOSPC} when both are taken);
     * id 1 or 2: re-arms it, or with timeout 0 releases it ({@code -EINVAL} for an id not in use).
     */
    synchronized long op(int id, long timeoutSeconds) {
        if (id == 0) {
            for (int i = 0; i < SLOTS; i++) {
                if (!inUse[i]) {
                    inUse[i] = true;
                    arm(i, timeoutSeconds);
                    return i + 1;
                }
            }
            return -XenErrno.ENOSPC;
        }
        int i = id - 1;
        if (id < 0 || i >= SLOTS || !inUse[i]) {
            return -XenErrno.EINVAL;
        }
        if (timeoutSeconds == 0) {
            cancel(i);
            inUse[i] = false;
            return 0;
        }
        arm(i, timeoutSeconds);
        return 0;
    }

    private void arm(int i, long timeoutSeconds) {
        cancel(i);
        timeouts[i] = timeoutSeconds;
        if (timeoutSeconds > 0) {
            timers[i] = scheduler.schedule(() -> expire(i), timeoutSeconds, TimeUnit.SECONDS);
        }
    }

    private void cancel(int i) {
        if (timers[i] != null) {
            timers[i].cancel(false);
            timers[i] = null;
        }
    }

    private void expire(int i) {
        synchronized (this) {
            if (!inUse[i] || timers[i] == null || timers[i].getDelay(TimeUnit.NANOSECONDS) > 0) {
                return; // re-armed or released meanwhile
            }
            timers[i] = null;
        }
        domain.shutdown(-1, ShutdownReason.WATCHDOG);
    }

    /** The armed timeout of watchdog {@code id} (1 or 2) in seconds, or -1 when it is not in use. */
    synchronized long timeout(int id) {
        return id >= 1 && id <= SLOTS && inUse[id - 1] ? timeouts[id - 1] : -1;
    }

    /** Takes watchdog {@code id} (1 or 2) again with {@code timeoutSeconds}, restarting its count. */
    synchronized void restore(int id, long timeoutSeconds) {
        inUse[id - 1] = true;
        arm(id - 1, timeoutSeconds);
    }

    /** Stops the watchdogs from expiring, keeping which are in use and their timeouts. */
    synchronized void freeze() {
        for (int i = 0; i < SLOTS; i++) {
            cancel(i);
        }
    }

    synchronized void cancelAll() {
        for (int i = 0; i < SLOTS; i++) {
            cancel(i);
        }
    }
}

package org.jxen.hypercalls;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import org.jxen.abi.VcpuInfo;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.MappedArea;
import org.jxen.hypercalls.mm.GuestVirtualMemory;
import org.jxen.hypercalls.time.GuestTsc;
import org.jxen.hypercalls.time.TimeCalibration;
import org.jxen.hypercalls.time.TimeInfoWriter;
import org.jxen.hypercalls.time.VcpuTimeArea;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pvclocks of a domain's vCPUs: {@code vcpu_info.time} (in shared_info or where
 * {@code VCPUOP_register_vcpu_info} put it) and the secondary copy of
 * {@code VCPUOP_register_vcpu_time_memory_area}, written from one {@link TimeCalibration} of the
 * platform's {@link GuestTsc}.
 *
 * <p>When they are written, as in Xen: at once when a vCPU's vcpu_info becomes reachable
 * (shared_info mapped, vcpu_info registered) or its time area is registered, on the calling vCPU's
 * thread, so the guest can read its clock when the hypercall returns; and every
 * {@link #CALIBRATION_PERIOD_NANOS} (Xen's one-second calibration epoch) on the domain's scheduler
 * thread, after a new calibration. The scheduler never waits for a vCPU: it uses {@code tryLock()}
 * on the caches and on each vCPU's writer lock, and retries a vCPU it could not update
 * {@link #RETRY_DELAY_NANOS} later (then with a refreshing {@code lock()}), up to
 * {@link #MAX_RETRIES} times per period. The same tick re-writes the wall clock in shared_info when
 * the host's real-time clock was stepped.
 *
 * <p>Without a guest TSC ({@link XenPlatform#guestTsc()} null) nothing is written.
 *
 * <p>Threads: {@link #updateNow}, {@link #updateAllNow} and {@link #registerTimeArea} on vCPU threads
 * (in hypercalls); {@link #tick} on the scheduler thread (tests may call it from theirs). Each vCPU's
 * pvclocks have one writer at a time, its {@link ReentrantLock}; the writer reads the newest
 * reference inside that lock, so a later write never carries an older reference.
 */
final class Pvclocks {
    private static final Logger LOG = LoggerFactory.getLogger(Pvclocks.class);
    /** Xen's calibration epoch: one second. */
    static final long CALIBRATION_PERIOD_NANOS = 1_000_000_000L;
    /** How soon a vCPU that could not be updated is tried again. */
    static final long RETRY_DELAY_NANOS = 10_000_000L;
    /** Retries per calibration period before waiting for the next period. */
    static final int MAX_RETRIES = 10;
    /** The real-time clock moved against the monotonic one by more than this: re-write the wall clock. */
    static final long WALL_CLOCK_RESYNC_NANOS = 1_000_000L;
    /** {@code vcpu_info.time}: the same offset for both word sizes. */
    private static final long TIME_IN_VCPU_INFO = VcpuInfo.offsetOfTime(WordSize.BITS_64);

    private final XenDomain domain;
    private final GuestTsc tsc;
    private final TimeCalibration calibration;
    private final ScheduledExecutorService scheduler;
    private final VcpuTimeArea[] timeAreas;
    private final ReentrantLock[] writers;
    /** 1 where the last update of the vCPU failed and must be retried. */
    private final AtomicIntegerArray stale;
    private final AtomicInteger retriesLeft = new AtomicInteger();
    private final AtomicBoolean retryScheduled = new AtomicBoolean();
    private final LongAdder writes = new LongAdder();
    private final LongAdder missed = new LongAdder();

    Pvclocks(XenDomain domain, XenPlatform platform, ScheduledExecutorService scheduler, int vcpus) {
        this.domain = domain;
        this.tsc = platform.guestTsc();
        this.scheduler = scheduler;
        this.timeAreas = new VcpuTimeArea[vcpus];
        this.writers = new ReentrantLock[vcpus];
        for (int i = 0; i < vcpus; i++) {
            timeAreas[i] = new VcpuTimeArea(platform.memory(), "vcpu" + i);
            writers[i] = new ReentrantLock();
        }
        this.stale = new AtomicIntegerArray(vcpus);
        this.calibration = tsc == null ? null : new TimeCalibration(tsc.frequencyKhz());
        if (calibration != null) {
            calibration.calibrate(tsc.sample()); // the first reference, before any hypercall needs it
        }
    }

    /** Starts the periodic calibration on the scheduler; nothing without a guest TSC. */
    void start() {
        if (calibration != null) {
            scheduler.scheduleAtFixedRate(this::tick, CALIBRATION_PERIOD_NANOS, CALIBRATION_PERIOD_NANOS,
                    TimeUnit.NANOSECONDS);
        }
    }

    /** True when pvclocks are written (the platform has a guest TSC). */
    boolean available() {
        return calibration != null;
    }

    /** The calibration, or null without a guest TSC. */
    TimeCalibration calibration() {
        return calibration;
    }

    /** Pvclock writes made (each vcpu_info.time or time area counts once). */
    long writes() {
        return writes.sum();
    }

    /** Updates given up for a retry because a lock or cache was not available. */
    long missedUpdates() {
        return missed.sum();
    }

    /**
     * One calibration period: a new calibration, every vCPU's pvclocks updated without waiting, and
     * the wall clock re-synchronised if the host's real-time clock was stepped. Never throws (an
     * exception would end the periodic task). Serialised, so that a sample is never calibrated
     * after a later one.
     */
    synchronized void tick() {
        try {
            calibration.calibrate(tsc.sample());
            for (int i = 0; i < writers.length; i++) {
                markStale(i, !update(i, false, false));
            }
            domain.resyncWallClock(WALL_CLOCK_RESYNC_NANOS);
            retriesLeft.set(MAX_RETRIES);
            scheduleRetryIfStale();
        } catch (RuntimeException e) {
            LOG.warn("pvclock calibration failed; next period retries", e);
        }
    }

    /** vCPU thread: writes vCPU {@code vcpuId}'s pvclocks now (its vcpu_info became reachable). */
    void updateNow(int vcpuId) {
        if (calibration != null) {
            markStale(vcpuId, !update(vcpuId, true, true));
            retriesLeft.set(MAX_RETRIES);
            scheduleRetryIfStale();
        }
    }

    /** vCPU thread: writes every vCPU's pvclocks now (shared_info was mapped). */
    void updateAllNow() {
        if (calibration != null) {
            for (int i = 0; i < writers.length; i++) {
                markStale(i, !update(i, true, true));
            }
            retriesLeft.set(MAX_RETRIES);
            scheduleRetryIfStale();
        }
    }

    /**
     * {@code VCPUOP_register_vcpu_time_memory_area} for vCPU {@code vcpuId} at guest-virtual
     * {@code gva} (0 unregisters), translated with the calling vCPU's page tables {@code g} now, as
     * QEMU's emulation does (Xen translates at every update instead). The area is written at once.
     * Returns 0, {@code -EFAULT} when the address is not mapped writable, {@code -EINVAL} when the
     * 32 bytes cross a page.
     */
    int registerTimeArea(GuestVirtualMemory g, int vcpuId, long gva) {
        ReentrantLock w = writers[vcpuId];
        w.lock();
        try {
            int rc = timeAreas[vcpuId].register(g, gva);
            if (rc != 0 || gva == 0) {
                return rc;
            }
        } finally {
            w.unlock();
        }
        updateNow(vcpuId);
        return 0;
    }

    /** The registered time area of vCPU {@code vcpuId} (for tests and the monitor). */
    VcpuTimeArea timeArea(int vcpuId) {
        return timeAreas[vcpuId];
    }

    /** Releases the time areas' caches; after the scheduler stopped. */
    void close() {
        for (VcpuTimeArea a : timeAreas) {
            a.unregister();
        }
    }

    /**
     * Writes vCPU {@code id}'s pvclocks from the newest reference. {@code waitForWriter}: take the
     * vCPU's writer lock even if another thread holds it; {@code refresh}: lock caches with
     * {@code lock()} (may refresh them) rather than {@code tryLock()}. Returns false when something
     * could not be written now.
     */
    private boolean update(int id, boolean waitForWriter, boolean refresh) {
        ReentrantLock w = writers[id];
        if (waitForWriter) {
            w.lock();
        } else if (!w.tryLock()) {
            missed.increment();
            return false; // its writer may hold an older reference: retry
        }
        try {
            TimeCalibration.Reference ref = calibration.reference();
            long tscTimestamp = ref.tscTimestamp() + tsc.offset(id);
            boolean stable = tsc.stable();
            boolean ok = true;
            XenVcpu v = domain.vcpu(id);
            if (v.hasVcpuInfo()) {
                GfnToPfnCache cache = v.vcpuInfoCache();
                long at = v.vcpuInfoOffset() + TIME_IN_VCPU_INFO;
                MappedArea m = refresh ? cache.lock() : cache.tryLock();
                if (m == null) {
                    ok = false;
                } else {
                    try {
                        TimeInfoWriter.write(m, at, tscTimestamp, ref.systemTime(), ref.scale(), stable, false);
                        writes.increment();
                    } finally {
                        cache.unlock();
                    }
                }
            }
            VcpuTimeArea area = timeAreas[id];
            if (area.isRegistered()) {
                if (area.update(tscTimestamp, ref.systemTime(), ref.scale(), stable, refresh)) {
                    writes.increment();
                } else {
                    ok = false;
                }
            }
            if (!ok) {
                missed.increment();
            }
            return ok;
        } finally {
            w.unlock();
        }
    }

    private void markStale(int id, boolean isStale) {
        stale.set(id, isStale ? 1 : 0);
    }

    private void scheduleRetryIfStale() {
        if (!anyStale() || !retryScheduled.compareAndSet(false, true)) {
            return;
        }
        try {
            scheduler.schedule(this::retry, RETRY_DELAY_NANOS, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            retryScheduled.set(false); // the domain is closing
        }
    }

    private void retry() {
        retryScheduled.set(false);
        try {
            if (retriesLeft.getAndDecrement() <= 0) {
                return; // the next period tries again
            }
            for (int i = 0; i < writers.length; i++) {
                if (stale.get(i) != 0) {
                    markStale(i, !update(i, false, true));
                }
            }
            scheduleRetryIfStale();
        } catch (RuntimeException e) {
            LOG.warn("pvclock retry failed", e);
        }
    }

    private boolean anyStale() {
        for (int i = 0; i < stale.length(); i++) {
            if (stale.get(i) != 0) {
                return true;
            }
        }
        return false;
    }
}

package org.jxen.hypercalls.time;

/**
 * The time-stamp counter that the guest reads with {@code rdtsc}, as the platform knows it: its
 * nominal rate, and samples of it paired with the platform's monotonic clock (the source of Xen
 * system time, {@code XenPlatform.monotonicNanos()}).
 *
 * <p>Model: one reference counter (on KVM, the host's TSC) that every vCPU's TSC follows at the
 * same rate, vCPU {@code i} reading {@code reference + offset(i)}. The pvclock of each vCPU is
 * written from one calibration of the reference, so every vCPU computes the same system time at the
 * same instant.
 *
 * <p>Threads: every method from any thread, concurrently. {@link #sample()} must not block for
 * long: the domain calls it on its scheduler thread.
 */
public interface GuestTsc {

    /**
     * One reading of the reference counter and of the monotonic clock, taken as close together as
     * the platform can.
     *
     * @param tsc            the reference TSC
     * @param monotonicNanos the platform's monotonic clock (Xen system time) at the same instant
     */
    record Sample(long tsc, long monotonicNanos) {
    }

    /** The nominal frequency of the guest's TSC in kHz (on KVM: {@code KVM_GET_TSC_KHZ}). */
    long frequencyKhz();

    /** A sample of the reference counter and the monotonic clock. */
    Sample sample();

    /** vCPU {@code vcpuId}'s TSC minus the reference counter (0 where they are the same). */
    long offset(int vcpuId);

    /**
     * True when the counter ticks at a constant rate in every power state and agrees across host
     * CPUs, so that the pvclock may carry {@code XEN_PVCLOCK_TSC_STABLE}.
     */
    boolean stable();
}

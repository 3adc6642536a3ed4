package org.jxen.abi;

/**
 * The {@code flags} bits of {@link VcpuTimeInfo} ({@code XEN_PVCLOCK_*} in {@code xen/xen.h}).
 * {@link #GUEST_STOPPED} belongs to the guest: a host that rewrites the flags keeps it.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class PvClock {
    private PvClock() {
    }

    /** {@code XEN_PVCLOCK_TSC_STABLE_BIT}: the TSC is stable across vCPUs. */
    public static final int TSC_STABLE = 1 << 0;
    /** {@code XEN_PVCLOCK_GUEST_STOPPED}: the guest was paused (set by the host, cleared by the guest). */
    public static final int GUEST_STOPPED = 1 << 1;
}

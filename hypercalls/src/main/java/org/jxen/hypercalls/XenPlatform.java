package org.jxen.hypercalls;

import org.jxen.gpc.GuestMemory;
import org.jxen.hypercalls.mm.PagingState;

/**
 * What the Xen domain needs from the machine it runs on, and nothing more: guest memory, the
 * calling vCPU's paging state (for guest-virtual pointers), upcall delivery, a clock, and the
 * console. The KVM backend implements it over a real VM; tests implement it in memory, so every
 * hypercall can be tested in-process, fast and deterministic.
 *
 * <p>Threads: {@link #pagingState(int)} only on the thread running that vCPU's hypercall;
 * everything else from any thread.
 */
public interface XenPlatform {
    GuestMemory memory();

    /** The control registers and CPL of vCPU {@code vcpuId} now (it is in a hypercall on this thread). */
    PagingState pagingState(int vcpuId);

    /**
     * Interrupts vCPU {@code vcpuId} with {@code vector} (the event-channel upcall); from any thread.
     * Returns false when the vCPU's interrupt controller did not accept it.
     */
    boolean deliverVector(int vcpuId, int vector);

    /** A monotonic clock in nanoseconds: the source of Xen system time. */
    long monotonicNanos();

    /**
     * The time-stamp counter the guest reads, paired with {@link #monotonicNanos()}, from which the
     * domain writes the vCPUs' pvclocks; null when the platform has none (then no pvclock is
     * written and {@code XENFEAT_hvm_safe_pvclock} is not offered).
     */
    default org.jxen.hypercalls.time.GuestTsc guestTsc() {
        return null;
    }

    /** Guest output for the PV console: {@code console_io} writes land here. */
    void consoleWrite(byte[] bytes, int offset, int length);

    /**
     * True when vCPU {@code vcpuId} has been asked to pause or stop: a hypercall that waits
     * ({@code SCHEDOP_block}, {@code SCHEDOP_poll}) returns early then, so the vCPU thread can obey.
     */
    default boolean vcpuMustYield(int vcpuId) {
        return false;
    }

    /**
     * True when vCPU {@code vcpuId} is being stopped for good (not paused): a hypercall whose length
     * the guest chooses and that jxen cannot preempt and resume ({@code multicall},
     * {@code CONSOLEIO_write}) gives up then, since its result no longer matters, so that the
     * vCPU thread can end. Implies {@link #vcpuMustYield}.
     */
    default boolean vcpuMustStop(int vcpuId) {
        return false;
    }

    /** The guest asked to shut down ({@code SCHEDOP_shutdown}, a {@code SHUTDOWN_*} reason); from a vCPU thread. */
    void shutdown(int vcpuId, int reason);
}

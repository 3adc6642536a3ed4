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

    // ---------------------------------------------------------------- runstate (issue 5)

    /**
     * The scheduler statistics of the host thread that runs vCPU {@code vcpuId} (its time on a CPU
     * and its run delay, {@link org.jxen.hypercalls.time.SchedStat}), or null when they are not
     * known (no thread yet, no {@code /proc}). Any thread; the domain asks every
     * {@link #runstatePeriodNanos()} or at a runstate change, never per exit.
     */
    default org.jxen.hypercalls.time.SchedStat.Sample vcpuThreadTimes(int vcpuId) {
        return null;
    }

    /**
     * How often, in ns, each vCPU's runstate is re-accounted from its thread's statistics (at an
     * exit on the vCPU thread, or by the domain's thread for a vCPU that stays in the guest); 0 for
     * only at runstate changes (block, poll, up, down). Asked once, when the domain is built.
     */
    default long runstatePeriodNanos() {
        return 0;
    }

    // ---------------------------------------------------------------- vCPU bring-up (issue 5)

    /**
     * True when vCPU {@code vcpuId} starts initialised and up (the default, for every vCPU); false
     * when it starts down, to be started by the guest with {@code VCPUOP_initialise} and
     * {@code VCPUOP_up}. Asked once per vCPU, when the domain is built.
     */
    default boolean vcpuStartsUp(int vcpuId) {
        return true;
    }

    /**
     * Loads {@code context} into vCPU {@code vcpuId}'s registers; it is down and runs when
     * {@link #vcpuUp} is called. Returns 0, or a negative Xen errno: {@code -EINVAL} when this
     * machine cannot run the context, {@code -ENOSYS} (the default) when it cannot set up vCPUs.
     * Called on the initialising vCPU's thread under the domain's bring-up lock.
     */
    default int vcpuInitialise(int vcpuId, VcpuContext context) {
        return -org.jxen.abi.XenErrno.ENOSYS;
    }

    /** Lets down vCPU {@code vcpuId} run guest code again: from its initialised context, or where it stopped. Any thread. */
    default void vcpuUp(int vcpuId) {
    }

    /**
     * Stops vCPU {@code vcpuId} from running guest code until {@link #vcpuUp}: another vCPU is
     * kicked out of the guest; the calling vCPU stops when its hypercall returns. Any thread.
     */
    default void vcpuDown(int vcpuId) {
    }
}

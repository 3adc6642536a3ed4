package org.jxen.hypercalls;

import org.jxen.abi.XenErrno;

/**
 * The seam between a hypercall transport (the KVM backend's port doorbell, a test) and the Xen
 * domain that handles the call. Returns the value for the guest's {@code rax}: {@code >= 0}, or a
 * negative Xen errno. Must never throw for anything the guest can cause.
 *
 * <p>Threads: called on the calling vCPU's thread; implementations say what they share.
 */
@FunctionalInterface
public interface HypercallDispatcher {
    long dispatch(HypercallRequest request);

    /**
     * The vCPU's thread handled an exit of vCPU {@code vcpuId} and is about to re-enter the guest
     * (runstate accounting hooks in here). Called after every exit: must be cheap.
     */
    default void vcpuExited(int vcpuId) {
    }

    /** vCPU {@code vcpuId}'s thread stops running the guest because the host paused it ({@code true}), or resumes ({@code false}). */
    default void vcpuPaused(int vcpuId, boolean paused) {
    }

    /** A dispatcher that knows no hypercall: every call gets {@code -ENOSYS}. */
    HypercallDispatcher NONE = request -> -XenErrno.ENOSYS;
}

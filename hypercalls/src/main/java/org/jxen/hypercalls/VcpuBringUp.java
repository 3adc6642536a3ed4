package org.jxen.hypercalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jxen.abi.Runstate;
import org.jxen.abi.ShutdownReason;
import org.jxen.abi.XenErrno;
import org.jxen.hypercalls.mm.GuestVirtualMemory;
import org.jxen.hypercalls.time.VcpuRunstate;

/**
 * Bringing vCPUs up and down: {@code VCPUOP_initialise}, {@code VCPUOP_up}, {@code VCPUOP_down},
 * {@code VCPUOP_is_up}, with Xen's two flags per vCPU ({@code is_initialised} and the
 * {@code _VPF_down} pause flag) and Xen's rules:
 *
 * <ul>
 * <li>initialise: the context is copied first ({@code -EFAULT}); then {@code -EEXIST} if the vCPU
 *     is initialised (also the caller itself, and a vCPU that was taken down: it stays initialised);
 *     {@code -EINVAL} for a context Xen would refuse ({@link VcpuContext}) or the platform cannot
 *     run. Success leaves the vCPU initialised and down.</li>
 * <li>up: {@code -EINVAL} unless initialised; otherwise 0, and a down vCPU starts (from its
 *     context, or where it stopped).</li>
 * <li>down: any vCPU of the domain, also the caller (it stops when the hypercall returns). When no
 *     other vCPU is up, the domain shuts down with {@code SHUTDOWN_poweroff} instead, as in Xen.
 *     Returns 0.</li>
 * <li>is_up: 1 or 0.</li>
 * </ul>
 * An unknown vCPU is {@code -ENOENT} (checked by {@link VcpuOps}). Xen has no
 * {@code -EINPROGRESS} case here: a down or up of a vCPU that is already so is a successful no-op.
 *
 * <p>Which vCPUs start up is the platform's choice ({@link XenPlatform#vcpuStartsUp}): those are
 * initialised and up; the others neither, until the guest initialises and ups them.
 *
 * <p>Threads: any vCPU thread (each with its own calls) and the host; this object's monitor plays
 * Xen's domain lock: initialise, up and down of all vCPUs are serialised, so an up never overtakes
 * the initialise it depends on, and the platform's register writes are done before the vCPU can
 * run. The runstate transitions happen under it (the bring-up lock is taken before a runstate lock).
 */
final class VcpuBringUp {
    private final XenDomain domain;
    private final XenPlatform platform;
    private final boolean[] initialised;
    private final boolean[] down;
    private final boolean[] paused;

    VcpuBringUp(XenDomain domain, XenPlatform platform, int vcpus, boolean[] startsUp) {
        this.domain = domain;
        this.platform = platform;
        this.initialised = new boolean[vcpus];
        this.down = new boolean[vcpus];
        this.paused = new boolean[vcpus];
        for (int i = 0; i < vcpus; i++) {
            initialised[i] = startsUp[i];
            down[i] = !startsUp[i];
        }
    }

    synchronized boolean isUp(int id) {
        return !down[id];
    }

    synchronized boolean isInitialised(int id) {
        return initialised[id];
    }

    /**
     * Puts back captured flags (is_up, initialised). The vCPU's registers and whether its thread
     * runs belong to the machine's state, restored with it.
     */
    synchronized void restore(int id, boolean up, boolean init) {
        down[id] = !up;
        initialised[id] = init;
    }

    /** {@code VCPUOP_initialise} of {@code target} with the context at guest-virtual {@code arg}. */
    long initialise(GuestVirtualMemory g, XenVcpu target, long arg) {
        VcpuContext.Decoded decoded;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(VcpuContext.SIZE, 8);
            if (g.copyFromGuest(arg, buf) != 0) {
                return -XenErrno.EFAULT;
            }
            decoded = VcpuContext.decode(buf);
        }
        int id = target.id();
        synchronized (this) {
            if (initialised[id]) {
                return -XenErrno.EEXIST;
            }
            if (!(decoded instanceof VcpuContext.Accepted(VcpuContext ctx))) {
                return -XenErrno.EINVAL;
            }
            int rc = platform.vcpuInitialise(id, ctx);
            if (rc != 0) {
                return rc < 0 ? rc : -XenErrno.EINVAL;
            }
            initialised[id] = true;
            down[id] = true;
            return 0;
        }
    }

    /** {@code VCPUOP_up} of {@code target}. */
    synchronized long up(XenVcpu target) {
        int id = target.id();
        if (!initialised[id]) {
            return -XenErrno.EINVAL;
        }
        if (down[id]) {
            down[id] = false;
            if (!paused[id]) {
                // woken: runnable until its thread runs it (its first step shows what it does)
                target.runstate.transition(VcpuRunstate.Activity.GUEST, Runstate.RUNNABLE, true);
            }
            platform.vcpuUp(id);
        }
        return 0;
    }

    /** {@code VCPUOP_down} of {@code target}, called by vCPU {@code caller}. */
    synchronized long down(int caller, XenVcpu target) {
        int id = target.id();
        boolean otherUp = false;
        for (int i = 0; i < down.length; i++) {
            if (i != id && !down[i]) {
                otherUp = true;
                break;
            }
        }
        if (!otherUp) {
            platform.shutdown(caller, ShutdownReason.POWEROFF); // the last vCPU going down
            return 0;
        }
        if (!down[id]) {
            down[id] = true;
            target.runstate.transition(VcpuRunstate.Activity.OFFLINE, Runstate.OFFLINE, true);
            platform.vcpuDown(id);
        }
        return 0;
    }

    /**
     * The host paused ({@code true}) or resumed vCPU {@code target}: a paused vCPU is offline, as
     * in Xen (not runnable and not blocked), unless it is down anyway.
     */
    synchronized void paused(XenVcpu target, boolean isPaused) {
        int id = target.id();
        if (paused[id] == isPaused) {
            return;
        }
        paused[id] = isPaused;
        if (down[id]) {
            return;
        }
        if (isPaused) {
            target.runstate.transition(VcpuRunstate.Activity.OFFLINE, Runstate.OFFLINE, true);
        } else {
            target.runstate.transition(VcpuRunstate.Activity.GUEST, Runstate.RUNNABLE, true);
        }
    }
}

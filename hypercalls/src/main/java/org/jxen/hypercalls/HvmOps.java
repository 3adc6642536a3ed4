package org.jxen.hypercalls;

import org.jxen.abi.HvmOp;
import org.jxen.abi.HvmParam;
import org.jxen.abi.XenErrno;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code hvm_op}: HVM parameters, the per-vCPU upcall vector and Xen system time.
 *
 * <p>Threads: {@link #handle} on vCPU threads, each with its own calls; state lives in the domain.
 */
final class HvmOps {
    private final XenDomain domain;
    private final XenPlatform platform;

    HvmOps(XenDomain domain, XenPlatform platform) {
        this.domain = domain;
        this.platform = platform;
    }

    long handle(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        return hvmOp(g, (int) r.arg(0), r.arg(1));
    }

    /** What a guest may read of its own parameters (Xen lets it read these and a few we do not keep). */
    static boolean guestMayRead(int index) {
        return index == HvmParam.CALLBACK_IRQ || index == HvmParam.STORE_PFN || index == HvmParam.STORE_EVTCHN
                || index == HvmParam.CONSOLE_PFN || index == HvmParam.CONSOLE_EVTCHN;
    }

    /**
     * What a guest may set: the event callback. The XenStore and console frames and ports belong to
     * the host, which serves them; Xen would let a guest move the ports, jxen's backends would not
     * follow, so they are read-only here.
     */
    static boolean guestMaySet(int index) {
        return index == HvmParam.CALLBACK_IRQ;
    }

    private long hvmOp(GuestVirtualMemory g, int cmd, long arg) {
        switch (cmd) {
            case HvmOp.SET_PARAM, HvmOp.GET_PARAM -> {
                int dom = domain.self(g.readU16(arg));
                long index = g.readU32(arg + 4);
                if (dom != domain.config().domid()) {
                    return -XenErrno.ESRCH;
                }
                if (index < 0 || index >= HvmParam.HVM_NR_PARAMS) {
                    return -XenErrno.EINVAL;
                }
                if (cmd == HvmOp.GET_PARAM) {
                    if (!guestMayRead((int) index)) {
                        return -XenErrno.EPERM;
                    }
                    g.writeU64(arg + 8, domain.hvmParam((int) index));
                    return 0;
                }
                if (!guestMaySet((int) index)) {
                    return -XenErrno.EPERM; // the toolstack's (the host's) to set
                }
                long value = g.readU64(arg + 8);
                long type = value >>> HvmParam.CALLBACK_TYPE_SHIFT;
                if (value != 0 && (type != HvmParam.CALLBACK_TYPE_VECTOR || (value & 0xff) < 16
                        || (value & 0x00ff_ffff_ffff_ff00L) != 0)) {
                    // events go by vector only: a GSI or PCI INTx callback would never be raised
                    return -XenErrno.EINVAL;
                }
                domain.setHvmParam((int) index, value);
                return 0;
            }
            case HvmOp.PAGETABLE_DYING -> {
                // struct xen_hvm_pagetable_dying {domid_t domid; uint64_t gpa}: a hint for shadow
                // paging; with hardware paging (KVM's EPT/NPT) there is nothing to drop
                int dom = domain.self(g.readU16(arg));
                g.readU64(arg + 8);
                return dom == domain.config().domid() ? 0 : -XenErrno.ESRCH;
            }
            case HvmOp.GET_TIME -> {
                g.writeU64(arg, domain.systemTime()); // struct xen_hvm_get_time { uint64_t now; }
                return 0;
            }
            case HvmOp.SET_EVTCHN_UPCALL_VECTOR -> {
                int vcpu = (int) g.readU32(arg);
                int vector = g.readU8(arg + 4);
                XenVcpu v = domain.vcpu(vcpu);
                if (v == null) {
                    return -XenErrno.ENOENT;
                }
                if (vector < 16) {
                    return -XenErrno.EINVAL;
                }
                v.setUpcallVector(vector);
                if (v.hasVcpuInfo() && v.upcallPending()) {
                    domain.deliverUpcall(vcpu); // as Xen asserts the new vector at once: events raised before it are not stranded
                }
                return 0;
            }
            default -> {
                return -XenErrno.ENOSYS;
            }
        }
    }
}

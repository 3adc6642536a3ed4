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
                    g.writeU64(arg + 8, domain.hvmParam((int) index));
                    return 0;
                }
                long value = g.readU64(arg + 8);
                if (index == HvmParam.CALLBACK_IRQ) {
                    long type = value >>> HvmParam.CALLBACK_TYPE_SHIFT;
                    if (type == HvmParam.CALLBACK_TYPE_VECTOR && (value & 0xff) < 16) {
                        return -XenErrno.EINVAL;
                    }
                } else if (index == HvmParam.STORE_PFN || index == HvmParam.STORE_EVTCHN
                        || index == HvmParam.CONSOLE_PFN || index == HvmParam.CONSOLE_EVTCHN) {
                    return -XenErrno.EPERM; // set by the toolstack (the host), read-only to the guest
                }
                domain.setHvmParam((int) index, value);
                return 0;
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
                return 0;
            }
            default -> {
                return -XenErrno.ENOSYS;
            }
        }
    }
}

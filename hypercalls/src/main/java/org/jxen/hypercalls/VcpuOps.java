package org.jxen.hypercalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jxen.abi.VcpuOp;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code vcpu_op}: vcpu_info and runstate registration, timers and vCPU state.
 *
 * <p>Threads: {@link #handle} on vCPU threads, each with its own calls; state lives in the domain.
 */
final class VcpuOps {
    private final XenDomain domain;
    private final XenPlatform platform;

    VcpuOps(XenDomain domain, XenPlatform platform) {
        this.domain = domain;
        this.platform = platform;
    }

    long handle(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        return vcpuOp(g, r.vcpuId(), (int) r.arg(0), (int) r.arg(1), r.arg(2));
    }

    private long vcpuOp(GuestVirtualMemory g, int caller, int cmd, int vcpuId, long arg) {
        XenVcpu v = domain.vcpu(vcpuId);
        if (v == null) {
            return -XenErrno.ENOENT;
        }
        boolean timerOp = cmd == VcpuOp.SET_SINGLESHOT_TIMER || cmd == VcpuOp.STOP_SINGLESHOT_TIMER
                || cmd == VcpuOp.SET_PERIODIC_TIMER || cmd == VcpuOp.STOP_PERIODIC_TIMER;
        if (timerOp && vcpuId != caller) {
            return -XenErrno.EINVAL; // as in Xen: a vCPU programs only its own timers
        }
        return switch (cmd) {
            case VcpuOp.INITIALISE -> domain.bringUp().initialise(g, v, arg);
            case VcpuOp.UP -> domain.bringUp().up(v);
            case VcpuOp.DOWN -> domain.bringUp().down(caller, v);
            case VcpuOp.IS_UP -> domain.bringUp().isUp(vcpuId) ? 1 : 0;
            case VcpuOp.REGISTER_VCPU_INFO -> {
                long mfn = g.readU64(arg);
                long offset = g.readU32(arg + 8);
                int rc = v.registerVcpuInfo(mfn, offset);
                if (rc == 0) {
                    domain.pvclocks().updateNow(vcpuId); // the guest may read its clock at once
                }
                yield rc;
            }
            case VcpuOp.SET_SINGLESHOT_TIMER -> {
                long deadline = g.readU64(arg);
                long flags = g.readU32(arg + 8);
                yield domain.timers(vcpuId).setSingleShot(deadline, (flags & VcpuOp.VCPU_SSHOTTMR_FUTURE) != 0);
            }
            case VcpuOp.STOP_SINGLESHOT_TIMER -> domain.timers(vcpuId).stopSingleShot();
            case VcpuOp.SET_PERIODIC_TIMER -> domain.timers(vcpuId).setPeriodic(g.readU64(arg));
            case VcpuOp.STOP_PERIODIC_TIMER -> domain.timers(vcpuId).stopPeriodic();
            case VcpuOp.REGISTER_RUNSTATE_MEMORY_AREA -> {
                long gva = domain.wordSize() == WordSize.BITS_64 ? g.readU64(arg) : g.readU32(arg);
                yield v.runstate.register(g, gva, domain.wordSize(), vcpuId == caller);
            }
            case VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA -> {
                long gva = domain.wordSize() == WordSize.BITS_64 ? g.readU64(arg) : g.readU32(arg);
                yield domain.pvclocks().registerTimeArea(g, vcpuId, gva);
            }
            case VcpuOp.GET_RUNSTATE_INFO -> {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment buf = a.allocate(org.jxen.hypercalls.time.RunstateArea.sizeOf(domain.wordSize()));
                    // accounted up to now, as the area would show it: never less than the area shows
                    org.jxen.hypercalls.time.RunstateArea.encode(v.runstate.current(vcpuId == caller), domain.wordSize(), buf);
                    yield g.copyToGuest(buf, arg);
                }
            }
            default -> -XenErrno.ENOSYS;
        };
    }
}

package org.jxen.hypercalls;

import org.jxen.abi.SchedOp;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code sched_op}: yield, block, poll, shutdown (and its code), remote_shutdown and the watchdogs.
 *
 * <p>Threads: {@link #handle} on vCPU threads, each with its own calls; state lives in the domain.
 */
final class SchedOps {
    private final XenDomain domain;
    private final XenPlatform platform;

    SchedOps(XenDomain domain, XenPlatform platform) {
        this.domain = domain;
        this.platform = platform;
    }

    long handle(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        return schedOp(g, v, (int) r.arg(0), r.arg(1));
    }

    private long schedOp(GuestVirtualMemory g, XenVcpu v, int cmd, long arg) {
        switch (cmd) {
            case SchedOp.YIELD -> {
                Thread.yield();
                return 0;
            }
            case SchedOp.SHUTDOWN -> {
                // struct sched_shutdown {unsigned int reason}: any value, kept as its low byte as in
                // Xen; the host decides what poweroff, reboot, suspend, crash, watchdog and
                // soft_reset mean for the VM
                domain.shutdown(v.id(), (int) g.readU32(arg) & 0xff);
                return 0;
            }
            case SchedOp.SHUTDOWN_CODE -> {
                // the reason a later shutdown reports (Linux sets SHUTDOWN_crash before a crash kernel)
                domain.setShutdownCode((int) g.readU32(arg) & 0xff);
                return 0;
            }
            case SchedOp.REMOTE_SHUTDOWN -> {
                // struct sched_remote_shutdown {domid_t domain_id; unsigned int reason}: shutting a
                // domain down by id takes a privileged (control or device-model) domain; a guest
                // naming itself is refused as Xen refuses it, any other id does not exist here
                int domid = g.readU16(arg);
                g.readU32(arg + 4);
                return domid == domain.domid() ? -XenErrno.EPERM : -XenErrno.ESRCH;
            }
            case SchedOp.WATCHDOG -> {
                // struct sched_watchdog {uint32_t id; uint32_t timeout (s)}
                return domain.watchdogs().op((int) g.readU32(arg), g.readU32(arg + 4));
            }
            case SchedOp.BLOCK -> {
                // block until an event is pending for this vCPU (as `sti; hlt` would)
                v.setRunstate(org.jxen.abi.Runstate.BLOCKED, -1, true);
                domain.waitFor(v.id(), v::upcallPending, 0);
                v.setRunstate(org.jxen.abi.Runstate.RUNNING, -1, true);
                return 0;
            }
            case SchedOp.POLL -> {
                WordSize w = domain.wordSize();
                long portsGva = w == WordSize.BITS_64 ? g.readU64(arg) : g.readU32(arg);
                long nr = g.readU32(arg + (w == WordSize.BITS_64 ? 8 : 4));
                long timeout = g.readU64(arg + (w == WordSize.BITS_64 ? 16 : 8));
                if (nr > 128) {
                    return -XenErrno.EINVAL;
                }
                int[] ports = new int[(int) nr];
                for (int i = 0; i < nr; i++) {
                    long p = g.readU32(portsGva + 4L * i);
                    if (!domain.eventChannels().valid((int) p)) {
                        return -XenErrno.EINVAL;
                    }
                    ports[i] = (int) p;
                }
                v.setRunstate(org.jxen.abi.Runstate.BLOCKED, -1, true);
                domain.waitFor(v.id(), () -> {
                    for (int p : ports) {
                        if (domain.eventChannels().isPending(p)) {
                            return true;
                        }
                    }
                    return false;
                }, timeout);
                v.setRunstate(org.jxen.abi.Runstate.RUNNING, -1, true);
                return 0;
            }
            default -> {
                return -XenErrno.ENOSYS;
            }
        }
    }
}

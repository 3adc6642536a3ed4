package org.jxen.hypercalls;

import org.jxen.abi.SchedOp;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code sched_op}: yield, block, poll and shutdown.
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
                int reason = (int) g.readU32(arg);
                platform.shutdown(v.id(), reason);
                return 0;
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

package org.jxen.hypercalls;

import org.jxen.abi.EvtchnExpandArray;
import org.jxen.abi.EvtchnFifo;
import org.jxen.abi.EvtchnInitControl;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.EvtchnSetPriority;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code event_channel_op}: decodes the guest's arguments and calls {@link EventChannels}: the
 * 2-level operations, and the FIFO ABI's {@code init_control}, {@code expand_array} and
 * {@code set_priority}.
 *
 * <p>Threads: {@link #handle} on vCPU threads, each with its own calls; state lives in the domain.
 */
final class EventChannelOps {
    /** The FIFO structures are the same in both guest forms. */
    private static final WordSize W = WordSize.BITS_64;
    private final XenDomain domain;
    private final XenPlatform platform;

    EventChannelOps(XenDomain domain, XenPlatform platform) {
        this.domain = domain;
        this.platform = platform;
    }

    long handle(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        return eventChannelOp(g, (int) r.arg(0), r.arg(1));
    }

    private long eventChannelOp(GuestVirtualMemory g, int cmd, long arg) {
        EventChannels ec = domain.eventChannels();
        switch (cmd) {
            case EvtchnOp.ALLOC_UNBOUND -> {
                int dom = domain.self(g.readU16(arg));
                int remote = domain.self(g.readU16(arg + 2));
                if (dom != domain.config().domid()) {
                    return -XenErrno.EPERM;
                }
                int port = ec.allocUnbound(remote);
                if (port < 0) {
                    return port;
                }
                g.writeU32(arg + 4, port);
                return 0;
            }
            case EvtchnOp.BIND_INTERDOMAIN -> {
                int remote = domain.self(g.readU16(arg));
                int remotePort = (int) g.readU32(arg + 4);
                int port = ec.bindInterdomain(remote, remotePort);
                if (port < 0) {
                    return port;
                }
                g.writeU32(arg + 8, port);
                return 0;
            }
            case EvtchnOp.BIND_VIRQ -> {
                int port = ec.bindVirq((int) g.readU32(arg), (int) g.readU32(arg + 4));
                if (port < 0) {
                    return port;
                }
                g.writeU32(arg + 8, port);
                return 0;
            }
            case EvtchnOp.BIND_IPI -> {
                int port = ec.bindIpi((int) g.readU32(arg));
                if (port < 0) {
                    return port;
                }
                g.writeU32(arg + 4, port);
                return 0;
            }
            case EvtchnOp.BIND_VCPU -> {
                return ec.bindVcpu((int) g.readU32(arg), (int) g.readU32(arg + 4));
            }
            case EvtchnOp.SEND -> {
                return ec.send((int) g.readU32(arg));
            }
            case EvtchnOp.CLOSE -> {
                return ec.close((int) g.readU32(arg));
            }
            case EvtchnOp.UNMASK -> {
                return ec.unmask((int) g.readU32(arg));
            }
            case EvtchnOp.STATUS -> {
                int dom = domain.self(g.readU16(arg));
                if (dom != domain.config().domid()) {
                    return -XenErrno.ESRCH;
                }
                int[] st = ec.status((int) g.readU32(arg + 4));
                if (st == null) {
                    return -XenErrno.EINVAL;
                }
                g.writeU32(arg + 8, st[0]);
                g.writeU32(arg + 12, st[1]);
                g.writeU32(arg + 16, st[2]);
                g.writeU32(arg + 20, st[3]);
                return 0;
            }
            case EvtchnOp.INIT_CONTROL -> {
                long gfn = g.readU64(arg + EvtchnInitControl.offsetOfControlGfn(W));
                long offset = g.readU32(arg + EvtchnInitControl.offsetOfOffset(W));
                int vcpu = (int) g.readU32(arg + EvtchnInitControl.offsetOfVcpu(W));
                int rc = ec.initControl(gfn, offset, vcpu);
                if (rc < 0) {
                    return rc;
                }
                g.writeU8(arg + EvtchnInitControl.offsetOfLinkBits(W), EvtchnFifo.LINK_BITS);
                return 0;
            }
            case EvtchnOp.EXPAND_ARRAY -> {
                return ec.expandArray(g.readU64(arg + EvtchnExpandArray.offsetOfArrayGfn(W)));
            }
            case EvtchnOp.SET_PRIORITY -> {
                long priority = g.readU32(arg + EvtchnSetPriority.offsetOfPriority(W));
                return ec.setPriority((int) g.readU32(arg + EvtchnSetPriority.offsetOfPort(W)),
                        priority > EvtchnFifo.PRIORITY_MIN ? Integer.MAX_VALUE : (int) priority);
            }
            case EvtchnOp.RESET -> {
                int dom = domain.self(g.readU16(arg));
                if (dom != domain.config().domid()) {
                    return -XenErrno.ESRCH;
                }
                ec.reset();
                return 0;
            }
            default -> {
                return -XenErrno.ENOSYS;
            }
        }
    }
}

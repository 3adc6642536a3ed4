package org.jxen.hypercalls;

import java.util.ArrayList;
import java.util.List;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.MappedArea;

/**
 * The bound event-channel ports of a domain at one moment, for a monitor: each port's kind, the
 * vCPU it notifies, its VIRQ or remote port, and its pending and mask bits as shared_info holds
 * them. Read-only: taking a snapshot changes nothing the guest can see.
 *
 * <p>The port table and the bits are read at slightly different instants (the bits under one lock of
 * shared_info, the bindings one port at a time), so a port bound or raised while the snapshot is
 * taken may show either way; every value shown was true at some instant during the snapshot.
 *
 * @param sharedInfoMapped whether shared_info could be read; when not, every pending and mask bit
 *                         is shown clear
 * @param ports            the bound ports (not {@link EventChannels.Kind#FREE}), by port number
 */
public record EventChannelSnapshot(boolean sharedInfoMapped, List<Port> ports) {
    /**
     * One bound port.
     *
     * @param port    the port number
     * @param kind    what it is bound to
     * @param vcpu    the vCPU it notifies
     * @param virq    the VIRQ of a {@link EventChannels.Kind#VIRQ} port, else -1
     * @param remote  the remote domain and port of an interdomain or unbound port ({@code remoteDomain}), else -1
     * @param remotePort the peer port of an {@link EventChannels.Kind#INTERDOMAIN} port, else -1
     * @param pending its {@code evtchn_pending} bit
     * @param masked  its {@code evtchn_mask} bit
     */
    public record Port(int port, EventChannels.Kind kind, int vcpu, int virq, int remote, int remotePort,
            boolean pending, boolean masked) {
    }

    /** Takes a snapshot of {@code domain}'s ports; from any thread that does not hold a gfn-to-pfn cache. */
    public static EventChannelSnapshot of(XenDomain domain) {
        EventChannels ec = domain.eventChannels();
        WordSize w = domain.wordSize();
        int count = ec.portCount();
        int bits = w == WordSize.BITS_64 ? 64 : 32;
        int words = (count + bits - 1) / bits;
        long[] pending = new long[words];
        long[] mask = new long[words];
        GfnToPfnCache cache = domain.sharedInfoCache();
        boolean mapped = false;
        if (domain.sharedInfoGfn() >= 0) {
            MappedArea si = cache.lock();
            if (si != null) {
                try {
                    for (int i = 0; i < words; i++) {
                        long p = SharedInfo.offsetOfEvtchnPending(w) + (long) i * w.bytes();
                        long m = SharedInfo.offsetOfEvtchnMask(w) + (long) i * w.bytes();
                        pending[i] = w == WordSize.BITS_64 ? si.getLongVolatile(p) : si.getIntVolatile(p) & 0xffffffffL;
                        mask[i] = w == WordSize.BITS_64 ? si.getLongVolatile(m) : si.getIntVolatile(m) & 0xffffffffL;
                    }
                    mapped = true;
                } finally {
                    cache.unlock();
                }
            }
        }
        List<Port> ports = new ArrayList<>();
        for (int p = 1; p < count; p++) {
            if (ec.kind(p) == EventChannels.Kind.FREE) {
                continue;
            }
            int[] st = ec.status(p); // {status, vcpu, union word 0, remote port}
            if (st == null) {
                continue;
            }
            EventChannels.Kind kind = ec.kind(p);
            if (kind == EventChannels.Kind.FREE) {
                continue; // closed meanwhile
            }
            long bit = 1L << (p % bits);
            ports.add(new Port(p, kind, st[1], kind == EventChannels.Kind.VIRQ ? st[2] : -1,
                    kind == EventChannels.Kind.UNBOUND || kind == EventChannels.Kind.INTERDOMAIN ? st[2] : -1,
                    kind == EventChannels.Kind.INTERDOMAIN ? st[3] : -1,
                    (pending[p / bits] & bit) != 0, (mask[p / bits] & bit) != 0));
        }
        return new EventChannelSnapshot(mapped, List.copyOf(ports));
    }
}

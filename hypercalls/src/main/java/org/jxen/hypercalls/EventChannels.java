package org.jxen.hypercalls;

import java.util.concurrent.ConcurrentLinkedQueue;
import org.jxen.abi.Evtchn;
import org.jxen.abi.EvtchnStatus;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuInfo;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.MappedArea;

/**
 * The 2-level event channels of one domain: the port table (who is bound to what) and the bit
 * protocol over shared memory. Pending and mask bits live in shared_info's
 * {@code evtchn_pending}/{@code evtchn_mask} word arrays (64-bit words for a 64-bit guest, 32-bit
 * words for a 32-bit one); a newly pending, unmasked port sets its word's bit in the target vCPU's
 * {@code evtchn_pending_sel}, then {@code evtchn_upcall_pending}, and when that was clear the
 * vCPU's upcall vector is delivered.
 *
 * <p>Threads: {@link #send(int)} and {@link #raise(int)} may be called from any thread (a vCPU's
 * hypercall, a timer, a backend); binding operations come from vCPU threads and are serialised on
 * this object. Pending bits are set with atomic read-modify-writes on guest memory, so the guest's
 * own clears never lose a host's set. An event that cannot be written now (shared_info not mapped,
 * or its cache invalid) is queued and written when the cache can be locked again: never lost.
 */
public final class EventChannels {
    /** What a port is. */
    public enum Kind {
        FREE, UNBOUND, INTERDOMAIN, VIRQ, IPI
    }

    /** One port's binding. Guarded by the EventChannels monitor; read racily by send (benign). */
    static final class Port {
        volatile Kind kind = Kind.FREE;
        volatile int notifyVcpu;
        volatile int remoteDomain;
        volatile int remotePort;
        volatile int virq;
    }

    private final XenDomain domain;
    private final Port[] ports;
    private final int[][] virqPorts;
    private final ConcurrentLinkedQueue<Integer> deferred = new ConcurrentLinkedQueue<>();

    EventChannels(XenDomain domain, int vcpus) {
        this.domain = domain;
        this.ports = new Port[Evtchn.nrChannels2Level(WordSize.BITS_64)];
        for (int i = 0; i < ports.length; i++) {
            ports[i] = new Port();
        }
        this.virqPorts = new int[vcpus][org.jxen.abi.Virq.NR_VIRQS];
    }

    /** The number of ports of a guest of this word size. */
    int portCount() {
        return Evtchn.nrChannels2Level(domain.wordSize());
    }

    Kind kind(int port) {
        return valid(port) ? ports[port].kind : Kind.FREE;
    }

    int notifyVcpu(int port) {
        return ports[port].notifyVcpu;
    }

    boolean valid(int port) {
        return port > 0 && port < portCount();
    }

    // ------------------------------------------------------------------ binding (vCPU threads)

    private int allocate() {
        for (int p = 1; p < portCount(); p++) {
            if (ports[p].kind == Kind.FREE) {
                return p;
            }
        }
        return -XenErrno.ENOSPC;
    }

    /** EVTCHNOP_alloc_unbound: a port that {@code remoteDomain} may bind to. */
    synchronized int allocUnbound(int remoteDomain) {
        int p = allocate();
        if (p < 0) {
            return p;
        }
        Port port = ports[p];
        port.remoteDomain = remoteDomain;
        port.notifyVcpu = 0;
        port.kind = Kind.UNBOUND;
        return p;
    }

    /** EVTCHNOP_bind_interdomain to one of this domain's own unbound ports (loopback) or a backend's. */
    synchronized int bindInterdomain(int remoteDomain, int remotePort) {
        if (remoteDomain != domain.domid()) {
            return -XenErrno.ESRCH; // host backends bind through the host API, not from the guest
        }
        if (!valid(remotePort) || ports[remotePort].kind != Kind.UNBOUND
                || ports[remotePort].remoteDomain != domain.domid()) {
            return -XenErrno.EINVAL;
        }
        int p = allocate();
        if (p < 0) {
            return p;
        }
        Port local = ports[p];
        local.remoteDomain = domain.domid();
        local.remotePort = remotePort;
        local.notifyVcpu = 0;
        local.kind = Kind.INTERDOMAIN;
        Port remote = ports[remotePort];
        remote.remotePort = p;
        remote.kind = Kind.INTERDOMAIN;
        return p;
    }

    /** EVTCHNOP_bind_virq. */
    synchronized int bindVirq(int virq, int vcpu) {
        if (virq < 0 || virq >= org.jxen.abi.Virq.NR_VIRQS) {
            return -XenErrno.EINVAL;
        }
        if (vcpu < 0 || vcpu >= virqPorts.length) {
            return -XenErrno.ENOENT;
        }
        if (virqPorts[vcpu][virq] != 0) {
            return -XenErrno.EEXIST;
        }
        int p = allocate();
        if (p < 0) {
            return p;
        }
        Port port = ports[p];
        port.virq = virq;
        port.notifyVcpu = vcpu;
        port.kind = Kind.VIRQ;
        virqPorts[vcpu][virq] = p;
        return p;
    }

    /** EVTCHNOP_bind_ipi. */
    synchronized int bindIpi(int vcpu) {
        if (vcpu < 0 || vcpu >= virqPorts.length) {
            return -XenErrno.ENOENT;
        }
        int p = allocate();
        if (p < 0) {
            return p;
        }
        ports[p].notifyVcpu = vcpu;
        ports[p].kind = Kind.IPI;
        return p;
    }

    /** EVTCHNOP_bind_vcpu: which vCPU a port notifies (not for IPI ports, as in Xen's 2-level ABI: allowed for all but IPI). */
    synchronized int bindVcpu(int port, int vcpu) {
        if (!valid(port) || ports[port].kind == Kind.FREE) {
            return -XenErrno.ENOENT;
        }
        if (vcpu < 0 || vcpu >= virqPorts.length) {
            return -XenErrno.ENOENT;
        }
        Port p = ports[port];
        if (p.kind == Kind.IPI) {
            return -XenErrno.EINVAL;
        }
        if (p.kind == Kind.VIRQ) {
            if (p.virq != org.jxen.abi.Virq.DEBUG && p.virq != org.jxen.abi.Virq.CONSOLE) {
                return -XenErrno.EINVAL; // per-vCPU VIRQs (timer) stay where they were bound
            }
        }
        p.notifyVcpu = vcpu;
        return 0;
    }

    /** EVTCHNOP_close. */
    synchronized int close(int port) {
        if (!valid(port)) {
            return -XenErrno.EINVAL;
        }
        Port p = ports[port];
        switch (p.kind) {
            case FREE -> {
                return -XenErrno.EINVAL;
            }
            case VIRQ -> virqPorts[p.notifyVcpu][p.virq] = 0;
            case INTERDOMAIN -> {
                if (p.remoteDomain == domain.domid() && valid(p.remotePort)
                        && ports[p.remotePort].kind == Kind.INTERDOMAIN) {
                    Port peer = ports[p.remotePort];
                    peer.kind = Kind.UNBOUND; // the peer goes back to unbound, as in Xen
                    peer.remoteDomain = domain.domid();
                }
            }
            default -> {
            }
        }
        p.kind = Kind.FREE;
        return 0;
    }

    /** EVTCHNOP_status fields: status, vcpu, and the union words. */
    synchronized int[] status(int port) {
        if (!valid(port)) {
            return null;
        }
        Port p = ports[port];
        int st = switch (p.kind) {
            case FREE -> EvtchnStatus.CLOSED;
            case UNBOUND -> EvtchnStatus.UNBOUND;
            case INTERDOMAIN -> EvtchnStatus.INTERDOMAIN;
            case VIRQ -> EvtchnStatus.VIRQ;
            case IPI -> EvtchnStatus.IPI;
        };
        int u0 = switch (p.kind) {
            case UNBOUND, INTERDOMAIN -> p.remoteDomain;
            case VIRQ -> p.virq;
            default -> 0;
        };
        return new int[] {st, p.notifyVcpu, u0, p.remotePort};
    }

    /** EVTCHNOP_reset: closes every port. */
    synchronized void reset() {
        for (int p = 1; p < ports.length; p++) {
            if (ports[p].kind != Kind.FREE) {
                close(p);
            }
        }
    }

    /** The port bound to {@code virq} on {@code vcpu}, or 0. */
    int virqPort(int vcpu, int virq) {
        return vcpu >= 0 && vcpu < virqPorts.length ? virqPorts[vcpu][virq] : 0;
    }

    // ------------------------------------------------------------------ sending (any thread)

    /**
     * EVTCHNOP_send from the guest: to the peer of an interdomain port, the port itself for an IPI.
     * Returns 0 or a negative Xen errno.
     */
    int send(int port) {
        if (!valid(port)) {
            return -XenErrno.EINVAL;
        }
        Port p = ports[port];
        switch (p.kind) {
            case INTERDOMAIN -> {
                raise(p.remotePort);
                return 0;
            }
            case IPI -> {
                raise(port);
                return 0;
            }
            case UNBOUND -> {
                return 0; // nobody listens yet: Xen drops it silently
            }
            default -> {
                return -XenErrno.EINVAL;
            }
        }
    }

    /**
     * Makes {@code port} pending in the guest (the host side of an event: a VIRQ, a backend, the
     * peer of a send). From any thread. If shared_info cannot be locked now, the port is queued and
     * raised when it can ({@link #flushDeferred()}).
     */
    public void raise(int port) {
        if (!valid(port)) {
            return;
        }
        Kind k = ports[port].kind;
        if (k != Kind.INTERDOMAIN && k != Kind.VIRQ && k != Kind.IPI) {
            return; // as in Xen, only a bound port becomes pending
        }
        WordSize w = domain.wordSize();
        int bits = w == WordSize.BITS_64 ? 64 : 32;
        int word = port / bits;
        int bit = port % bits;
        var cache = domain.sharedInfoCache();
        MappedArea si = cache.lock();
        if (si == null) {
            domain.stats().eventDeferred();
            deferred.add(port);
            domain.scheduleDeferredFlush();
            return;
        }
        boolean notify;
        try {
            long pendingOff = SharedInfo.offsetOfEvtchnPending(w) + (long) word * w.bytes();
            long maskOff = SharedInfo.offsetOfEvtchnMask(w) + (long) word * w.bytes();
            if (w == WordSize.BITS_64) {
                long old = si.getAndBitwiseOrLong(pendingOff, 1L << bit);
                notify = (old & (1L << bit)) == 0 && (si.getLongVolatile(maskOff) & (1L << bit)) == 0;
            } else {
                int old = si.getAndBitwiseOrInt(pendingOff, 1 << bit);
                notify = (old & (1 << bit)) == 0 && (si.getIntVolatile(maskOff) & (1 << bit)) == 0;
            }
        } finally {
            cache.unlock();
        }
        domain.stats().eventSent(k);
        domain.wakeWaiters(); // SCHEDOP_poll waits for pending bits, masked or not
        if (notify) {
            notifyVcpu(ports[port].notifyVcpu, word);
        }
    }

    /** True when {@code port}'s pending bit is set in shared_info (masked or not); false if unreadable. */
    boolean isPending(int port) {
        if (!valid(port)) {
            return false;
        }
        WordSize w = domain.wordSize();
        int bits = w == WordSize.BITS_64 ? 64 : 32;
        var cache = domain.sharedInfoCache();
        MappedArea si = cache.lock();
        if (si == null) {
            return false;
        }
        try {
            long off = SharedInfo.offsetOfEvtchnPending(w) + (long) (port / bits) * w.bytes();
            long word = w == WordSize.BITS_64 ? si.getLongVolatile(off) : si.getIntVolatile(off);
            return (word & (1L << (port % bits))) != 0;
        } finally {
            cache.unlock();
        }
    }

    /** Sets the selector bit and upcall_pending in the vCPU's vcpu_info; delivers the upcall when newly pending. */
    void notifyVcpu(int vcpuId, int word) {
        XenVcpu v = domain.vcpu(vcpuId);
        if (v == null) {
            return;
        }
        WordSize w = domain.wordSize();
        var cache = v.vcpuInfoCache();
        long base = v.vcpuInfoOffset();
        MappedArea vi = cache.lock();
        if (vi == null) {
            v.deferSelectorWord(word); // kept, like KVM's shadow evtchn_pending_sel
            domain.scheduleDeferredFlush();
            return;
        }
        boolean deliver;
        try {
            long sel = base + VcpuInfo.offsetOfEvtchnPendingSel(w);
            if (w == WordSize.BITS_64) {
                vi.getAndBitwiseOrLong(sel, 1L << word);
            } else {
                vi.getAndBitwiseOrInt(sel, 1 << word);
            }
            deliver = vi.getAndSetByte(base + VcpuInfo.offsetOfEvtchnUpcallPending(w), (byte) 1) == 0;
        } finally {
            cache.unlock();
        }
        if (deliver) {
            domain.deliverUpcall(vcpuId);
        }
    }

    /**
     * EVTCHNOP_unmask: clears the mask bit; if the port is pending, it is delivered now (unmask
     * re-delivers).
     */
    int unmask(int port) {
        if (!valid(port)) {
            return -XenErrno.EINVAL;
        }
        WordSize w = domain.wordSize();
        int bits = w == WordSize.BITS_64 ? 64 : 32;
        int word = port / bits;
        int bit = port % bits;
        var cache = domain.sharedInfoCache();
        MappedArea si = cache.lock();
        if (si == null) {
            return 0; // nothing to unmask in memory that is not there
        }
        boolean pending;
        try {
            long pendingOff = SharedInfo.offsetOfEvtchnPending(w) + (long) word * w.bytes();
            long maskOff = SharedInfo.offsetOfEvtchnMask(w) + (long) word * w.bytes();
            if (w == WordSize.BITS_64) {
                long oldMask = si.getAndBitwiseAndLong(maskOff, ~(1L << bit));
                pending = (oldMask & (1L << bit)) != 0 && (si.getLongVolatile(pendingOff) & (1L << bit)) != 0;
            } else {
                int oldMask = si.getAndBitwiseAndInt(maskOff, ~(1 << bit));
                pending = (oldMask & (1 << bit)) != 0 && (si.getIntVolatile(pendingOff) & (1 << bit)) != 0;
            }
        } finally {
            cache.unlock();
        }
        if (pending) {
            notifyVcpu(ports[port].notifyVcpu, word);
        }
        return 0;
    }

    /** Raises every queued event whose shared_info can be locked now; from any thread. */
    void flushDeferred() {
        for (int id = 0; id < virqPorts.length; id++) {
            XenVcpu v = domain.vcpu(id);
            long words = v.takeDeferredSelectorWords();
            while (words != 0) {
                int word = Long.numberOfTrailingZeros(words);
                words &= words - 1;
                notifyVcpu(id, word);
            }
        }
        int n = deferred.size();
        for (int i = 0; i < n; i++) {
            Integer port = deferred.poll();
            if (port == null) {
                break;
            }
            raise(port);
        }
    }

    /** How many events wait for shared_info to be mappable. */
    public int deferredCount() {
        return deferred.size();
    }
}

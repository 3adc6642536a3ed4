package org.jxen.hypercalls;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.IntConsumer;
import java.util.concurrent.atomic.AtomicLongArray;
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
 * or its cache invalid) is kept and written when the cache can be locked again: never lost. What is
 * kept is one bit per port (a port raised twice before it is written is pending once), so a guest
 * that raises events while shared_info is unmapped cannot grow the host's memory.
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
        /** The host backend at the remote end of an interdomain port ({@link #bindBackend}), or null. */
        volatile IntConsumer backend;
        /** The vCPU a VIRQ was bound on (its slot in the binding table); bind_vcpu moves only notifyVcpu. */
        volatile int virqVcpu;
    }

    private final XenDomain domain;
    private final Port[] ports;
    private final int[][] virqPorts;
    /** One bit per port raised while shared_info could not be locked. */
    private final AtomicLongArray deferred;

    EventChannels(XenDomain domain, int vcpus) {
        this.domain = domain;
        this.ports = new Port[Evtchn.nrChannels2Level(WordSize.BITS_64)];
        for (int i = 0; i < ports.length; i++) {
            ports[i] = new Port();
        }
        this.virqPorts = new int[vcpus][org.jxen.abi.Virq.NR_VIRQS];
        this.deferred = new AtomicLongArray((ports.length + 63) / 64);
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

    /**
     * A host backend in domain {@code backendDomid} (0 for the host's own backends: the console, the
     * XenStore) takes the remote end of a new interdomain port of this guest, as Xen's toolstack and
     * backend do in two steps ({@code EVTCHNOP_alloc_unbound} in the guest for the backend's domain,
     * then the backend's {@code EVTCHNOP_bind_interdomain}). Returns the guest port, for the host to
     * hand to the guest (an HVM parameter). The guest's {@code EVTCHNOP_send} on it calls
     * {@code onGuestSend} with the port, on the vCPU thread inside the hypercall; the host notifies
     * the guest with {@link #raise(int)}. {@code EVTCHNOP_status} reports the port as interdomain to
     * {@code backendDomid}. Returns -EINVAL for a bad domid, -ENOSPC when every port is in use.
     */
    public synchronized int bindBackend(int backendDomid, IntConsumer onGuestSend) {
        if (backendDomid < 0 || backendDomid >= Evtchn.DOMID_SELF || backendDomid == domain.domid()
                || onGuestSend == null) {
            return -XenErrno.EINVAL;
        }
        int p = allocate();
        if (p < 0) {
            return p;
        }
        Port port = ports[p];
        port.remoteDomain = backendDomid;
        port.remotePort = p; // the backend's port number: jxen's backends number theirs as the guest's
        port.notifyVcpu = 0;
        port.backend = onGuestSend;
        port.kind = Kind.INTERDOMAIN;
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
        port.virqVcpu = vcpu;
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
            case VIRQ -> virqPorts[p.virqVcpu][p.virq] = 0;
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
        p.backend = null;
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
                IntConsumer backend = p.backend;
                if (backend != null) {
                    backend.accept(port); // the remote end is a host backend
                } else {
                    raise(p.remotePort);
                }
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
            deferred.getAndUpdate(port >>> 6, b -> b | (1L << port));
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
        if (!v.hasVcpuInfo()) {
            v.deferSelectorWord(word); // a vCPU past the 32 slots of shared_info: kept until it registers one
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
            orSelector(vi, base + VcpuInfo.offsetOfEvtchnPendingSel(w), w, 1L << word);
            deliver = vi.getAndSetByte(base + VcpuInfo.offsetOfEvtchnUpcallPending(w), (byte) 1) == 0;
        } finally {
            cache.unlock();
        }
        if (deliver) {
            domain.deliverUpcall(vcpuId);
        }
    }

    /**
     * Atomically ORs {@code bits} into the {@code evtchn_pending_sel} word at {@code off}. A 32-bit
     * guest may register its vcpu_info 4-aligned and then switch to 64-bit mode: its 8-byte selector
     * is then ORed as two 4-byte halves, each atomically (an aligned 8-byte atomic is impossible
     * there; the guest's exchange of the whole word still never loses a bit).
     */
    static void orSelector(MappedArea vi, long off, WordSize w, long bits) {
        if (w == WordSize.BITS_32) {
            vi.getAndBitwiseOrInt(off, (int) bits);
        } else if (((vi.gpa() + off) & 7) == 0) {
            vi.getAndBitwiseOrLong(off, bits);
        } else {
            if ((int) bits != 0) {
                vi.getAndBitwiseOrInt(off, (int) bits);
            }
            if ((bits >>> 32) != 0) {
                vi.getAndBitwiseOrInt(off + 4, (int) (bits >>> 32));
            }
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
        for (int i = 0; i < deferred.length(); i++) {
            if (deferred.get(i) == 0) {
                continue;
            }
            for (long bits = deferred.getAndSet(i, 0); bits != 0; bits &= bits - 1) {
                raise(i * 64 + Long.numberOfTrailingZeros(bits)); // a raise that fails again keeps its bit
            }
        }
    }

    /** Every port that is not free, as plain values (for {@link XenDomain#captureState()}). */
    synchronized java.util.List<DomainState.Port> capturePorts() {
        java.util.List<DomainState.Port> out = new java.util.ArrayList<>();
        for (int p = 1; p < ports.length; p++) {
            Port x = ports[p];
            if (x.kind != Kind.FREE) {
                out.add(new DomainState.Port(p, x.kind, x.notifyVcpu, x.remoteDomain, x.remotePort, x.virq,
                        x.virqVcpu));
            }
        }
        return java.util.List.copyOf(out);
    }

    /** Binds captured ports again in a domain with none bound; pending and mask bits live in guest memory. */
    synchronized void restorePorts(java.util.List<DomainState.Port> captured) {
        for (DomainState.Port c : captured) {
            if (c.port() <= 0 || c.port() >= ports.length) {
                throw new IllegalArgumentException("captured port " + c.port() + " is out of range");
            }
            Port x = ports[c.port()];
            x.notifyVcpu = c.notifyVcpu();
            x.remoteDomain = c.remoteDomain();
            x.remotePort = c.remotePort();
            x.virq = c.virq();
            x.virqVcpu = c.virqVcpu();
            x.kind = c.kind();
            if (c.kind() == Kind.VIRQ) {
                virqPorts[c.virqVcpu()][c.virq()] = c.port();
            }
        }
    }

    /** Ports raised while shared_info could not be written, not yet delivered. */
    int[] deferredPorts() {
        java.util.stream.IntStream.Builder out = java.util.stream.IntStream.builder();
        for (int i = 0; i < deferred.length(); i++) {
            for (long bits = deferred.get(i); bits != 0; bits &= bits - 1) {
                out.add(i * 64 + Long.numberOfTrailingZeros(bits));
            }
        }
        return out.build().toArray();
    }

    /** How many ports wait for shared_info to be mappable. */
    public int deferredCount() {
        int n = 0;
        for (int i = 0; i < deferred.length(); i++) {
            n += Long.bitCount(deferred.get(i));
        }
        return n;
    }
}

package org.jxen.hypercalls;

import java.util.ArrayList;
import java.util.function.IntConsumer;
import org.jxen.abi.Evtchn;
import org.jxen.abi.EvtchnFifo;
import org.jxen.abi.EvtchnStatus;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuInfo;
import org.jxen.abi.Virq;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.MappedArea;

/**
 * The event channels of one domain: the port table (who is bound to what) and the delivery
 * protocol over shared memory, 2-level until the guest initialises the FIFO ABI
 * ({@code EVTCHNOP_init_control}, then {@link EventFifo}), and 2-level again after
 * {@code EVTCHNOP_reset}.
 *
 * <h2>2-level</h2>
 * Pending and mask bits live in shared_info's {@code evtchn_pending}/{@code evtchn_mask} word arrays
 * (64-bit words for a 64-bit guest, 32-bit words for a 32-bit one); a newly pending, unmasked port
 * sets its word's bit in the target vCPU's {@code evtchn_pending_sel}, then
 * {@code evtchn_upcall_pending}, and when that was clear the vCPU's upcall vector is delivered.
 *
 * <h2>Port table</h2>
 * Port records are allocated lazily, in buckets of {@value #BUCKET_SIZE} ports created when a port
 * in them is first bound (as Xen's buckets), so a domain that binds a handful of ports holds one
 * bucket rather than a record for each of the 4096 (2-level) or 131072 (FIFO) ports. A bucket is
 * published whole through a final field, so {@link #raise(int)} reads the table without a lock and
 * without allocating.
 *
 * <h2>Host backends</h2>
 * A host-side backend (XenStore, console) owns the remote end of an interdomain channel with this
 * guest: {@link #bindBackend}, {@link #offerBackendPort}, {@link #bindBackendToGuestPort}. The
 * backend's end has a port number of its own (what its port would be in dom0), reported by
 * {@code EVTCHNOP_status}; the guest's {@code EVTCHNOP_send} on the channel calls the backend's
 * callback, and the host raises the guest's port with {@link #raise(int)}.
 *
 * <p>Threads: {@link #send(int)} and {@link #raise(int)} may be called from any thread (a vCPU's
 * hypercall, a timer, a backend); binding operations, the backend API and the FIFO set-up come from
 * vCPU threads or the host and are serialised on this object. Pending bits are set with atomic
 * read-modify-writes on guest memory, so the guest's own clears never lose a host's set. An event
 * that cannot be written now (shared_info or an event-array page not mapped, or its cache invalid)
 * is kept, once per port however often it is raised, and written when the cache can be locked
 * again: never lost, and a guest cannot grow the host's memory by raising while it is unmapped.
 */
public final class EventChannels {
    /** What a port is. */
    public enum Kind {
        FREE, UNBOUND, INTERDOMAIN, VIRQ, IPI
    }

    /** Ports per bucket of the lazily allocated port table. */
    static final int BUCKET_SIZE = 64;
    private static final int BUCKET_SHIFT = 6;
    /** Enough buckets for every FIFO port; the table grows to this when FIFO is initialised. */
    private static final int MAX_BUCKETS = EvtchnFifo.NR_CHANNELS / BUCKET_SIZE;

    /**
     * One port's binding. Written under the EventChannels monitor; read racily by send and raise
     * (benign: a racing send or raise acts on the binding before or after the change). The FIFO
     * fields are the FIFO state Xen keeps per channel.
     */
    static final class Port {
        volatile Kind kind = Kind.FREE;
        volatile int notifyVcpu;
        volatile int remoteDomain;
        volatile int remotePort;
        volatile int virq;
        /** FIFO priority, 0 (highest) .. 15. */
        volatile int priority = EvtchnFifo.PRIORITY_DEFAULT;
        /** FIFO: the index of the queue this port was last linked on (guarded by that queue's lock). */
        volatile int lastQueue;
        /** FIFO: raised while the event-array page of its word was missing; raised again when the page is added. */
        volatile boolean pendingWithoutWord;
        /** The host backend at the remote end of an interdomain channel, or null. */
        volatile BackendEnd backend;
        /** The vCPU a VIRQ was bound on (its slot in the binding table); bind_vcpu moves only notifyVcpu. */
        volatile int virqVcpu;
    }

    /** A bucket of ports, published whole: its final field makes its Port objects visible to racy readers. */
    private static final class Bucket {
        final Port[] ports = new Port[BUCKET_SIZE];

        Bucket() {
            for (int i = 0; i < BUCKET_SIZE; i++) {
                ports[i] = new Port();
            }
        }
    }

    /**
     * A host backend's end of an interdomain channel with this guest: what the backend domain's
     * own port would be in Xen. Guarded by the EventChannels monitor.
     */
    static final class BackendEnd {
        final int port;
        final int domid;
        final IntConsumer onGuestSend;
        /** The guest port connected to this end, 0 while unbound. */
        int guestPort;

        BackendEnd(int port, int domid, IntConsumer onGuestSend) {
            this.port = port;
            this.domid = domid;
            this.onGuestSend = onGuestSend;
        }
    }

    private final XenDomain domain;
    /** The port table; replaced (grown) only under the monitor. */
    private volatile Bucket[] buckets;
    private final int[][] virqPorts;
    /**
     * Ports raised while their guest memory could not be locked, each once however often it was
     * raised, so a guest that raises events then cannot grow the host's memory past its port count.
     */
    private final java.util.Set<Integer> deferred = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** The FIFO ABI state once the guest initialised it, else null (2-level). */
    private volatile EventFifo fifo;
    /** Backend ends by backend port - 1 (null once closed); guarded by the monitor. */
    private final ArrayList<BackendEnd> backendEnds = new ArrayList<>();

    EventChannels(XenDomain domain, int vcpus) {
        this.domain = domain;
        this.buckets = new Bucket[Evtchn.nrChannels2Level(WordSize.BITS_64) / BUCKET_SIZE];
        this.virqPorts = new int[vcpus][Virq.NR_VIRQS];
    }

    /** The number of ports: 2^17 with FIFO, else the 2-level count for the guest's word size. */
    int portCount() {
        return fifo != null ? EvtchnFifo.NR_CHANNELS : Evtchn.nrChannels2Level(domain.wordSize());
    }

    /** The record of {@code port}, or null when its bucket was never allocated (the port is free). */
    private Port port(int port) {
        Bucket[] bs = buckets;
        int b = port >>> BUCKET_SHIFT;
        if (port < 0 || b >= bs.length) {
            return null;
        }
        Bucket bucket = bs[b];
        return bucket == null ? null : bucket.ports[port & (BUCKET_SIZE - 1)];
    }

    /** The record of a valid, bound (interdomain, VIRQ or IPI) port, or null. */
    private Port boundPort(int port) {
        if (!valid(port)) {
            return null;
        }
        Port p = port(port);
        if (p == null) {
            return null;
        }
        Kind k = p.kind;
        return k == Kind.INTERDOMAIN || k == Kind.VIRQ || k == Kind.IPI ? p : null;
    }

    /** How many port buckets are allocated (for tests of the lazy table). */
    synchronized int allocatedBuckets() {
        int n = 0;
        for (Bucket b : buckets) {
            if (b != null) {
                n++;
            }
        }
        return n;
    }

    Kind kind(int port) {
        Port p = valid(port) ? port(port) : null;
        return p == null ? Kind.FREE : p.kind;
    }

    int notifyVcpu(int port) {
        Port p = port(port);
        return p == null ? 0 : p.notifyVcpu;
    }

    /** The FIFO priority of {@code port} (7 unless set). */
    int priority(int port) {
        Port p = port(port);
        return p == null ? EvtchnFifo.PRIORITY_DEFAULT : p.priority;
    }

    boolean valid(int port) {
        return port > 0 && port < portCount();
    }

    /** True once the guest initialised the FIFO ABI (until EVTCHNOP_reset). */
    public boolean isFifo() {
        return fifo != null;
    }

    EventFifo fifo() {
        return fifo;
    }

    // ------------------------------------------------------------------ binding (monitor)

    /** A free port with its record reset for a new binding (its bucket allocated if needed), or -ENOSPC. */
    private int allocate() {
        int n = portCount();
        for (int p = 1; p < n; p++) {
            Port port = port(p);
            if (port == null) {
                ensureBucket(p);
                port = port(p);
            }
            if (port.kind == Kind.FREE) {
                port.priority = EvtchnFifo.PRIORITY_DEFAULT; // Xen's evtchn_fifo_init on allocation
                port.pendingWithoutWord = false;
                port.backend = null;
                port.notifyVcpu = 0;
                port.remotePort = 0;
                return p;
            }
        }
        return -XenErrno.ENOSPC;
    }

    private void ensureBucket(int port) {
        int b = port >>> BUCKET_SHIFT;
        Bucket[] bs = buckets;
        if (b >= bs.length) {
            bs = java.util.Arrays.copyOf(bs, Math.max(b + 1, MAX_BUCKETS));
            buckets = bs;
        }
        if (bs[b] == null) {
            bs[b] = new Bucket();
        }
    }

    /** EVTCHNOP_alloc_unbound: a port that {@code remoteDomain} may bind to. */
    synchronized int allocUnbound(int remoteDomain) {
        int p = allocate();
        if (p < 0) {
            return p;
        }
        Port port = port(p);
        port.remoteDomain = remoteDomain;
        port.kind = Kind.UNBOUND;
        return p;
    }

    /**
     * EVTCHNOP_bind_interdomain to one of this domain's own unbound ports (loopback), or to a port
     * that a host backend offers ({@link #offerBackendPort}).
     */
    synchronized int bindInterdomain(int remoteDomain, int remotePort) {
        if (remoteDomain != domain.domid()) {
            return bindToBackend(remoteDomain, remotePort);
        }
        Port remote = valid(remotePort) ? port(remotePort) : null;
        if (remote == null || remote.kind != Kind.UNBOUND || remote.remoteDomain != domain.domid()) {
            return -XenErrno.EINVAL;
        }
        int p = allocate();
        if (p < 0) {
            return p;
        }
        Port local = port(p);
        local.remoteDomain = domain.domid();
        local.remotePort = remotePort;
        local.kind = Kind.INTERDOMAIN;
        remote.remotePort = p;
        remote.kind = Kind.INTERDOMAIN;
        return p;
    }

    /** EVTCHNOP_bind_virq. */
    synchronized int bindVirq(int virq, int vcpu) {
        if (virq < 0 || virq >= Virq.NR_VIRQS) {
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
        Port port = port(p);
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
        Port port = port(p);
        port.notifyVcpu = vcpu;
        port.kind = Kind.IPI;
        return p;
    }

    /** EVTCHNOP_bind_vcpu: which vCPU a port notifies (not for IPI ports, as in Xen's 2-level ABI: allowed for all but IPI). */
    synchronized int bindVcpu(int port, int vcpu) {
        Port p = valid(port) ? port(port) : null;
        if (p == null || p.kind == Kind.FREE) {
            return -XenErrno.ENOENT;
        }
        if (vcpu < 0 || vcpu >= virqPorts.length) {
            return -XenErrno.ENOENT;
        }
        if (p.kind == Kind.IPI) {
            return -XenErrno.EINVAL;
        }
        if (p.kind == Kind.VIRQ) {
            if (p.virq != Virq.DEBUG && p.virq != Virq.CONSOLE) {
                return -XenErrno.EINVAL; // per-vCPU VIRQs (timer) stay where they were bound
            }
        }
        p.notifyVcpu = vcpu;
        return 0;
    }

    /** EVTCHNOP_close. With FIFO, the port's PENDING bit is cleared (its LINKED bit stays: the guest unlinks it). */
    synchronized int close(int port) {
        Port p = valid(port) ? port(port) : null;
        if (p == null) {
            return -XenErrno.EINVAL;
        }
        return closePort(port, p);
    }

    private int closePort(int port, Port p) {
        switch (p.kind) {
            case FREE -> {
                return -XenErrno.EINVAL;
            }
            case VIRQ -> virqPorts[p.virqVcpu][p.virq] = 0;
            case INTERDOMAIN -> {
                BackendEnd end = p.backend;
                if (end != null) {
                    end.guestPort = 0; // the backend's end goes back to unbound, as a peer does in Xen
                    p.backend = null;
                } else if (p.remoteDomain == domain.domid() && valid(p.remotePort)) {
                    Port peer = port(p.remotePort);
                    if (peer != null && peer.kind == Kind.INTERDOMAIN) {
                        peer.kind = Kind.UNBOUND; // the peer goes back to unbound, as in Xen
                        peer.remoteDomain = domain.domid();
                    }
                }
            }
            default -> {
            }
        }
        p.kind = Kind.FREE;
        EventFifo f = fifo;
        if (f != null) {
            f.clearPending(port, p);
        }
        p.pendingWithoutWord = false;
        return 0;
    }

    /** EVTCHNOP_status fields: status, vcpu, and the union words. */
    synchronized int[] status(int port) {
        if (!valid(port)) {
            return null;
        }
        Port p = port(port);
        if (p == null) {
            return new int[] {EvtchnStatus.CLOSED, 0, 0, 0};
        }
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
        int u1 = p.kind == Kind.INTERDOMAIN ? p.remotePort : 0;
        return new int[] {st, p.notifyVcpu, u0, u1};
    }

    /**
     * EVTCHNOP_reset: closes every port; a domain using FIFO goes back to 2-level (its control
     * blocks and event array are forgotten), as Xen does for {@code DOMID_SELF}.
     */
    synchronized void reset() {
        Bucket[] bs = buckets;
        for (int p = 1; p < bs.length * BUCKET_SIZE; p++) {
            Port port = port(p);
            if (port != null && port.kind != Kind.FREE) {
                closePort(p, port);
            }
        }
        EventFifo f = fifo;
        if (f != null) {
            fifo = null;
            f.destroy();
        }
    }

    /** Releases the FIFO caches; when the domain closes. */
    synchronized void release() {
        EventFifo f = fifo;
        if (f != null) {
            fifo = null;
            f.destroy();
        }
    }

    /** The port bound to {@code virq} on {@code vcpu}, or 0. */
    int virqPort(int vcpu, int virq) {
        return vcpu >= 0 && vcpu < virqPorts.length ? virqPorts[vcpu][virq] : 0;
    }

    // ------------------------------------------------------------------ FIFO set-up (monitor)

    /**
     * EVTCHNOP_init_control: the control block of {@code vcpu} at {@code offset} in frame
     * {@code gfn}. The first call switches the domain to FIFO: every bound port gets the default
     * priority and keeps its 2-level pending state (raised again once its event-array page exists).
     * Returns 0 or a negative Xen errno: -ENOENT for a bad vCPU, -EINVAL for an offset where the
     * 72-byte block does not fit the page or is not 8-byte aligned, for a frame that is not
     * writable guest RAM, and for a vCPU that already has a control block.
     */
    synchronized int initControl(long gfn, long offset, int vcpu) {
        if (vcpu < 0 || vcpu >= virqPorts.length) {
            return -XenErrno.ENOENT;
        }
        EventFifo f = fifo;
        if (f == null) {
            f = new EventFifo(domain, this, virqPorts.length);
            int rc = f.initControl(vcpu, gfn, offset);
            if (rc < 0) {
                f.destroy();
                return rc;
            }
            Bucket[] bs = buckets;
            if (bs.length < MAX_BUCKETS) {
                buckets = java.util.Arrays.copyOf(bs, MAX_BUCKETS);
            }
            for (int p = 1; p < buckets.length * BUCKET_SIZE; p++) {
                Port port = port(p);
                if (port != null && port.kind != Kind.FREE) {
                    port.priority = EvtchnFifo.PRIORITY_DEFAULT;
                    port.pendingWithoutWord = isPending2Level(p);
                }
            }
            fifo = f;
            return 0;
        }
        int rc = f.initControl(vcpu, gfn, offset);
        if (rc == 0) {
            relinkPendingFor(f, vcpu);
        }
        return rc;
    }

    /**
     * Links every bound port of {@code vcpu} that is pending, unmasked and not linked: events raised
     * while the vCPU had no control block (Xen leaves them pending until the guest unmasks them).
     */
    private void relinkPendingFor(EventFifo f, int vcpu) {
        Bucket[] bs = buckets;
        for (int p = 1; p < bs.length * BUCKET_SIZE; p++) {
            Port port = port(p);
            if (port != null && port.notifyVcpu == vcpu && boundPort(p) != null) {
                f.relinkIfPending(p, port);
            }
        }
    }

    /** EVTCHNOP_expand_array: adds the event-array page at {@code gfn}. */
    synchronized int expandArray(long gfn) {
        EventFifo f = fifo;
        if (f == null) {
            return -XenErrno.EOPNOTSUPP;
        }
        int page = f.expandArray(gfn);
        if (page < 0) {
            return page;
        }
        // raise again what was raised while this page was missing (Xen's add_page_to_event_array)
        int first = page * EvtchnFifo.EVENT_WORDS_PER_PAGE;
        for (int p = Math.max(1, first); p < first + EvtchnFifo.EVENT_WORDS_PER_PAGE; p++) {
            Port port = port(p);
            if (port != null && port.pendingWithoutWord) {
                port.pendingWithoutWord = false;
                raise(p);
            }
        }
        return 0;
    }

    /**
     * EVTCHNOP_set_priority, checked in Xen's order: -EINVAL for a port outside the allocated
     * buckets, -ENOSYS while 2-level, -EINVAL for a priority above 15.
     */
    synchronized int setPriority(int port, int priority) {
        if (!valid(port) || port(port) == null) {
            return -XenErrno.EINVAL; // in no allocated bucket: not a valid port yet, as in Xen
        }
        if (fifo == null) {
            return -XenErrno.ENOSYS;
        }
        if (priority < 0 || priority > EvtchnFifo.PRIORITY_MIN) {
            return -XenErrno.EINVAL;
        }
        // only future links use the new queue; a linked event stays where it is, as in Xen
        port(port).priority = priority;
        return 0;
    }

    // ------------------------------------------------------------------ host backends (monitor)

    private static boolean validBackendDomid(int domid, int self) {
        return domid >= 0 && domid < Evtchn.DOMID_SELF && domid != self;
    }

    private BackendEnd newBackendEnd(int backendDomid, IntConsumer onGuestSend) {
        BackendEnd end = new BackendEnd(backendEnds.size() + 1, backendDomid, onGuestSend);
        backendEnds.add(end);
        return end;
    }

    private BackendEnd backendEnd(int backendPort) {
        return backendPort >= 1 && backendPort <= backendEnds.size() ? backendEnds.get(backendPort - 1) : null;
    }

    private void connect(int guestPort, BackendEnd end) {
        Port p = port(guestPort);
        p.remoteDomain = end.domid;
        p.remotePort = end.port;
        p.backend = end;
        p.kind = Kind.INTERDOMAIN;
        end.guestPort = guestPort;
    }

    /**
     * A host backend in domain {@code backendDomid} (0 for the host's own backends) creates an
     * interdomain channel with this guest, as Xen's toolstack and backend do in two steps
     * ({@code EVTCHNOP_alloc_unbound} in the guest for the backend's domain, then the backend's
     * {@code EVTCHNOP_bind_interdomain}): the guest port is returned, already interdomain, for the
     * host to hand to the guest (an HVM parameter, a XenStore key). The guest's
     * {@code EVTCHNOP_send} on it calls {@code onGuestSend} with the guest port; the host notifies
     * the guest with {@link #raise(int)} on that port. {@code EVTCHNOP_status} reports it as
     * interdomain to ({@code backendDomid}, the backend's port).
     *
     * <p>{@code onGuestSend} runs on the vCPU thread that made the hypercall, inside it: it must not
     * block (hand the work to another thread) and must not throw.
     *
     * @return the guest port, or -EINVAL for a bad backend domid (DOMID_SELF and above, or this
     *         guest's own), -ENOSPC when every port is in use
     */
    public synchronized int bindBackend(int backendDomid, IntConsumer onGuestSend) {
        if (!validBackendDomid(backendDomid, domain.domid()) || onGuestSend == null) {
            return -XenErrno.EINVAL;
        }
        int p = allocate();
        if (p < 0) {
            return p;
        }
        connect(p, newBackendEnd(backendDomid, onGuestSend));
        return p;
    }

    /**
     * A host backend in domain {@code backendDomid} offers an unbound port of its own that the guest
     * may bind to with {@code EVTCHNOP_bind_interdomain(remote_dom = backendDomid, remote_port =
     * the returned port)}. {@code onGuestSend} as in {@link #bindBackend}; {@link #backendPeer}
     * says which guest port bound it.
     *
     * @return the backend's port (1, 2, ...), or -EINVAL for a bad backend domid
     */
    public synchronized int offerBackendPort(int backendDomid, IntConsumer onGuestSend) {
        if (!validBackendDomid(backendDomid, domain.domid()) || onGuestSend == null) {
            return -XenErrno.EINVAL;
        }
        return newBackendEnd(backendDomid, onGuestSend).port;
    }

    /**
     * A host backend in domain {@code backendDomid} binds to the guest's unbound port
     * {@code guestPort}, which the guest allocated for it ({@code EVTCHNOP_alloc_unbound} with
     * {@code remote_dom = backendDomid}), as a backend driver binds to a frontend's port.
     *
     * @return the backend's port, or -EINVAL when {@code guestPort} is not unbound for that domain
     */
    public synchronized int bindBackendToGuestPort(int backendDomid, int guestPort, IntConsumer onGuestSend) {
        if (!validBackendDomid(backendDomid, domain.domid()) || onGuestSend == null) {
            return -XenErrno.EINVAL;
        }
        Port p = valid(guestPort) ? port(guestPort) : null;
        if (p == null || p.kind != Kind.UNBOUND || p.remoteDomain != backendDomid) {
            return -XenErrno.EINVAL;
        }
        BackendEnd end = newBackendEnd(backendDomid, onGuestSend);
        connect(guestPort, end);
        return end.port;
    }

    /** The guest port connected to backend port {@code backendPort}, 0 while unbound, -EINVAL if there is no such port. */
    public synchronized int backendPeer(int backendPort) {
        BackendEnd end = backendEnd(backendPort);
        return end == null ? -XenErrno.EINVAL : end.guestPort;
    }

    /**
     * The backend closes its end: a connected guest port goes back to unbound (for the backend's
     * domain), as a port whose peer closes does in Xen. Returns 0 or -EINVAL.
     */
    public synchronized int closeBackendPort(int backendPort) {
        BackendEnd end = backendEnd(backendPort);
        if (end == null) {
            return -XenErrno.EINVAL;
        }
        if (end.guestPort != 0) {
            Port p = port(end.guestPort);
            if (p != null && p.backend == end) {
                p.backend = null;
                p.remoteDomain = end.domid;
                p.remotePort = 0;
                p.kind = Kind.UNBOUND;
            }
            end.guestPort = 0;
        }
        backendEnds.set(backendPort - 1, null);
        return 0;
    }

    /** The guest's EVTCHNOP_bind_interdomain to a backend's offered port. */
    private int bindToBackend(int remoteDomain, int remotePort) {
        boolean known = remoteDomain == 0; // the host is dom0: it always exists
        for (BackendEnd e : backendEnds) {
            known |= e != null && e.domid == remoteDomain;
        }
        if (!known) {
            return -XenErrno.ESRCH; // no such domain: neither the host nor any backend's
        }
        BackendEnd end = backendEnd(remotePort);
        if (end == null || end.domid != remoteDomain || end.guestPort != 0) {
            return -XenErrno.EINVAL;
        }
        int p = allocate();
        if (p < 0) {
            return p;
        }
        connect(p, end);
        return p;
    }

    // ------------------------------------------------------------------ sending (any thread)

    /**
     * EVTCHNOP_send from the guest: to the peer of an interdomain port (a host backend's callback,
     * or the loopback peer), the port itself for an IPI. Returns 0 or a negative Xen errno.
     */
    int send(int port) {
        Port p = valid(port) ? port(port) : null;
        if (p == null) {
            return -XenErrno.EINVAL;
        }
        switch (p.kind) {
            case INTERDOMAIN -> {
                BackendEnd end = p.backend;
                if (end != null) {
                    end.onGuestSend.accept(port);
                } else {
                    raise(p.remotePort);
                }
                return 0;
            }
            case IPI -> {
                raiseBound(port, p); // checked above: valid and bound
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
     * peer of a send). From any thread; allocation-free and lock-free when the port is already
     * pending or masked. If guest memory cannot be locked now, the port is queued and raised when
     * it can ({@link #flushDeferred()}). Only bound ports become pending, as in Xen.
     */
    public void raise(int port) {
        Port p = boundPort(port);
        if (p != null) {
            raiseBound(port, p);
        }
    }

    /** {@link #raise(int)} of a port already found valid and bound. */
    private void raiseBound(int port, Port p) {
        EventFifo f = fifo;
        if (f != null) {
            domain.stats().eventSent(p.kind); // FIFO: counted when raised, also when its link waits
            f.raise(port, p);
        } else {
            raise2Level(port, p);
        }
    }

    private void raise2Level(int port, Port p) {
        WordSize w = domain.wordSize();
        int bits = w == WordSize.BITS_64 ? 64 : 32;
        int word = port / bits;
        int bit = port % bits;
        var cache = domain.sharedInfoCache();
        MappedArea si = cache.lock();
        if (si == null) {
            defer(port);
            return;
        }
        boolean newlyPending;
        boolean notify;
        try {
            long pendingOff = SharedInfo.offsetOfEvtchnPending(w) + (long) word * w.bytes();
            long maskOff = SharedInfo.offsetOfEvtchnMask(w) + (long) word * w.bytes();
            if (w == WordSize.BITS_64) {
                long old = si.getAndBitwiseOrLong(pendingOff, 1L << bit);
                newlyPending = (old & (1L << bit)) == 0;
                notify = newlyPending && (si.getLongVolatile(maskOff) & (1L << bit)) == 0;
            } else {
                int old = si.getAndBitwiseOrInt(pendingOff, 1 << bit);
                newlyPending = (old & (1 << bit)) == 0;
                notify = newlyPending && (si.getIntVolatile(maskOff) & (1 << bit)) == 0;
            }
        } finally {
            cache.unlock();
        }
        domain.stats().eventSent(p.kind); // written: a deferred raise counts when it is written
        if (newlyPending) {
            domain.wakeWaiters(); // SCHEDOP_poll waits for pending bits, masked or not
        }
        if (notify) {
            notifyVcpu(p.notifyVcpu, word);
        }
    }

    /** Queues {@code port} to be raised again when guest memory can be locked. */
    void defer(int port) {
        domain.stats().eventDeferred();
        deferred.add(port);
        domain.scheduleDeferredFlush();
    }

    /** True when {@code port} is pending (masked or not); false if unreadable. */
    boolean isPending(int port) {
        if (!valid(port)) {
            return false;
        }
        EventFifo f = fifo;
        if (f != null) {
            Port p = port(port);
            return p != null && f.isPending(port, p);
        }
        return isPending2Level(port);
    }

    private boolean isPending2Level(int port) {
        WordSize w = domain.wordSize();
        int bits = w == WordSize.BITS_64 ? 64 : 32;
        if (port >= Evtchn.nrChannels2Level(w)) {
            return false;
        }
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
     * EVTCHNOP_unmask: clears the mask bit; if the port is pending, it is delivered now (unmask
     * re-delivers; with FIFO it is linked again).
     */
    int unmask(int port) {
        if (!valid(port)) {
            return -XenErrno.EINVAL;
        }
        EventFifo f = fifo;
        if (f != null) {
            f.unmask(port, boundPort(port));
            return 0;
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
            notifyVcpu(notifyVcpu(port), word);
        }
        return 0;
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

    /** Every port that is not free, as plain values (for {@link XenDomain#captureState()}). */
    synchronized java.util.List<DomainState.Port> capturePorts() {
        java.util.List<DomainState.Port> out = new java.util.ArrayList<>();
        for (int p = 1; p < EvtchnFifo.NR_CHANNELS; p++) {
            Port x = port(p);
            if (x == null) {
                p |= BUCKET_SIZE - 1; // a bucket never allocated holds only free ports
                continue;
            }
            if (x.kind != Kind.FREE) {
                out.add(new DomainState.Port(p, x.kind, x.notifyVcpu, x.remoteDomain, x.remotePort, x.virq,
                        x.virqVcpu, x.priority));
            }
        }
        return java.util.List.copyOf(out);
    }

    /**
     * Binds captured ports again in a domain with none bound; pending and mask bits live in guest
     * memory. Ports with a host backend are not in a capture's reach: the backends bind theirs again.
     */
    synchronized void restorePorts(java.util.List<DomainState.Port> captured) {
        for (DomainState.Port c : captured) {
            if (c.port() <= 0 || c.port() >= EvtchnFifo.NR_CHANNELS) {
                throw new IllegalArgumentException("captured port " + c.port() + " is out of range");
            }
            ensureBucket(c.port());
            Port x = port(c.port());
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

    /** The FIFO ABI's state, or null while the domain uses 2-level event channels. */
    synchronized DomainState.Fifo captureFifo() {
        EventFifo f = fifo;
        return f == null ? null : f.capture();
    }

    /**
     * Sets the FIFO ABI up again from captured state (after {@link #restorePorts}): the control
     * blocks and event-array pages at the same frames, nothing written to them (guest memory holds
     * the words and queues), queue tails and port priorities as they were. Returns 0 or the first
     * failure's negative Xen errno.
     */
    synchronized int restoreFifo(DomainState.Fifo s, java.util.List<DomainState.Port> captured) {
        EventFifo f = new EventFifo(domain, this, virqPorts.length);
        for (int v = 0; v < s.controlBlockGpas().length; v++) {
            long gpa = s.controlBlockGpas()[v];
            if (gpa >= 0) {
                int rc = f.initControl(v, gpa >>> 12, gpa & 4095);
                if (rc < 0) {
                    f.destroy();
                    return rc;
                }
            }
        }
        for (long gfn : s.eventArrayGfns()) {
            int rc = f.expandArray(gfn);
            if (rc < 0) {
                f.destroy();
                return rc;
            }
        }
        f.restoreTails(s.queueTails());
        Bucket[] bs = buckets;
        if (bs.length < MAX_BUCKETS) {
            buckets = java.util.Arrays.copyOf(bs, MAX_BUCKETS);
        }
        for (DomainState.Port c : captured) {
            Port x = port(c.port());
            if (x != null) {
                x.priority = c.priority();
            }
        }
        fifo = f;
        return 0;
    }

    /** Ports raised while their guest memory could not be locked, not yet delivered. */
    int[] deferredPorts() {
        return deferred.stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    /** Raises every queued event whose guest memory can be locked now; from any thread. */
    public void flushDeferred() {
        for (int id = 0; id < virqPorts.length; id++) {
            XenVcpu v = domain.vcpu(id);
            long words = v.takeDeferredSelectorWords();
            while (words != 0) {
                int word = Long.numberOfTrailingZeros(words);
                words &= words - 1;
                notifyVcpu(id, word);
            }
        }
        for (Integer port : deferred.toArray(new Integer[0])) {
            if (deferred.remove(port)) {
                raise(port); // a raise that fails again defers the port again
            }
        }
        EventFifo f = fifo;
        if (f != null) {
            f.flushDeferredUpcalls();
        }
    }

    /** How many events wait for guest memory to be mappable (ports queued, and FIFO upcalls kept). */
    public int deferredCount() {
        EventFifo f = fifo;
        return deferred.size() + (f == null ? 0 : f.deferredUpcalls());
    }
}

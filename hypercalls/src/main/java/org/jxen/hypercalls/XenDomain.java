package org.jxen.hypercalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jxen.abi.ConsoleIo;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.HvmOp;
import org.jxen.abi.HvmParam;
import org.jxen.abi.Hypercall;
import org.jxen.abi.SchedOp;
import org.jxen.abi.VcpuOp;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenAbi;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenMapSpace;
import org.jxen.abi.XenMem;
import org.jxen.abi.XenVersion;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.GuestMemoryFault;
import org.jxen.hypercalls.mm.GuestPointerFault;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * One Xen domain as its guest sees it: the hypercall dispatcher, shared_info, the vCPUs' Xen
 * state, event channels and HVM parameters. Built on a {@link XenPlatform}, so it knows nothing of
 * KVM.
 *
 * <p>Status (issue 5 in progress): xen_version (version, extraversion, capabilities, changeset,
 * pagesize, get_features), console_io write, event_channel_op (2-level: alloc_unbound,
 * bind_interdomain (loopback), bind_virq, bind_ipi, bind_vcpu, send, close, status, unmask, reset),
 * hvm_op (set/get_param, set_evtchn_upcall_vector), memory_op add_to_physmap(shared_info),
 * vcpu_op register_vcpu_info and is_up, sched_op yield and shutdown. Everything else returns
 * {@code -ENOSYS}.
 *
 * <p>Threads: {@link #dispatch} on vCPU threads (each vCPU its own calls); {@link #raise} and
 * {@link #raiseVirq} from any thread. Guest pointers are translated with the calling vCPU's page
 * tables; a bad pointer is {@code -EFAULT}, never an exception out of {@code dispatch}.
 */
public final class XenDomain implements HypercallDispatcher, AutoCloseable {
    /** Fixed facts of a domain. */
    public record Config(int domid, int vcpus, int xenMajor, int xenMinor, String extraversion) {
        public static Config of(int vcpus) {
            return new Config(1, vcpus, XenAbi.XEN_VERSION_MAJOR, XenAbi.XEN_VERSION_MINOR, ".0-jxen");
        }
    }

    private final XenPlatform platform;
    private final Config config;
    private final GfnToPfnCache sharedInfo;
    private final XenVcpu[] vcpus;
    private final EventChannels eventChannels;
    private final long[] hvmParams = new long[HvmParam.HVM_NR_PARAMS];
    private volatile WordSize wordSize = WordSize.BITS_64;
    private volatile long sharedInfoGfn = -1;
    private final ScheduledExecutorService scheduler;
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    private final VcpuTimers[] timers;
    /** Where vCPUs in SCHEDOP_block or SCHEDOP_poll wait; notified by every raise while any waits. */
    private final Object waiters = new Object();
    private volatile int waiting;

    public XenDomain(XenPlatform platform, Config config) {
        this.platform = platform;
        this.config = config;
        this.sharedInfo = platform.memory().newCache("shared_info");
        this.vcpus = new XenVcpu[config.vcpus()];
        for (int i = 0; i < vcpus.length; i++) {
            vcpus[i] = new XenVcpu(this, i);
        }
        this.eventChannels = new EventChannels(this, config.vcpus());
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "xen-domain-" + config.domid());
            t.setDaemon(true);
            return t;
        });
        this.timers = new VcpuTimers[config.vcpus()];
        for (int i = 0; i < timers.length; i++) {
            timers[i] = new VcpuTimers(this, i, scheduler);
        }
    }

    public int domid() {
        return config.domid();
    }

    public Config config() {
        return config;
    }

    GuestMemory memory() {
        return platform.memory();
    }

    /** The guest's word size, latched from its latest hypercall (as Xen latches it for HVM guests). */
    public WordSize wordSize() {
        return wordSize;
    }

    GfnToPfnCache sharedInfoCache() {
        return sharedInfo;
    }

    /** The frame where the guest placed shared_info, or -1. */
    public long sharedInfoGfn() {
        return sharedInfoGfn;
    }

    public XenVcpu vcpu(int id) {
        return id >= 0 && id < vcpus.length ? vcpus[id] : null;
    }

    public EventChannels eventChannels() {
        return eventChannels;
    }

    /** Xen system time in ns: the platform's monotonic clock (what pvclock and timer deadlines use). */
    public long systemTime() {
        return platform.monotonicNanos();
    }

    /** vCPU {@code id}'s timers. */
    public VcpuTimers timers(int id) {
        return timers[id];
    }

    /** HVM parameter {@code index}, as the guest or the host set it. */
    public long hvmParam(int index) {
        return hvmParams[index];
    }

    /** The host sets an HVM parameter (for example the XenStore page and port before boot). */
    public void setHvmParam(int index, long value) {
        hvmParams[index] = value;
    }

    /** Makes {@code port} pending in the guest; from any thread (host backends, timers). */
    public void raise(int port) {
        eventChannels.raise(port);
    }

    /** Raises {@code virq} on {@code vcpu} if the guest bound it; from any thread. Returns false if unbound. */
    public boolean raiseVirq(int vcpu, int virq) {
        int port = eventChannels.virqPort(vcpu, virq);
        if (port == 0) {
            return false;
        }
        eventChannels.raise(port);
        return true;
    }

    void deliverUpcall(int vcpuId) {
        XenVcpu v = vcpus[vcpuId];
        int vector = v.upcallVector();
        if (vector == 0) {
            long cb = hvmParams[HvmParam.CALLBACK_IRQ];
            if ((cb >>> HvmParam.CALLBACK_TYPE_SHIFT) == HvmParam.CALLBACK_TYPE_VECTOR) {
                vector = (int) (cb & 0xff);
            }
        }
        if (vector >= 16) {
            platform.deliverVector(vcpuId, vector);
        }
    }

    /** Wakes vCPUs waiting in SCHEDOP_block or SCHEDOP_poll to look again; from any thread. */
    void wakeWaiters() {
        if (waiting > 0) {
            synchronized (waiters) {
                waiters.notifyAll();
            }
        }
    }

    /**
     * Waits on the vCPU's thread until {@code ready} holds, {@code deadline} (Xen system time, 0 for
     * none) passes, or the vCPU must yield to a pause or stop. Returns whether {@code ready} held.
     */
    private boolean waitFor(int vcpuId, java.util.function.BooleanSupplier ready, long deadline) {
        synchronized (waiters) {
            waiting++;
        }
        try {
            synchronized (waiters) {
                while (true) {
                    // checked under the monitor that raisers notify after setting a pending bit: a
                    // raise after this check finds us waiting, so no wake-up is lost (scenario 17)
                    if (ready.getAsBoolean()) {
                        return true;
                    }
                    long now = systemTime();
                    if ((deadline != 0 && now >= deadline) || platform.vcpuMustYield(vcpuId)) {
                        return false;
                    }
                    long waitNs = deadline == 0 ? 10_000_000L : Math.min(10_000_000L, deadline - now);
                    try {
                        waiters.wait(waitNs / 1_000_000, (int) (waitNs % 1_000_000));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return false;
                    }
                }
            }
        } finally {
            synchronized (waiters) {
                waiting--;
            }
        }
    }

    void scheduleDeferredFlush() {
        if (flushScheduled.compareAndSet(false, true)) {
            scheduler.schedule(() -> {
                flushScheduled.set(false);
                eventChannels.flushDeferred();
            }, 1, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        sharedInfo.deactivate();
    }

    // ------------------------------------------------------------------ dispatch

    @Override
    public long dispatch(HypercallRequest r) {
        XenVcpu v = vcpu(r.vcpuId());
        if (v == null) {
            return -XenErrno.EINVAL;
        }
        wordSize = r.wordSize();
        GuestVirtualMemory g = v.guest.bind(platform.memory(), platform.pagingState(r.vcpuId()));
        try {
            return switch (r.number()) {
                case Hypercall.XEN_VERSION -> xenVersion(g, (int) r.arg(0), r.arg(1));
                case Hypercall.CONSOLE_IO -> consoleIo(g, (int) r.arg(0), r.arg(1), r.arg(2));
                case Hypercall.EVENT_CHANNEL_OP -> eventChannelOp(g, (int) r.arg(0), r.arg(1));
                case Hypercall.HVM_OP -> hvmOp(g, (int) r.arg(0), r.arg(1));
                case Hypercall.MEMORY_OP -> memoryOp(g, (int) r.arg(0), r.arg(1));
                case Hypercall.VCPU_OP -> vcpuOp(g, r.vcpuId(), (int) r.arg(0), (int) r.arg(1), r.arg(2));
                case Hypercall.SCHED_OP -> schedOp(g, v, (int) r.arg(0), r.arg(1));
                case Hypercall.SET_TIMER_OP -> timers[v.id()].setTimerOp(r.wordSize() == WordSize.BITS_64 ? r.arg(0)
                        : (r.arg(0) & 0xffffffffL) | (r.arg(1) << 32)); // 32-bit: low half in ebx, high in ecx
                default -> -XenErrno.ENOSYS;
            };
        } catch (GuestPointerFault | GuestMemoryFault e) {
            return -XenErrno.EFAULT;
        }
    }

    private long xenVersion(GuestVirtualMemory g, int cmd, long arg) {
        return switch (cmd) {
            case XenVersion.VERSION -> ((long) config.xenMajor() << 16) | config.xenMinor();
            case XenVersion.EXTRAVERSION -> writeString(g, arg, config.extraversion(), XenVersion.EXTRAVERSION_LEN);
            case XenVersion.CAPABILITIES -> writeString(g, arg, "hvm-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p",
                    XenVersion.CAPABILITIES_LEN);
            case XenVersion.CHANGESET -> writeString(g, arg, "jxen", XenVersion.CHANGESET_LEN);
            case XenVersion.PAGESIZE -> 4096;
            case XenVersion.GET_FEATURES -> {
                long idx = g.readU32(arg);
                // submap 0: bit 8 (XENFEAT_hvm_callback_vector), bit 10 (XENFEAT_hvm_safe_pvclock)
                g.writeU32(arg + 4, idx == 0 ? (1 << 8) | (1 << 10) : 0);
                yield 0;
            }
            default -> -XenErrno.ENOSYS;
        };
    }

    private static long writeString(GuestVirtualMemory g, long gva, String s, int size) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(size);
            byte[] b = s.getBytes(StandardCharsets.US_ASCII);
            MemorySegment.copy(MemorySegment.ofArray(b), 0, buf, 0, Math.min(b.length, size - 1));
            return g.copyToGuest(buf, gva);
        }
    }

    private long consoleIo(GuestVirtualMemory g, int cmd, long count, long buffer) {
        if (cmd == ConsoleIo.READ) {
            return 0; // no console input yet
        }
        if (cmd != ConsoleIo.WRITE) {
            return -XenErrno.ENOSYS;
        }
        if (count < 0 || count > Integer.MAX_VALUE) {
            return -XenErrno.EINVAL;
        }
        byte[] chunk = new byte[(int) Math.min(count, 4096)];
        long done = 0;
        while (done < count) {
            int n = (int) Math.min(chunk.length, count - done);
            MemorySegment dst = MemorySegment.ofArray(chunk).asSlice(0, n);
            if (g.copyFromGuest(buffer + done, dst) != 0) {
                return -XenErrno.EFAULT;
            }
            platform.consoleWrite(chunk, 0, n);
            done += n;
        }
        return count;
    }

    private long eventChannelOp(GuestVirtualMemory g, int cmd, long arg) {
        EventChannels ec = eventChannels;
        switch (cmd) {
            case EvtchnOp.ALLOC_UNBOUND -> {
                int dom = self(g.readU16(arg));
                int remote = self(g.readU16(arg + 2));
                if (dom != config.domid()) {
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
                int remote = self(g.readU16(arg));
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
                int dom = self(g.readU16(arg));
                if (dom != config.domid()) {
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
            case EvtchnOp.RESET -> {
                int dom = self(g.readU16(arg));
                if (dom != config.domid()) {
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

    private int self(int domid) {
        return domid == org.jxen.abi.Evtchn.DOMID_SELF ? config.domid() : domid;
    }

    private long hvmOp(GuestVirtualMemory g, int cmd, long arg) {
        switch (cmd) {
            case HvmOp.SET_PARAM, HvmOp.GET_PARAM -> {
                int dom = self(g.readU16(arg));
                long index = g.readU32(arg + 4);
                if (dom != config.domid()) {
                    return -XenErrno.ESRCH;
                }
                if (index < 0 || index >= HvmParam.HVM_NR_PARAMS) {
                    return -XenErrno.EINVAL;
                }
                if (cmd == HvmOp.GET_PARAM) {
                    g.writeU64(arg + 8, hvmParams[(int) index]);
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
                hvmParams[(int) index] = value;
                return 0;
            }
            case HvmOp.GET_TIME -> {
                g.writeU64(arg, systemTime()); // struct xen_hvm_get_time { uint64_t now; }
                return 0;
            }
            case HvmOp.SET_EVTCHN_UPCALL_VECTOR -> {
                int vcpu = (int) g.readU32(arg);
                int vector = g.readU8(arg + 4);
                XenVcpu v = vcpu(vcpu);
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

    private long memoryOp(GuestVirtualMemory g, int cmd, long arg) {
        if (cmd != XenMem.ADD_TO_PHYSMAP) {
            return -XenErrno.ENOSYS;
        }
        WordSize w = wordSize;
        int dom = self(g.readU16(arg));
        int space = (int) g.readU32(arg + 4);
        long idx = w == WordSize.BITS_64 ? g.readU64(arg + 8) : g.readU32(arg + 8);
        long gpfn = w == WordSize.BITS_64 ? g.readU64(arg + 16) : g.readU32(arg + 12);
        if (dom != config.domid()) {
            return -XenErrno.ESRCH;
        }
        if (space != XenMapSpace.SHARED_INFO) {
            return -XenErrno.ENOSYS;
        }
        if (idx != 0 || gpfn < 0 || gpfn > (Long.MAX_VALUE >>> 12) || !platform.memory().isBacked(gpfn << 12, 4096)) {
            return -XenErrno.EINVAL;
        }
        // The first mapping gives a fresh shared_info: events neither pending nor masked, as on a new
        // Xen domain. A later mapping moves it, contents and all (pending bits, masks, vcpu_info),
        // as Xen moves its page. Only the structure is written, not the rest of the frame: Xen
        // replaces the whole frame, KVM writes nothing; guests that share the frame keep the rest.
        if (sharedInfoGfn != gpfn) { // mapping the same frame again leaves it as it is
            try (Arena a = Arena.ofConfined()) {
                MemorySegment content = a.allocate(org.jxen.abi.SharedInfo.sizeof(w));
                var old = sharedInfoGfn >= 0 ? sharedInfo.lock() : null;
                if (old != null) {
                    try {
                        old.copyTo(0, content);
                    } finally {
                        sharedInfo.unlock();
                    }
                }
                platform.memory().write(gpfn << 12, content);
            }
        }
        sharedInfo.activate(gpfn << 12, 4096);
        sharedInfoGfn = gpfn;
        writeWallClock(w);
        eventChannels.flushDeferred();
        return 0;
    }

    /** Writes the wall clock at system time 0 into shared_info (the guest adds its system time). */
    private void writeWallClock(WordSize w) {
        var m = sharedInfo.lock();
        if (m == null) {
            return;
        }
        try {
            java.time.Instant t = java.time.Instant.now();
            org.jxen.hypercalls.time.WallClock.writeBootTime(m, w, t.getEpochSecond() * 1_000_000_000L + t.getNano(),
                    systemTime());
        } finally {
            sharedInfo.unlock();
        }
    }

    private long vcpuOp(GuestVirtualMemory g, int caller, int cmd, int vcpuId, long arg) {
        XenVcpu v = vcpu(vcpuId);
        if (v == null) {
            return -XenErrno.ENOENT;
        }
        boolean timerOp = cmd == VcpuOp.SET_SINGLESHOT_TIMER || cmd == VcpuOp.STOP_SINGLESHOT_TIMER
                || cmd == VcpuOp.SET_PERIODIC_TIMER || cmd == VcpuOp.STOP_PERIODIC_TIMER;
        if (timerOp && vcpuId != caller) {
            return -XenErrno.EINVAL; // as in Xen: a vCPU programs only its own timers
        }
        return switch (cmd) {
            case VcpuOp.IS_UP -> 1; // every vCPU of the VM runs (bring-up ops come with the rest of issue 5)
            case VcpuOp.REGISTER_VCPU_INFO -> {
                long mfn = g.readU64(arg);
                long offset = g.readU32(arg + 8);
                yield v.registerVcpuInfo(mfn, offset);
            }
            case VcpuOp.SET_SINGLESHOT_TIMER -> {
                long deadline = g.readU64(arg);
                long flags = g.readU32(arg + 8);
                yield timers[vcpuId].setSingleShot(deadline, (flags & VcpuOp.VCPU_SSHOTTMR_FUTURE) != 0);
            }
            case VcpuOp.STOP_SINGLESHOT_TIMER -> timers[vcpuId].stopSingleShot();
            case VcpuOp.SET_PERIODIC_TIMER -> timers[vcpuId].setPeriodic(g.readU64(arg));
            case VcpuOp.STOP_PERIODIC_TIMER -> timers[vcpuId].stopPeriodic();
            case VcpuOp.REGISTER_RUNSTATE_MEMORY_AREA -> {
                long gva = wordSize == WordSize.BITS_64 ? g.readU64(arg) : g.readU32(arg);
                int rc = v.runstateArea.register(g, gva, wordSize);
                if (rc == 0 && gva != 0) {
                    v.runstateArea.update(v.runstate.snapshot(), true);
                }
                yield rc;
            }
            case VcpuOp.GET_RUNSTATE_INFO -> {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment buf = a.allocate(org.jxen.hypercalls.time.RunstateArea.sizeOf(wordSize));
                    org.jxen.hypercalls.time.RunstateArea.encode(v.runstate.snapshot().at(systemTime()), wordSize, buf);
                    yield g.copyToGuest(buf, arg);
                }
            }
            default -> -XenErrno.ENOSYS;
        };
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
                waitFor(v.id(), v::upcallPending, 0);
                v.setRunstate(org.jxen.abi.Runstate.RUNNING, -1, true);
                return 0;
            }
            case SchedOp.POLL -> {
                WordSize w = wordSize;
                long portsGva = w == WordSize.BITS_64 ? g.readU64(arg) : g.readU32(arg);
                long nr = g.readU32(arg + (w == WordSize.BITS_64 ? 8 : 4));
                long timeout = g.readU64(arg + (w == WordSize.BITS_64 ? 16 : 8));
                if (nr > 128) {
                    return -XenErrno.EINVAL;
                }
                int[] ports = new int[(int) nr];
                for (int i = 0; i < nr; i++) {
                    long p = g.readU32(portsGva + 4L * i);
                    if (!eventChannels.valid((int) p)) {
                        return -XenErrno.EINVAL;
                    }
                    ports[i] = (int) p;
                }
                v.setRunstate(org.jxen.abi.Runstate.BLOCKED, -1, true);
                waitFor(v.id(), () -> {
                    for (int p : ports) {
                        if (eventChannels.isPending(p)) {
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

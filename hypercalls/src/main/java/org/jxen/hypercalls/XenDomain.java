package org.jxen.hypercalls;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jxen.abi.HvmParam;
import org.jxen.abi.Hypercall;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenAbi;
import org.jxen.abi.XenErrno;
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
 * <p>Each hypercall's operations live in their own class ({@link XenVersionOps},
 * {@link ConsoleIoOps}, {@link EventChannelOps}, {@link HvmOps}, {@link MemoryOps}, {@link VcpuOps},
 * {@link SchedOps}); this class owns the state they share and dispatches to them. Unknown
 * hypercalls return {@code -ENOSYS}; docs/hypercalls.md lists what each operation does.
 *
 * <p>Threads: {@link #dispatch} on vCPU threads (each vCPU its own calls); {@link #raise} and
 * {@link #raiseVirq} from any thread. When the platform gives a runstate period, the domain's thread
 * re-accounts every vCPU's runstate at that period ({@code VcpuRunstate.sampleFromHost}, which
 * never waits); {@link #vcpuExited} and {@link #vcpuPaused} come from the vCPU threads. Guest pointers are translated with the calling vCPU's page
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
    /** Written by vCPU threads and the host, read by event senders on any thread. */
    private final java.util.concurrent.atomic.AtomicLongArray hvmParams = new java.util.concurrent.atomic.AtomicLongArray(HvmParam.HVM_NR_PARAMS);
    private volatile WordSize wordSize = WordSize.BITS_64;
    private volatile long sharedInfoGfn = -1;
    private final java.util.concurrent.ScheduledThreadPoolExecutor scheduler;
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    private final VcpuTimers[] timers;
    /** Where vCPUs in SCHEDOP_block or SCHEDOP_poll wait; notified by every raise while any waits. */
    private final Object waiters = new Object();
    private volatile int waiting;
    private final XenVersionOps xenVersionOps;
    private final ConsoleIoOps consoleIoOps;
    private final EventChannelOps eventChannelOps;
    private final HvmOps hvmOps;
    private final MemoryOps memoryOps;
    private final VcpuOps vcpuOps;
    private final SchedOps schedOps;
    private final MulticallOps multicallOps;
    private final ConsoleInput consoleInput = new ConsoleInput();
    private final DomainWatchdogs watchdogs;
    /** The toolstack's handle for the domain (a UUID), for XENVER_guest_handle. */
    private volatile byte[] handle = uuidBytes(java.util.UUID.randomUUID());
    /** SCHEDOP_shutdown_code's reason, or -1; a later shutdown reports it. */
    private volatile int shutdownCode = -1;
    /** The reason the domain shut down with, or -1 while it runs. */
    private volatile int shutdownReason = -1;
    /** The vCPUs' pvclocks and their periodic calibration. */
    private final Pvclocks pvclocks;
    /** Serialises writers of the wall clock in shared_info. */
    private final Object wallClockLock = new Object();
    private final GrantTableOps grantTableOps;
    private final VcpuBringUp bringUp;
    private final DomainStats stats;

    public XenDomain(XenPlatform platform, Config config) {
        this.platform = platform;
        this.config = config;
        this.sharedInfo = platform.memory().newCache("shared_info");
        this.stats = new DomainStats(config.vcpus());
        this.vcpus = new XenVcpu[config.vcpus()];
        boolean[] startsUp = new boolean[vcpus.length];
        for (int i = 0; i < vcpus.length; i++) {
            startsUp[i] = i == 0 || platform.vcpuStartsUp(i); // the boot vCPU is always up
            vcpus[i] = new XenVcpu(this, i, startsUp[i]);
        }
        this.bringUp = new VcpuBringUp(this, platform, vcpus.length, startsUp);
        this.eventChannels = new EventChannels(this, config.vcpus());
        this.scheduler = new java.util.concurrent.ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "xen-domain-" + config.domid());
            t.setDaemon(true);
            return t;
        });
        // the guest re-arms its timers and watchdogs at will, with deadlines of its choosing: a
        // cancelled task must leave the queue at once, not at its deadline
        scheduler.setRemoveOnCancelPolicy(true);
        this.timers = new VcpuTimers[config.vcpus()];
        for (int i = 0; i < timers.length; i++) {
            timers[i] = new VcpuTimers(this, i, scheduler);
        }
        this.xenVersionOps = new XenVersionOps(this);
        this.consoleIoOps = new ConsoleIoOps(this, platform);
        this.eventChannelOps = new EventChannelOps(this, platform);
        this.hvmOps = new HvmOps(this, platform);
        this.memoryOps = new MemoryOps(this, platform);
        this.vcpuOps = new VcpuOps(this, platform);
        this.schedOps = new SchedOps(this, platform);
        this.multicallOps = new MulticallOps(this, platform, config.vcpus());
        this.watchdogs = new DomainWatchdogs(this, scheduler);
        this.pvclocks = new Pvclocks(this, platform, scheduler, config.vcpus());
        pvclocks.start();
        this.grantTableOps = new GrantTableOps(this, memoryOps.grantTable(), memoryOps.physmap());
        long period = platform.runstatePeriodNanos();
        if (period > 0) {
            scheduler.scheduleAtFixedRate(() -> sampleRunstates(period), period, period, TimeUnit.NANOSECONDS);
        }
    }

    XenPlatform platform() {
        return platform;
    }

    /** Initialise, up, down and is_up of the vCPUs. */
    VcpuBringUp bringUp() {
        return bringUp;
    }

    /** True when vCPU {@code id} is up ({@code VCPUOP_is_up}). */
    public boolean vcpuIsUp(int id) {
        return bringUp.isUp(id);
    }

    /**
     * The domain's thread, every runstate period: re-accounts the vCPUs that no exit re-accounted
     * within the period (those staying in the guest, halted or not, and the offline ones). Never
     * waits for a vCPU or a cache.
     */
    private void sampleRunstates(long period) {
        for (XenVcpu v : vcpus) {
            try {
                v.runstate.sampleFromHost(period);
            } catch (RuntimeException e) {
                // keep the periodic task alive: a failed step leaves the previous record in place
            }
        }
    }

    /** vCPU thread: after each exit, the runstate is re-accounted when its period has passed. */
    @Override
    public void vcpuExited(int vcpuId) {
        XenVcpu v = vcpu(vcpuId);
        if (v != null) {
            v.runstateTick();
        }
    }

    /** The host paused or resumed vCPU {@code vcpuId}: a paused vCPU is offline, as in Xen. */
    @Override
    public void vcpuPaused(int vcpuId, boolean paused) {
        XenVcpu v = vcpu(vcpuId);
        if (v != null) {
            bringUp.paused(v, paused);
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

    void setSharedInfoGfn(long gfn) {
        this.sharedInfoGfn = gfn;
    }

    /** The domain's physmap: populated, ballooned-out and Xen-frame gfns, and the memory reservation. */
    public GuestPhysmap physmap() {
        return memoryOps.physmap();
    }

    /** The domain's grant table (version 1), with the host side that backends use to map grants. */
    public GrantTable grantTable() {
        return memoryOps.grantTable();
    }

    public XenVcpu vcpu(int id) {
        return id >= 0 && id < vcpus.length ? vcpus[id] : null;
    }

    public EventChannels eventChannels() {
        return eventChannels;
    }

    /** What the domain did: events sent and deferred, timer firings (for metrics). */
    public DomainStats stats() {
        return stats;
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
        return hvmParams.get(index);
    }

    /** The host sets an HVM parameter (for example the XenStore page and port before boot). */
    public void setHvmParam(int index, long value) {
        hvmParams.set(index, value);
    }

    /** The domain's handle (16 bytes, a UUID) as XENVER_guest_handle gives it; a copy. */
    public byte[] handle() {
        return handle.clone();
    }

    /** The toolstack names the domain (before or while it runs). */
    public void setHandle(java.util.UUID uuid) {
        this.handle = uuidBytes(uuid);
    }

    private static byte[] uuidBytes(java.util.UUID u) {
        return java.nio.ByteBuffer.allocate(16).putLong(u.getMostSignificantBits())
                .putLong(u.getLeastSignificantBits()).array();
    }

    /**
     * Input for the guest's {@code CONSOLEIO_read}: the host offers bytes (and learns how many fit),
     * then {@link #consoleInputArrived()} tells the guest.
     */
    public ConsoleInput consoleInput() {
        return consoleInput;
    }

    /** Raises VIRQ_CONSOLE on vCPU 0 (where Xen sends it) if the guest bound it; from any thread. */
    public void consoleInputArrived() {
        raiseVirq(0, org.jxen.abi.Virq.CONSOLE);
    }

    DomainWatchdogs watchdogs() {
        return watchdogs;
    }

    void setShutdownCode(int code) {
        this.shutdownCode = code;
    }

    /**
     * The domain shuts down: with the SCHEDOP_shutdown_code reason if the guest set one, else
     * {@code reason}. Timers and watchdogs stop; the platform stops the vCPUs. {@code vcpuId} is the
     * caller's vCPU, or -1 for the host (a watchdog). Besides {@code SCHEDOP_shutdown}, the platform's
     * ACPI sleep and reset registers call this (as Xen's own ACPI PM emulation shuts a domain down).
     * From the calling vCPU's thread, or any thread for -1.
     */
    public void shutdown(int vcpuId, int reason) {
        int code = shutdownCode;
        int r = code >= 0 ? code : reason;
        shutdownReason = r;
        watchdogs.cancelAll();
        platform.shutdown(vcpuId, r);
    }

    /** The {@code SHUTDOWN_*} reason the domain shut down with, or -1 while it runs. */
    public int shutdownReason() {
        return shutdownReason;
    }

    /**
     * Stops the domain's timers and watchdogs from firing, keeping their deadlines: for a save,
     * call it with the vCPUs paused, then {@link #captureState()}, then {@link #close()}; a timer
     * can then neither fire in this domain after the capture nor be lost (the restored domain fires
     * it once).
     */
    public void suspendTimers() {
        for (VcpuTimers t : timers) {
            t.freeze();
        }
        watchdogs.freeze();
    }

    /**
     * Captures the domain's Xen state as plain values ({@link DomainState}). Consistent when the
     * vCPUs are paused (no hypercall in flight); host raises meanwhile are either in it (pending in
     * guest memory or deferred) or after it.
     */
    public DomainState captureState() {
        long[] params = new long[HvmParam.HVM_NR_PARAMS];
        for (int i = 0; i < params.length; i++) {
            params[i] = hvmParams.get(i);
        }
        java.util.List<DomainState.Vcpu> vs = new java.util.ArrayList<>();
        for (XenVcpu v : vcpus) {
            vs.add(v.captureState());
        }
        long[] dogs = new long[DomainWatchdogs.SLOTS];
        for (int i = 0; i < dogs.length; i++) {
            dogs[i] = watchdogs.timeout(i + 1);
        }
        return new DomainState(config.domid(), config.vcpus(), wordSize, sharedInfoGfn, params, handle.clone(),
                shutdownCode, dogs, java.util.List.copyOf(vs), eventChannels.capturePorts(),
                eventChannels.deferredPorts(), eventChannels.captureFifo());
    }

    /**
     * Puts captured state back into this domain, which must be new (nothing registered, no port
     * bound) with the same domid and vCPU count, before its vCPUs run. Guest memory must already
     * hold what it held at capture: shared_info and the other registered areas are reached again at
     * the same guest-physical addresses, never rewritten. Timers continue to their absolute
     * deadlines (the platform's Xen system time must continue the captured one). Returns 0, or a
     * negative Xen errno when a registration cannot be made again (this domain is then unusable).
     */
    public int restoreState(DomainState s) {
        if (s.domid() != config.domid() || s.vcpuCount() != config.vcpus()) {
            throw new IllegalArgumentException("state of domain " + s.domid() + " with " + s.vcpuCount()
                    + " vCPUs cannot go into domain " + config.domid() + " with " + config.vcpus());
        }
        wordSize = s.wordSize();
        for (int i = 0; i < s.hvmParams().length && i < HvmParam.HVM_NR_PARAMS; i++) {
            hvmParams.set(i, s.hvmParams()[i]);
        }
        handle = s.handle().clone();
        shutdownCode = s.shutdownCode();
        if (s.sharedInfoGfn() >= 0) {
            var st = sharedInfo.activate(s.sharedInfoGfn() << 12, 4096);
            if (st != org.jxen.gpc.GpcStatus.OK && st != org.jxen.gpc.GpcStatus.NOT_BACKED) {
                return -XenErrno.EINVAL;
            }
            sharedInfoGfn = s.sharedInfoGfn();
        }
        eventChannels.restorePorts(s.ports());
        if (s.fifo() != null) {
            int rc = eventChannels.restoreFifo(s.fifo(), s.ports());
            if (rc != 0) {
                return rc;
            }
        }
        for (DomainState.Vcpu v : s.vcpus()) {
            int rc = vcpus[v.id()].restoreState(v);
            if (rc != 0) {
                return rc;
            }
        }
        for (int i = 0; i < s.watchdogTimeouts().length; i++) {
            if (s.watchdogTimeouts()[i] >= 0) {
                watchdogs.restore(i + 1, s.watchdogTimeouts()[i]);
            }
        }
        for (int port : s.deferredPorts()) {
            eventChannels.raise(port);
        }
        eventChannels.flushDeferred();
        return 0;
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
            long cb = hvmParams.get(HvmParam.CALLBACK_IRQ);
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
    boolean waitFor(int vcpuId, java.util.function.BooleanSupplier ready, long deadline) {
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
        watchdogs.cancelAll();
        scheduler.shutdownNow();
        memoryOps.grantTable().close();
        eventChannels.release();
        sharedInfo.deactivate();
        pvclocks.close();
        memoryOps.physmap().releaseOverlays();
    }

    /** Tasks waiting on the domain's scheduler (timers, watchdogs, calibration, retries); for tests. */
    int scheduledHostTasks() {
        return scheduler.getQueue().size();
    }

    /** The vCPUs' pvclocks. */
    Pvclocks pvclocks() {
        return pvclocks;
    }

    // ------------------------------------------------------------------ dispatch

    @Override
    public long dispatch(HypercallRequest r) {
        XenVcpu v = vcpu(r.vcpuId());
        if (v == null) {
            return -XenErrno.EINVAL;
        }
        WordSize w = r.wordSize();
        if (w != wordSize) {
            wordSizeChanged(w);
        }
        GuestVirtualMemory g = v.guest.bind(platform.memory(), platform.pagingState(r.vcpuId()));
        try {
            v.followWordSize(g, w);
        } catch (GuestPointerFault | GuestMemoryFault e) {
            // the area's address no longer translates: the next registration sets it again
        }
        return call(g, v, r); // counted and timed by the transport (VcpuStats), where an exit costs microseconds
    }

    /**
     * One hypercall with its guest pointers already bound to the caller's page tables; also each
     * entry of a multicall. A bad pointer is {@code -EFAULT}.
     */
    long call(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        try {
            return switch (r.number()) {
                case Hypercall.XEN_VERSION -> xenVersionOps.handle(g, v, r);
                case Hypercall.CONSOLE_IO -> consoleIoOps.handle(g, v, r);
                case Hypercall.EVENT_CHANNEL_OP -> eventChannelOps.handle(g, v, r);
                case Hypercall.HVM_OP -> hvmOps.handle(g, v, r);
                case Hypercall.MEMORY_OP -> memoryOps.handle(g, v, r);
                case Hypercall.VCPU_OP -> vcpuOps.handle(g, v, r);
                case Hypercall.SCHED_OP -> schedOps.handle(g, v, r);
                case Hypercall.GRANT_TABLE_OP -> grantTableOps.handle(g, v, r);
                case Hypercall.SET_TIMER_OP -> timers[v.id()].setTimerOp(r.wordSize() == WordSize.BITS_64 ? r.arg(0)
                        : (r.arg(0) & 0xffffffffL) | (r.arg(1) << 32)); // 32-bit: low half in ebx, high in ecx
                case Hypercall.MULTICALL -> multicallOps.handle(g, v, r);
                default -> -XenErrno.ENOSYS;
            };
        } catch (GuestPointerFault | GuestMemoryFault e) {
            return -XenErrno.EFAULT;
        }
    }

    /**
     * The guest's hypercall ABI switched (32-bit protected or compatibility mode vs 64-bit mode).
     * What follows the new size: the wall clock, written again at its offsets in the new
     * shared_info layout (as Xen's {@code hvm_latch_shinfo_size} and KVM do); event-channel words,
     * selector and port count (read at each use); runstate areas (laid out again by each vCPU's next
     * hypercall). Like Xen and KVM, the rest of shared_info is not converted: pending bits of ports
     * below 1024 sit at the same bytes in both layouts, masks do not, and a guest that switches
     * sets its masks again.
     */
    private synchronized void wordSizeChanged(WordSize w) {
        if (wordSize == w) {
            return;
        }
        wordSize = w;
        if (sharedInfoGfn >= 0) {
            writeWallClock(w);
        }
    }

    int self(int domid) {
        return domid == org.jxen.abi.Evtchn.DOMID_SELF ? config.domid() : domid;
    }

    /** Writes the wall clock at system time 0 into shared_info (the guest adds its system time). */
    void writeWallClock(WordSize w) {
        synchronized (wallClockLock) {
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
    }

    /**
     * Re-writes the wall clock when the boot time in shared_info differs from the host's
     * (real time minus system time) by more than {@code thresholdNanos}, as after a step of the
     * host's real-time clock. Never waits: gives up (returns false) when shared_info cannot be
     * locked now. Returns true when shared_info is current.
     */
    boolean resyncWallClock(long thresholdNanos) {
        if (sharedInfoGfn < 0) {
            return true;
        }
        synchronized (wallClockLock) {
            var m = sharedInfo.tryLock();
            if (m == null) {
                return false;
            }
            try {
                WordSize w = wordSize;
                java.time.Instant t = java.time.Instant.now();
                long realtime = t.getEpochSecond() * 1_000_000_000L + t.getNano();
                long now = systemTime();
                var r = org.jxen.hypercalls.time.WallClock.read(m, w, 100);
                if (r == null || Math.abs(r.epochSec() * 1_000_000_000L + r.nsec() - (realtime - now)) > thresholdNanos) {
                    org.jxen.hypercalls.time.WallClock.writeBootTime(m, w, realtime, now);
                }
                return true;
            } finally {
                sharedInfo.unlock();
            }
        }
    }

}

package org.jxen.hypercalls;

import java.util.concurrent.atomic.AtomicLong;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.MappedArea;
import java.lang.foreign.MemorySegment;
import org.jxen.abi.VcpuInfo;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * The Xen state of one vCPU: where its vcpu_info lives (by default in shared_info for vCPUs
 * below 32, or where {@code VCPUOP_register_vcpu_info} put it), its upcall vector, and the
 * per-call guest-virtual accessor.
 *
 * <p>Threads: registration from the vCPU's own thread (its hypercalls); the vcpu_info cache and the
 * deferred selector words from any thread (event senders).
 */
public final class XenVcpu {
    private final XenDomain domain;
    private final int id;
    private final GfnToPfnCache vcpuInfo;
    private volatile boolean vcpuInfoRegistered;
    private volatile int upcallVector;
    private final AtomicLong deferredSelectorWords = new AtomicLong();
    final GuestVirtualMemory guest = new GuestVirtualMemory();
    /** Time spent in each runstate, accounted from what the vCPU thread does, and the guest's area. */
    final org.jxen.hypercalls.time.VcpuRunstate runstate;
    private final long runstatePeriod;

    XenVcpu(XenDomain domain, int id, boolean up) {
        this.domain = domain;
        this.id = id;
        this.vcpuInfo = domain.memory().newCache("vcpu" + id + " vcpu_info");
        XenPlatform p = domain.platform();
        this.runstatePeriod = p.runstatePeriodNanos();
        this.runstate = new org.jxen.hypercalls.time.VcpuRunstate(domain.memory(), "vcpu" + id, domain::systemTime,
                () -> p.vcpuThreadTimes(id), up);
        runstate.setGuestWordSize(domain::wordSize);
    }

    /**
     * The vCPU's own thread changes what it does: {@code BLOCKED} enters a wait in the VMM
     * ({@code SCHEDOP_block}/{@code poll}), {@code RUNNING} returns to the guest, {@code OFFLINE}
     * stops running guest code. The time until now is accounted first and the guest's area written
     * ({@code mayBlock} false gives the area update up rather than wait for its cache). The run delay
     * argument is ignored: the statistics are read from the platform.
     */
    public void setRunstate(int state, long runDelayNanos, boolean mayBlock) {
        var activity = switch (state) {
            case org.jxen.abi.Runstate.BLOCKED -> org.jxen.hypercalls.time.VcpuRunstate.Activity.WAITING;
            case org.jxen.abi.Runstate.OFFLINE -> org.jxen.hypercalls.time.VcpuRunstate.Activity.OFFLINE;
            default -> org.jxen.hypercalls.time.VcpuRunstate.Activity.GUEST;
        };
        runstate.transition(activity, state, mayBlock);
    }

    /**
     * On this vCPU's thread, in a hypercall made with word size {@code w}: lays the runstate area
     * out again when the guest switched word size (see {@link org.jxen.hypercalls.time.VcpuRunstate#followWordSize}).
     */
    void followWordSize(GuestVirtualMemory g, WordSize w) {
        runstate.followWordSize(g, w);
    }

    /** The current runstate record, as of its latest accounting (lock-free). */
    public org.jxen.hypercalls.time.RunstateAccount.Snapshot runstate() {
        return runstate.snapshot();
    }

    /** This vCPU's runstate accounting and guest area (for the host and tests). */
    public org.jxen.hypercalls.time.VcpuRunstate runstateAccounting() {
        return runstate;
    }

    /**
     * The host sets this vCPU's runstate record (KVM's {@code RUNSTATE_DATA}); the guest's area shows
     * exactly these values at once. False, changing nothing, for an invalid record
     * ({@link org.jxen.hypercalls.time.VcpuRunstate#setData}). Any thread.
     */
    public boolean setRunstateData(int state, long stateEntryTime, long running, long runnable, long blocked,
            long offline) {
        return runstate.setData(state, stateEntryTime, running, runnable, blocked, offline);
    }

    /**
     * The host adds deltas to this vCPU's runstate record (KVM's {@code RUNSTATE_ADJUST}); {@code state}
     * -1 keeps the state. False, changing nothing, for invalid deltas
     * ({@link org.jxen.hypercalls.time.VcpuRunstate#adjust}). Any thread.
     */
    public boolean adjustRunstateData(int state, long dStateEntryTime, long dRunning, long dRunnable, long dBlocked,
            long dOffline) {
        return runstate.adjust(state, dStateEntryTime, dRunning, dRunnable, dBlocked, dOffline);
    }

    /** The vCPU thread after an exit: re-accounts the runstate when the period has passed (cheap otherwise). */
    void runstateTick() {
        runstate.tick(runstatePeriod);
    }

    public int id() {
        return id;
    }

    /** The cache through which this vCPU's vcpu_info is reached: its own, or shared_info's. */
    GfnToPfnCache vcpuInfoCache() {
        return vcpuInfoRegistered ? vcpuInfo : domain.sharedInfoCache();
    }

    /** The offset of vcpu_info inside {@link #vcpuInfoCache()}'s area. */
    long vcpuInfoOffset() {
        return vcpuInfoRegistered ? 0 : SharedInfo.offsetOfVcpuInfo(domain.wordSize(), id);
    }

    /** True when events can reach this vCPU: registered, or below 32 with shared_info mapped. */
    public boolean hasVcpuInfo() {
        return vcpuInfoRegistered || (id < SharedInfo.LEGACY_MAX_VCPUS && domain.sharedInfoGfn() >= 0);
    }

    /**
     * VCPUOP_register_vcpu_info: {@code offset} inside frame {@code gfn}; the 64 bytes must fit the
     * page ({@code -EINVAL}), and, as in Xen, the offset be aligned for the guest's vcpu_info (8
     * bytes, 4 for a 32-bit guest) or it is {@code -ENXIO}: the selector and pending flags are
     * updated atomically.
     */
    int registerVcpuInfo(long gfn, long offset) {
        if (vcpuInfoRegistered) {
            return -org.jxen.abi.XenErrno.EINVAL; // Xen: once registered, it stays
        }
        if (offset < 0 || offset + 64 > 4096 || gfn < 0 || gfn > (Long.MAX_VALUE >>> 12)) {
            return -org.jxen.abi.XenErrno.EINVAL;
        }
        if ((offset & (domain.wordSize() == WordSize.BITS_64 ? 7 : 3)) != 0) {
            return -org.jxen.abi.XenErrno.ENXIO;
        }
        GpcStatus st = vcpuInfo.activate((gfn << 12) + offset, 64);
        if (st == GpcStatus.BAD_LENGTH || st == GpcStatus.BAD_ADDRESS) {
            return -org.jxen.abi.XenErrno.EINVAL;
        }
        boolean hadDefault = hasVcpuInfo();
        copyIntoRegistered(hadDefault);
        vcpuInfoRegistered = true; // raises from now on go to the new place
        if (hadDefault) {
            mergePendingFromSharedInfo();
        }
        domain.eventChannels().flushDeferred(); // selector words kept while there was no vcpu_info
        return 0;
    }

    /**
     * Before the switch, when only this thread writes the new place: it gets the vCPU's state from
     * its slot in shared_info, as Xen copies vcpu_info when it moves it (the mask, pending state,
     * arch part and time), or zeroes for a vCPU that had no slot.
     */
    private void copyIntoRegistered(boolean fromSharedInfo) {
        byte[] state = new byte[64];
        if (fromSharedInfo) {
            GfnToPfnCache si = domain.sharedInfoCache();
            MappedArea from = si.lock();
            if (from != null) {
                try {
                    from.copyTo(SharedInfo.offsetOfVcpuInfo(domain.wordSize(), id), MemorySegment.ofArray(state));
                } finally {
                    si.unlock();
                }
            }
        }
        MappedArea to = vcpuInfo.lock();
        if (to != null) {
            try {
                to.copyFrom(MemorySegment.ofArray(state), 0);
            } finally {
                vcpuInfo.unlock();
            }
        }
    }

    /**
     * After the switch: raisers that chose the old place before it have finished when
     * {@code awaitReaders} returns, so the selector bits and upcall_pending they set there are
     * merged into the new place now, and an upcall is delivered if that made one pending. No event
     * raised around the move is lost.
     */
    private void mergePendingFromSharedInfo() {
        GfnToPfnCache si = domain.sharedInfoCache();
        si.awaitReaders();
        WordSize w = domain.wordSize();
        long base = SharedInfo.offsetOfVcpuInfo(w, id);
        long selOff = VcpuInfo.offsetOfEvtchnPendingSel(w);
        long pendingOff = VcpuInfo.offsetOfEvtchnUpcallPending(w);
        long sel;
        boolean pending;
        MappedArea from = si.lock();
        if (from == null) {
            return; // shared_info unmapped meanwhile: what it held was copied before the switch
        }
        try {
            sel = w == WordSize.BITS_64 ? from.getLongVolatile(base + selOff) : from.getIntVolatile(base + selOff) & 0xffffffffL;
            pending = from.getByteVolatile(base + pendingOff) != 0;
        } finally {
            si.unlock();
        }
        if (sel == 0 && !pending) {
            return;
        }
        boolean deliver = false;
        MappedArea to = vcpuInfo.lock();
        if (to == null) {
            for (long words = sel; words != 0; words &= words - 1) {
                deferSelectorWord(Long.numberOfTrailingZeros(words)); // applied when it can be written
            }
            domain.scheduleDeferredFlush();
            return;
        }
        try {
            EventChannels.orSelector(to, selOff, w, sel);
            deliver = to.getAndSetByte(pendingOff, (byte) 1) == 0;
        } finally {
            vcpuInfo.unlock();
        }
        if (deliver) {
            domain.deliverUpcall(id);
        }
    }

    /** True when this vCPU's evtchn_upcall_pending is set (false when vcpu_info cannot be read). */
    boolean upcallPending() {
        var cache = vcpuInfoCache();
        var vi = cache.lock();
        if (vi == null) {
            return false;
        }
        try {
            return vi.getByteVolatile(vcpuInfoOffset()) != 0;
        } finally {
            cache.unlock();
        }
    }

    int upcallVector() {
        return upcallVector;
    }

    void setUpcallVector(int vector) {
        this.upcallVector = vector;
    }

    void deferSelectorWord(int word) {
        deferredSelectorWords.getAndUpdate(w -> w | (1L << word));
    }

    long takeDeferredSelectorWords() {
        return deferredSelectorWords.getAndSet(0);
    }

    WordSize wordSize() {
        return domain.wordSize();
    }

    /** This vCPU's Xen state as plain values (see {@link DomainState.Vcpu}). */
    DomainState.Vcpu captureState() {
        var area = runstate.area();
        long timeArea = domain.pvclocks().timeArea(id).gpa();
        VcpuTimers t = domain.timers(id);
        return new DomainState.Vcpu(id, domain.vcpuIsUp(id), domain.bringUp().isInitialised(id),
                vcpuInfoRegistered ? vcpuInfo.gpa() : -1, upcallVector, area.gva(), area.gpa(), area.secondPageGpa(),
                area.wordSize(), runstate.current(false), timeArea, t.singleShotDeadline(), t.periodNs(),
                t.periodicNextDeadline(), deferredSelectorWords.get());
    }

    /**
     * Puts back captured state, before the vCPU runs: registrations through fresh caches at the same
     * guest-physical addresses (guest memory already holds what the guest saw, so nothing is copied),
     * the runstate record, timers at their absolute deadlines. Returns 0 or a negative Xen errno
     * naming the first registration that failed.
     */
    int restoreState(DomainState.Vcpu s) {
        domain.bringUp().restore(id, s.up(), s.initialised());
        upcallVector = s.upcallVector();
        if (s.vcpuInfoGpa() >= 0) {
            GpcStatus st = vcpuInfo.activate(s.vcpuInfoGpa(), 64);
            if (st != GpcStatus.OK && st != GpcStatus.NOT_BACKED) {
                return -org.jxen.abi.XenErrno.EINVAL;
            }
            vcpuInfoRegistered = true;
        }
        var r = s.runstate();
        if (!runstate.setData(r.state(), r.stateEntryTime(), r.running(), r.runnable(), r.blocked(), r.offline())) {
            return -org.jxen.abi.XenErrno.EINVAL;
        }
        if (s.runstateAreaGpa() >= 0) {
            int rc = runstate.restoreArea(s.runstateAreaGva(), s.runstateAreaGpa(), s.runstateAreaSecondGpa(),
                    s.runstateWordSize());
            if (rc != 0) {
                return rc;
            }
        }
        if (s.timeAreaGpa() >= 0) {
            int rc = domain.pvclocks().timeArea(id).register(s.timeAreaGpa());
            if (rc != 0) {
                return rc;
            }
        }
        deferredSelectorWords.set(s.deferredSelectorWords());
        domain.timers(id).restore(s.singleShotDeadline(), s.periodNs(), s.periodicNextDeadline());
        return 0;
    }
}

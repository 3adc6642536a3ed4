package org.jxen.hypercalls;

import java.util.concurrent.atomic.AtomicLong;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
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
    /** Time spent in each runstate, in Xen system time. */
    final org.jxen.hypercalls.time.RunstateAccount runstate;
    /** The guest's registered runstate area, if any. */
    final org.jxen.hypercalls.time.RunstateArea runstateArea;

    XenVcpu(XenDomain domain, int id) {
        this.domain = domain;
        this.id = id;
        this.vcpuInfo = domain.memory().newCache("vcpu" + id + " vcpu_info");
        this.runstate = new org.jxen.hypercalls.time.RunstateAccount(domain.systemTime());
        this.runstateArea = new org.jxen.hypercalls.time.RunstateArea(domain.memory(), "vcpu" + id + " runstate");
        runstate.change(org.jxen.abi.Runstate.RUNNING, domain.systemTime()); // its vCPU thread runs it
    }

    /**
     * Records a runstate change at the current system time and writes the guest's area, if one is
     * registered; {@code mayBlock} false gives the update up rather than wait for the cache.
     */
    public void setRunstate(int state, long runDelayNanos, boolean mayBlock) {
        runstate.change(state, domain.systemTime(), runDelayNanos);
        // after another vCPU switched the guest's word size, this area waits for this vCPU's next
        // hypercall to be laid out again ({@link #followWordSize}): never write the old layout
        if (runstateArea.isRegistered() && runstateArea.wordSize() == domain.wordSize()) {
            runstateArea.update(runstate.snapshot(), mayBlock);
        }
    }

    /**
     * On this vCPU's thread, in a hypercall made with word size {@code w}: when the runstate area
     * was registered in the other layout, registers it again in this one at the same guest address
     * and writes the current record (scenario 20; Xen writes the compat or native record as the
     * domain's latched size says).
     */
    void followWordSize(GuestVirtualMemory g, WordSize w) {
        if (runstateArea.isRegistered() && runstateArea.wordSize() != w && runstateArea.relayout(g, w) == 0
                && runstateArea.isRegistered() && runstateArea.wordSize() == w) {
            runstateArea.update(runstate.snapshot(), true);
        }
    }

    /** The current runstate record (lock-free). */
    public org.jxen.hypercalls.time.RunstateAccount.Snapshot runstate() {
        return runstate.snapshot();
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

    /** VCPUOP_register_vcpu_info: {@code offset} inside frame {@code gfn}; the 64 bytes must fit the page. */
    int registerVcpuInfo(long gfn, long offset) {
        if (vcpuInfoRegistered) {
            return -org.jxen.abi.XenErrno.EINVAL; // Xen: once registered, it stays
        }
        if (offset < 0 || offset + 64 > 4096 || gfn < 0 || gfn > (Long.MAX_VALUE >>> 12)) {
            return -org.jxen.abi.XenErrno.EINVAL;
        }
        GpcStatus st = vcpuInfo.activate((gfn << 12) + offset, 64);
        if (st == GpcStatus.BAD_LENGTH || st == GpcStatus.BAD_ADDRESS) {
            return -org.jxen.abi.XenErrno.EINVAL;
        }
        // Xen copies the current contents of the old vcpu_info over; the guest then owns the new one
        vcpuInfoRegistered = true;
        return 0;
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
}

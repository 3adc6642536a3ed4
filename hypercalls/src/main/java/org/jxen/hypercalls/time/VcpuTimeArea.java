package org.jxen.hypercalls.time;

import org.jxen.abi.XenErrno;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.MappedArea;
import org.jxen.hypercalls.mm.Access;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * The secondary pvclock a guest registers with {@code VCPUOP_register_vcpu_time_memory_area} (the
 * one Linux maps to user space for the vDSO): a {@code vcpu_time_info} that must not cross a page,
 * updated together with {@code vcpu_info.time}.
 *
 * <p>Threads: one writer at a time per area ({@link #register}, {@link #unregister},
 * {@link #update}; the domain serialises them with the vCPU's pvclock writer lock), on any thread;
 * {@code mayBlock == false} uses {@code tryLock()} and gives the update up, counting it.
 * {@link #isRegistered()}, {@link #skippedUpdates()} and {@link #read()} from any thread.
 */
public final class VcpuTimeArea {
    private final GfnToPfnCache cache;
    private volatile boolean registered;
    private final java.util.concurrent.atomic.LongAdder skipped = new java.util.concurrent.atomic.LongAdder();

    public VcpuTimeArea(GuestMemory memory, String name) {
        this.cache = memory.newCache(name + " vcpu_time_info");
    }

    /**
     * Registers the area at guest-virtual {@code gva} ({@code 0} unregisters). Returns 0,
     * {@code -EINVAL} when it crosses a page, or {@code -EFAULT} when it is not mapped writable.
     */
    public int register(GuestVirtualMemory g, long gva) {
        if (gva == 0) {
            unregister();
            return 0;
        }
        if ((gva & 4095) + TimeInfoWriter.SIZE > 4096) {
            return -XenErrno.EINVAL;
        }
        long gpa = g.translate(gva, Access.WRITE);
        return gpa < 0 ? -XenErrno.EFAULT : register(gpa);
    }

    /** Registers the area at guest-physical {@code gpa}; as {@link #register(GuestVirtualMemory, long)}. */
    public int register(long gpa) {
        if ((gpa & 4095) + TimeInfoWriter.SIZE > 4096) {
            return -XenErrno.EINVAL;
        }
        registered = false;
        GpcStatus st = cache.activate(gpa, TimeInfoWriter.SIZE);
        if (st != GpcStatus.OK && st != GpcStatus.NOT_BACKED) {
            cache.deactivate();
            return -XenErrno.EFAULT;
        }
        registered = true;
        return 0;
    }

    public void unregister() {
        registered = false;
        cache.deactivate();
    }

    public boolean isRegistered() {
        return registered;
    }

    /** The guest-physical address of the registered area, or -1. */
    public long gpa() {
        return registered ? cache.gpa() : -1;
    }

    /** Updates given up because the cache could not be locked. */
    public long skippedUpdates() {
        return skipped.sum();
    }

    /** Publishes a sample (see {@link TimeInfoWriter#write}); false when not registered or given up. */
    public boolean update(long tscTimestamp, long systemTime, TscScale scale, boolean tscStable, boolean mayBlock) {
        if (!registered) {
            return false;
        }
        MappedArea a = mayBlock ? cache.lock() : cache.tryLock();
        if (a == null) {
            skipped.increment();
            return false;
        }
        try {
            TimeInfoWriter.write(a, 0, tscTimestamp, systemTime, scale, tscStable, false);
        } finally {
            cache.unlock();
        }
        return true;
    }

    /** The guest's view of the area (for tests), or null. */
    public TimeInfoWriter.Snapshot read() {
        MappedArea a = registered ? cache.lock() : null;
        if (a == null) {
            return null;
        }
        try {
            return TimeInfoWriter.read(a, 0, 1000);
        } finally {
            cache.unlock();
        }
    }
}

package org.jxen.bench;

import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.XenPlatform;
import org.jxen.hypercalls.mm.PagingState;

/**
 * A Xen platform in memory for benchmarks of the domain's own code: 1 MiB of off-heap guest RAM at
 * gpa 0, paging off (a guest-virtual address is its guest-physical one), upcalls counted and
 * otherwise dropped, console output dropped.
 *
 * <p>Threads: as {@link XenPlatform} says; {@link #upcalls} is written by whichever thread delivers
 * (a benchmark thread) and is only a sink that keeps the delivery from being optimised away.
 */
public final class InMemoryXenPlatform implements XenPlatform, AutoCloseable {
    /** Size of the guest's RAM. */
    public static final long SIZE = 1 << 20;

    private final HostMemory ram = HostMemory.offHeap("bench-domain", SIZE);
    private final GuestMemory memory = new GuestMemory("bench-domain");
    /** Upcalls delivered; a plain field, only a sink. */
    public long upcalls;

    public InMemoryXenPlatform() {
        memory.addSlot(0, 0, SIZE, ram, 0, 0);
    }

    /** The host memory behind the guest's RAM, for direct (lock-free) access by the benchmark's "guest". */
    public HostMemory ram() {
        return ram;
    }

    @Override
    public GuestMemory memory() {
        return memory;
    }

    @Override
    public PagingState pagingState(int vcpuId) {
        return PagingState.pagingOff();
    }

    @Override
    public boolean deliverVector(int vcpuId, int vector) {
        upcalls++;
        return true;
    }

    @Override
    public long monotonicNanos() {
        return System.nanoTime();
    }

    @Override
    public void consoleWrite(byte[] bytes, int offset, int length) {
    }

    @Override
    public void shutdown(int vcpuId, int reason) {
    }

    @Override
    public void close() {
        memory.removeSlot(0);
        ram.close();
    }
}

package org.jxen.hypercalls.testing;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.gpc.Memslot;
import org.jxen.hypercalls.XenPlatform;
import org.jxen.hypercalls.mm.PagingState;

/**
 * A {@link XenPlatform} in memory, for tests, benchmarks and JCStress states: guest memory whose
 * slots are RAM the platform allocates and owns ({@link #addRam}, {@link #addAnonymousRam},
 * {@link #addRom}) or ranges of host memory it does not own ({@link #addSlotOver}); paging off
 * unless a test sets a paging state; upcalls to an {@link UpcallSink} chosen at construction;
 * console output kept or dropped; the last shutdown reason recorded; the real monotonic clock.
 *
 * <p>Variants extend it and override what they change (a hand-moved clock, thread times, vCPU
 * bring-up, a guest TSC, {@link #vcpuMustYield}); the rest of {@link XenPlatform}'s defaults hold.
 *
 * <p>Threads: build it (add its memory) on one thread before a {@link org.jxen.hypercalls.XenDomain}
 * uses it; then the {@link XenPlatform} methods from any thread, as that interface says (delivery
 * as the sink says); {@link #setPagingState} and the readers from any thread; {@link #close()}
 * once, after the domain is closed.
 */
public class InMemoryXenPlatform implements XenPlatform, AutoCloseable {
    /** What happens to what the guest writes to its console. */
    public enum Console {
        /** Kept in memory, read by {@link #console()}. */
        KEEP,
        /** Dropped. */
        DROP
    }

    private final GuestMemory memory;
    private final UpcallSink upcalls;
    /** The console's bytes; null when dropped. Guarded by itself. */
    private final ByteArrayOutputStream console;
    /** Host memory this platform allocated, closed by {@link #close()}; null until the first. */
    private List<HostMemory> owned;
    private volatile PagingState paging = PagingState.pagingOff();
    private volatile int shutdownReason = -1;

    /** A platform without memory yet; {@code name} names its guest memory and the host memory it allocates. */
    public InMemoryXenPlatform(String name, UpcallSink upcalls, Console console) {
        this.memory = new GuestMemory(name);
        this.upcalls = upcalls;
        this.console = console == Console.KEEP ? new ByteArrayOutputStream() : null;
    }

    /**
     * A platform with {@code ramBytes} of off-heap RAM at gpa 0 that it owns; upcalls to
     * {@code upcalls}; console output dropped.
     */
    public static InMemoryXenPlatform withRam(String name, long ramBytes, UpcallSink upcalls) {
        InMemoryXenPlatform p = new InMemoryXenPlatform(name, upcalls, Console.DROP);
        p.addRam(0, ramBytes);
        return p;
    }

    // ------------------------------------------------------------------ memory

    /** Adds {@code size} bytes of off-heap RAM at {@code gpa} (the next free slot id), owned by the platform. */
    public HostMemory addRam(long gpa, long size) {
        return own(gpa, HostMemory.offHeap(memory.name() + "@" + Long.toHexString(gpa), size), 0);
    }

    /**
     * Adds {@code size} bytes of RAM at {@code gpa} in anonymous shared memory, owned by the platform:
     * memory the host can really give back, as a KVM VM's is.
     */
    public HostMemory addAnonymousRam(long gpa, long size) {
        return own(gpa, HostMemory.anonymous(memory.name() + "@" + Long.toHexString(gpa), size), 0);
    }

    /** Adds {@code size} bytes of read-only memory (anonymous, zero) at {@code gpa}, owned by the platform. */
    public HostMemory addRom(long gpa, long size) {
        return own(gpa, HostMemory.anonymous(memory.name() + "-rom@" + Long.toHexString(gpa), size), Memslot.READONLY);
    }

    /**
     * Adds a slot (the next free id) at {@code gpa} over {@code [offset, offset + size)} of
     * {@code host}, which the caller owns and keeps open until this platform is closed.
     */
    public void addSlotOver(long gpa, long size, HostMemory host, long offset) {
        memory.addSlotWithFreeId(0, gpa, size, host, offset, 0);
    }

    private HostMemory own(long gpa, HostMemory host, int flags) {
        try {
            memory.addSlotWithFreeId(0, gpa, host.size(), host, 0, flags);
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
        if (owned == null) {
            owned = new ArrayList<>(2);
        }
        owned.add(host);
        return host;
    }

    /** The host memory behind the first RAM this platform allocated (the RAM at gpa 0 in the usual layout). */
    public HostMemory ram() {
        if (owned == null) {
            throw new IllegalStateException(memory.name() + " allocated no RAM");
        }
        return owned.getFirst();
    }

    @Override
    public GuestMemory memory() {
        return memory;
    }

    // ------------------------------------------------------------------ the vCPUs and the machine

    /** Paging as every vCPU now has it (off, where gva = gpa, unless set). Any thread. */
    public void setPagingState(PagingState paging) {
        this.paging = paging;
    }

    @Override
    public PagingState pagingState(int vcpuId) {
        return paging;
    }

    @Override
    public boolean deliverVector(int vcpuId, int vector) {
        return upcalls.deliver(vcpuId, vector);
    }

    @Override
    public long monotonicNanos() {
        return System.nanoTime();
    }

    @Override
    public void consoleWrite(byte[] bytes, int offset, int length) {
        if (console != null) {
            synchronized (console) {
                console.write(bytes, offset, length);
            }
        }
    }

    /** The console output so far (empty when dropped). Any thread. */
    public byte[] console() {
        if (console == null) {
            return new byte[0];
        }
        synchronized (console) {
            return console.toByteArray();
        }
    }

    @Override
    public void shutdown(int vcpuId, int reason) {
        shutdownReason = reason;
    }

    /** The reason of the guest's last {@code SCHEDOP_shutdown} (a {@code SHUTDOWN_*} value), or -1 if none. Any thread. */
    public int shutdownReason() {
        return shutdownReason;
    }

    /**
     * Removes every slot of the guest memory (whoever added it) and closes the host memory this
     * platform allocated; host memory it does not own stays open. After the domain is closed; again
     * does nothing.
     */
    @Override
    public void close() {
        for (Memslot s : memory.currentMap().slots()) {
            memory.removeSlot(s.id());
        }
        if (owned != null) {
            for (HostMemory h : owned) {
                h.close();
            }
            owned = null;
        }
    }
}

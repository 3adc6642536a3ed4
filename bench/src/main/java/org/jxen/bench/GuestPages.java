package org.jxen.bench;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One guest for a whole trial: 1 MiB of off-heap host memory behind one memslot at gpa 0, from
 * which each {@link Page} takes a page of its own (so that per-thread caches share no cache line).
 *
 * <p>Threads: {@link #newPage} may be called from the setup of any benchmark thread.
 */
@State(Scope.Benchmark)
public class GuestPages {
    /** Size of the guest's only memslot. */
    public static final long SIZE = 1 << 20;
    /** Length of every cache: the 64 bytes of a vcpu_info. */
    public static final long AREA_LENGTH = 64;

    private HostMemory host;
    private GuestMemory guest;
    private final AtomicInteger nextPage = new AtomicInteger();

    @Setup(Level.Trial)
    public void setUp() {
        host = HostMemory.offHeap("bench", SIZE);
        guest = new GuestMemory("bench");
        guest.addSlot(0, 0, SIZE, host, 0, 0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        guest.removeSlot(0);
        host.close();
    }

    /** A fresh page of the guest, with a gfn-to-pfn cache and reference caches over its first 64 bytes. */
    public Page newPage() {
        long gpa = nextPage.getAndIncrement() * HostMemory.PAGE_SIZE;
        if (gpa + HostMemory.PAGE_SIZE > SIZE) {
            throw new IllegalStateException("out of pages");
        }
        GfnToPfnCache cache = guest.newCache("bench@0x" + Long.toHexString(gpa));
        GpcStatus st = cache.activate(gpa, AREA_LENGTH);
        if (st != GpcStatus.OK) {
            throw new IllegalStateException("activate(0x" + Long.toHexString(gpa) + ") failed: " + st);
        }
        // the very bytes the cache maps, for the lock-free floor and the reference caches
        MemorySegment raw = host.segment().asSlice(gpa, AREA_LENGTH);
        return new Page(cache, raw);
    }
}

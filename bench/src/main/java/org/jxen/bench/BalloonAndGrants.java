package org.jxen.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.jxen.abi.Evtchn;
import org.jxen.abi.Gtf;
import org.jxen.abi.Hypercall;
import org.jxen.abi.XenMem;
import org.jxen.gpc.GuestMemory;
import org.jxen.hypercalls.GrantException;
import org.jxen.hypercalls.GrantMapping;
import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.testing.DomainDriver;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The cost of the balloon and of a backend's grant mapping, in-process (the hypercall handlers
 * behind {@code XenDomain.dispatch}, without the KVM exit, which HypercallRoundTrip measures):
 *
 * <ul>
 * <li>{@code balloonCycle512}: the guest touches 512 pages (one store each, as a guest that used
 * them), gives them back with one {@code XENMEM_decrease_reservation} of 512 order-0 extents, and
 * takes them again with one {@code XENMEM_populate_physmap}. The pages are contiguous, so each call
 * is one discard ({@code madvise(MADV_REMOVE)} inside a host-range invalidation).</li>
 * <li>{@code balloonCycle512Scattered}: the same with every other page (1024 gfns apart by 2): 512
 * discards per call.</li>
 * <li>{@code grantMapReadUnmap}: {@code mapForeign} of a read-only grant, a 4 KiB read, close.</li>
 * <li>{@code grantRead4k}: a 4 KiB read through a mapping that stays open.</li>
 * </ul>
 * RAM is anonymous shared memory (what a KVM VM has), 16 MiB, paging off.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class BalloonAndGrants {
    private static final long PAGE = 4096;
    private static final long RAM = 16L << 20;
    private static final long ARGS = 16 * PAGE;
    private static final long CONTIGUOUS = 32 * PAGE;
    private static final long SCATTERED = 40 * PAGE;
    private static final long FIRST = 1024;
    private static final int N = 512;
    private static final long GRANT_FRAME = 100;
    private static final long GRANTED = 101;

    private InMemoryXenPlatform platform;
    private XenDomain domain;
    private DomainDriver guest;
    private GrantMapping open;
    private MemorySegment buffer;
    private Arena arena;

    @Setup(Level.Trial)
    public void setUp() throws GrantException {
        platform = new InMemoryXenPlatform("bench", UpcallSink.ACCEPT, InMemoryXenPlatform.Console.DROP);
        platform.addAnonymousRam(0, RAM);
        domain = new XenDomain(platform, XenDomain.Config.of(1));
        guest = new DomainDriver(domain, platform.memory(), ARGS + 512);
        GuestMemory m = platform.memory();
        for (int i = 0; i < N; i++) {
            m.putLong(CONTIGUOUS + i * 8L, FIRST + i);
            m.putLong(SCATTERED + i * 8L, FIRST + 2L * i);
        }
        // grant frame 0 at GRANT_FRAME; ref 8 grants GRANTED read-only to domain 0
        guest.mapGrantFrame(0, GRANT_FRAME);
        m.putInt(GRANT_FRAME * PAGE + 8 * 8 + 4, (int) GRANTED);
        m.putShort(GRANT_FRAME * PAGE + 8 * 8, (short) (Gtf.PERMIT_ACCESS | Gtf.READONLY));
        open = domain.grantTable().mapForeign(8, false);
        arena = Arena.ofConfined();
        buffer = arena.allocate(PAGE);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        open.close();
        domain.close();
        platform.close();
        arena.close();
    }

    private long call(int cmd, long arg) {
        return guest.call(Hypercall.MEMORY_OP, cmd, arg);
    }

    private static void check(long got, long want, String what) {
        if (got != want) {
            throw new IllegalStateException(what + " returned " + got + ", not " + want);
        }
    }

    private void reservation(int op, long list) {
        GuestMemory m = platform.memory();
        m.putLong(ARGS, list);
        m.putLong(ARGS + 8, N);
        m.putInt(ARGS + 16, 0);
        m.putInt(ARGS + 20, 0);
        m.putShort(ARGS + 24, (short) Evtchn.DOMID_SELF);
        check(call(op, ARGS), N, XenMem.name(op));
    }

    private long cycle(long list, long stride) {
        GuestMemory m = platform.memory();
        for (int i = 0; i < N; i++) {
            m.putLong((FIRST + stride * i) * PAGE, i);
        }
        reservation(XenMem.DECREASE_RESERVATION, list);
        reservation(XenMem.POPULATE_PHYSMAP, list);
        return m.getLong(FIRST * PAGE);
    }

    @Benchmark
    public long balloonCycle512() {
        return cycle(CONTIGUOUS, 1);
    }

    @Benchmark
    public long balloonCycle512Scattered() {
        return cycle(SCATTERED, 2);
    }

    @Benchmark
    public long grantMapReadUnmap() throws GrantException {
        try (GrantMapping g = domain.grantTable().mapForeign(8, false)) {
            g.read(0, buffer);
        }
        return buffer.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
    }

    @Benchmark
    public long grantRead4k() {
        open.read(0, buffer);
        return buffer.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
    }
}

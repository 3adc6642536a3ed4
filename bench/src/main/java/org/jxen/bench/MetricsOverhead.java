package org.jxen.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

import org.jxen.abi.EvtchnOp;
import org.jxen.abi.Hypercall;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuInfo;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenVersion;
import org.jxen.gpc.CacheStats;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.MappedArea;
import org.jxen.hypercalls.DomainStats;
import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.testing.DomainDriver;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the metrics' counters cost on the hot paths: the same operations with counting on
 * ({@code metrics = true}) and off ({@code metrics = false}, as with {@code -Djxen.metrics=false}).
 * Each value of the parameter runs in its own forked JVM, where the trial's setup sets the property
 * before any stats class is initialised; {@code DomainStats.COUNTING} and
 * {@code CacheStats.COUNTING} are then constants that the JIT folds, so "off" is the code with no
 * counting at all. The setup checks that the switch took effect.
 *
 * <ul>
 * <li>{@link #hypercallXenVersion}: {@link XenDomain#dispatch} of {@code xen_version(XENVER_version)},
 * a hypercall that only returns a number: the in-process dispatch path. Hypercalls are counted and
 * timed by the KVM transport, not here (docs/monitor.md says why); this benchmark shows that
 * dispatch pays nothing, and {@link HypercallRoundTripMetrics} measures the path a guest takes.</li>
 * <li>{@link #eventRaise}: the event path, {@code EventChannels.raise} of an IPI port through
 * {@link XenDomain#raise}: pending bit, mask check, selector, {@code evtchn_upcall_pending}, upcall
 * delivery. The benchmark then does what the guest's handler does (clears the pending bit, the
 * selector and {@code evtchn_upcall_pending} with plain stores), so that every raise takes the whole
 * path.</li>
 * <li>{@link #hypercallEvtchnSend}: both at once, {@code EVTCHNOP_send} on that IPI port.</li>
 * <li>{@link #gpcLockHit}: the gfn-to-pfn cache's hit path (lock, 8-byte read, unlock), where the
 * lock-hit count lives.</li>
 * </ul>
 *
 * <p>Threads: one JMH thread; the domain's own scheduler thread is idle (no timers are armed).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(2)
public class MetricsOverhead {
    private static final long ARGS = 0x10000;
    private static final long SEND_ARGS = ARGS + 64;
    private static final long SHARED_INFO_GFN = 0x20;
    private static final int VECTOR = 0xf3;
    private static final long CACHE_GPA = 0x30000;

    @Param({"false", "true"})
    public String metrics;

    private final UpcallSink.Counter upcalls = new UpcallSink.Counter();
    private InMemoryXenPlatform platform;
    private XenDomain domain;
    private DomainDriver guest;
    private int port;
    private MemorySegment sharedInfo;
    private long pendingWord;
    private long pendingBit;
    private long selector;
    private long upcallPending;
    private GfnToPfnCache cache;

    @Setup(Level.Trial)
    public void setUp() {
        System.setProperty("jxen.metrics", metrics);
        platform = InMemoryXenPlatform.withRam("bench-domain", 1 << 20, upcalls);
        domain = new XenDomain(platform, XenDomain.Config.of(1));
        boolean want = Boolean.parseBoolean(metrics);
        if (DomainStats.COUNTING != want || CacheStats.COUNTING != want) {
            throw new IllegalStateException("the stats classes were initialised before the switch: counting is "
                    + DomainStats.COUNTING + "/" + CacheStats.COUNTING + ", wanted " + want);
        }
        guest = new DomainDriver(domain, platform.memory(), ARGS);
        var m = platform.memory();
        guest.mapSharedInfo(SHARED_INFO_GFN);
        guest.setUpcallVector(0, VECTOR);
        port = guest.bindIpi(0);
        m.putInt(SEND_ARGS, port);

        WordSize w = WordSize.BITS_64;
        sharedInfo = platform.ram().segment().asSlice(SHARED_INFO_GFN << 12, 4096);
        pendingWord = SharedInfo.offsetOfEvtchnPending(w) + (port / 64) * 8L;
        pendingBit = 1L << (port % 64);
        long vcpuInfo = SharedInfo.offsetOfVcpuInfo(w, 0);
        selector = vcpuInfo + VcpuInfo.offsetOfEvtchnPendingSel(w);
        upcallPending = vcpuInfo + VcpuInfo.offsetOfEvtchnUpcallPending(w);

        long before = upcalls.count();
        eventRaise();
        if (upcalls.count() != before + 1) {
            throw new IllegalStateException("a raise did not deliver an upcall: the benchmark would not take the whole path");
        }

        cache = m.newCache("bench");
        if (cache.activate(CACHE_GPA, 64) != GpcStatus.OK) {
            throw new IllegalStateException("cannot activate the benchmark's cache");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cache.deactivate();
        domain.close();
        platform.close();
    }

    private long call(int nr, long a0, long a1) {
        return guest.call(nr, a0, a1);
    }

    /** What the guest's upcall handler does: clear the selector, upcall_pending and the port's pending bit. */
    private void guestHandles() {
        sharedInfo.set(ValueLayout.JAVA_BYTE, upcallPending, (byte) 0);
        sharedInfo.set(ValueLayout.JAVA_LONG, selector, 0L);
        sharedInfo.set(ValueLayout.JAVA_LONG, pendingWord, sharedInfo.get(ValueLayout.JAVA_LONG, pendingWord) & ~pendingBit);
    }

    @Benchmark
    public long hypercallXenVersion() {
        return call(Hypercall.XEN_VERSION, XenVersion.VERSION, 0);
    }

    @Benchmark
    public void eventRaise() {
        domain.raise(port);
        guestHandles();
    }

    @Benchmark
    public long hypercallEvtchnSend() {
        long r = call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.SEND, SEND_ARGS);
        guestHandles();
        return r;
    }

    @Benchmark
    public long gpcLockHit() {
        MappedArea a = cache.lock();
        try {
            return a.getLong(8);
        } finally {
            cache.unlock();
        }
    }
}

package org.jxen.bench;

import java.util.concurrent.TimeUnit;

import org.jxen.abi.Hypercall;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenVersion;
import org.jxen.hypercalls.HandlerAccess;
import org.jxen.hypercalls.HypercallRequest;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The in-process cost of {@code XenDomain.dispatch} itself: {@code xen_version(XENVER_version)}, a
 * handler that reads no guest memory, through {@code dispatch} ({@code dispatchXenVersion}) and by
 * calling the handler directly ({@code handlerXenVersion}). The difference is the dispatcher's
 * overhead: vCPU lookup, word-size latch, binding the guest-virtual accessor, the switch and the
 * fault handler. The target of issue 5 is under 50 ns beyond the handler.
 *
 * <p>Threads: JMH's single benchmark thread plays vCPU 0.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class HypercallDispatch {
    private BenchDomain d;
    private HandlerAccess handlers;
    private HypercallRequest version;

    @Setup(Level.Trial)
    public void setUp() {
        d = new BenchDomain(false);
        handlers = new HandlerAccess(d.domain, d.platform, 0);
        version = new HypercallRequest(0).set(Hypercall.XEN_VERSION, XenVersion.VERSION, 0, 0, 0, 0, 0,
                WordSize.BITS_64, 0);
        if (d.domain.dispatch(version) != handlers.xenVersion(version) || handlers.xenVersion(version) <= 0) {
            throw new IllegalStateException("xen_version differs between dispatch and the handler");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        d.close();
    }

    @Benchmark
    public long dispatchXenVersion() {
        return d.domain.dispatch(version);
    }

    @Benchmark
    public long handlerXenVersion() {
        return handlers.xenVersion(version);
    }
}

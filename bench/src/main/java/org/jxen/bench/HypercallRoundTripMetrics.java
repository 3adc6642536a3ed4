package org.jxen.bench;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.concurrent.TimeUnit;

import org.jxen.guests.Guests;
import org.jxen.hypercalls.DomainStats;
import org.jxen.kvm.Kvm;
import org.jxen.kvm.VcpuStats;
import org.jxen.kvm.harness.SelftestVm;
import org.jxen.kvm.harness.Ucall;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The hypercall path as a guest takes it, with the metrics on and off: a real KVM guest
 * ({@code bench-hypercall}) calls hypercall 47 through jxen's port doorbell in a loop, and jxen's
 * Xen domain answers {@code -ENOSYS}. Each call is one {@code KVM_EXIT_IO}, the run loop's exit
 * count, the transport's decode, the count by number and the two clock reads that time the call
 * ({@link VcpuStats}), {@code XenDomain.dispatch}, and the re-entry. One invocation is a batch of
 * {@link #BATCH} calls (the guest reports back through a ucall between batches), so the score is
 * the time per hypercall.
 *
 * <p>{@code metrics} works as in {@link MetricsOverhead}: each value in its own forked JVM, set
 * before the stats classes are initialised, and checked. The work runs on the vCPU thread, so CPU
 * time is measured with {@code -prof "org.jxen.bench.ThreadCpuTimeProfiler:threads=-vcpu"}.
 *
 * <p>Threads: one JMH thread drives the guest; the guest runs on the VM's vCPU thread.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(2)
public class HypercallRoundTripMetrics {
    /** Hypercalls per invocation. */
    public static final int BATCH = 20_000;

    @Param({"false", "true"})
    public String metrics;

    private SelftestVm vm;
    private long slot;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        System.setProperty("jxen.metrics", metrics);
        String cause = Kvm.unavailabilityCause();
        if (cause != null) {
            throw new IllegalStateException("this benchmark needs KVM: " + cause);
        }
        vm = SelftestVm.create(Guests.image("bench-hypercall"),
                SelftestVm.options().xenDomain().console(new PrintStream(OutputStream.nullOutputStream())));
        boolean want = Boolean.parseBoolean(metrics);
        if (VcpuStats.COUNTING != want || DomainStats.COUNTING != want) {
            throw new IllegalStateException("the stats classes were initialised before the switch");
        }
        vm.start();
        slot = vm.ucallSlotGpa(0);
        vm.awaitSync(0, 1);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long hypercalls() {
        vm.vm().memory().putLong(slot + 8, BATCH);
        vm.resume(0);
        Ucall u = vm.awaitSync(0, 2);
        if (u.arg(3) != 0) {
            throw new IllegalStateException(u.arg(3) + " calls did not return -ENOSYS");
        }
        vm.resume(0);
        vm.awaitSync(0, 1);
        return u.arg(1);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (metrics.equals("true") && vm.vm().vcpu(0).stats().hypercalls(47) < BATCH) {
            throw new IllegalStateException("hypercall 47 was not counted: the benchmark did not measure the counting");
        }
        vm.vm().memory().putLong(slot + 8, 0x57095709L);
        vm.resume(0);
        vm.awaitDone(0);
        vm.close();
    }
}

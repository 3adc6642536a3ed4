package org.jxen.bench;

import java.util.concurrent.TimeUnit;
import org.jxen.abi.Runstate;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.time.RunstateAccount;
import org.jxen.hypercalls.time.RunstateArea;
import org.jxen.hypercalls.time.SchedStat;
import org.jxen.hypercalls.time.VcpuRunstate;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What runstate costs, in-process, one thread:
 * <ul>
 * <li>{@code areaUpdate}: {@link RunstateArea#update} of a 64-bit record with the
 *     {@code XEN_RUNSTATE_UPDATE} protocol (lock the cache(s), flag byte, record, release), the area
 *     in one page ({@code layout = one-page}) or across two pages at unrelated gpas (two caches,
 *     {@code two-caches});</li>
 * <li>{@code areaTryUpdate}: the same from a context that must not wait ({@code tryLock});</li>
 * <li>{@code accountingStep}: a whole step of {@link VcpuRunstate} as the host's sampler makes it
 *     (the thread's times from a fake source, the split, the account's sequence-counter write, the
 *     area update);</li>
 * <li>{@code tickNotDue}: what every exit pays when no step is due ({@code System.nanoTime()}, the
 *     domain's clock, and a compare);</li>
 * <li>{@code schedStatRead}: one read of {@code /proc/self/task/<tid>/schedstat} (why it is read
 *     every 10 ms and not per exit).</li>
 * </ul>
 * The last two do not depend on {@code layout}.
 *
 * <p>Threads: JMH's one thread per trial; the state is its own.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Thread)
@Threads(1)
public class RunstateUpdate {
    static final long PAGE = HostMemory.PAGE_SIZE;

    @Param({"one-page", "two-caches"})
    public String layout;

    private HostMemory host;
    private GuestMemory guest;
    private RunstateArea area;
    private VcpuRunstate vcpu;
    private VcpuRunstate onSystemClock;
    private SchedStat schedStat;
    private final RunstateAccount.Snapshot[] records = new RunstateAccount.Snapshot[2];
    private int next;
    private long clock = 1_000_000_000L;
    private long onCpu;

    @Setup(Level.Trial)
    public void setUp() {
        host = HostMemory.offHeap("bench-runstate", 8 * PAGE);
        guest = new GuestMemory("bench-runstate");
        guest.addSlot(0, 0, 8 * PAGE, host, 0, 0);
        area = new RunstateArea(guest, "bench");
        int rc = layout.equals("one-page") ? area.register(PAGE + 64, -1, WordSize.BITS_64)
                : area.register(2 * PAGE - 20, 5 * PAGE, WordSize.BITS_64);
        if (rc != 0) {
            throw new IllegalStateException("register: " + rc);
        }
        records[0] = new RunstateAccount.Snapshot(Runstate.RUNNING, 10_000, 1_000, 2_000, 3_000, 4_000);
        records[1] = new RunstateAccount.Snapshot(Runstate.BLOCKED, 12_600, 1_500, 2_600, 3_700, 4_800);
        vcpu = new VcpuRunstate(guest, "bench-vcpu", () -> clock, () -> new SchedStat.Sample(onCpu, 0), true);
        if (vcpu.register(layout.equals("one-page") ? 3 * PAGE + 64 : 4 * PAGE - 20,
                layout.equals("one-page") ? -1 : 6 * PAGE, WordSize.BITS_64) != 0) {
            throw new IllegalStateException("register the vCPU's area");
        }
        onSystemClock = new VcpuRunstate(guest, "bench-tick", System::nanoTime, () -> null, true);
        schedStat = SchedStat.openForCurrentThread();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        area.unregister();
        vcpu.area().unregister();
        if (schedStat != null) {
            schedStat.close();
        }
        guest.removeSlot(0);
        host.close();
    }

    @Benchmark
    public boolean areaUpdate() {
        return area.update(records[next++ & 1], true);
    }

    @Benchmark
    public boolean areaTryUpdate() {
        return area.update(records[next++ & 1], false);
    }

    @Benchmark
    public boolean accountingStep() {
        clock += 10_000_000L;
        onCpu += 7_000_000L;
        return vcpu.sampleFromHost(0);
    }

    @Benchmark
    public void tickNotDue() {
        onSystemClock.tick(Long.MAX_VALUE);
    }

    @Benchmark
    public SchedStat.Sample schedStatRead() {
        return schedStat == null ? null : schedStat.read();
    }
}

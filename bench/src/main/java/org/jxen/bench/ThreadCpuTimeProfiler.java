package org.jxen.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * A JMH profiler that adds {@code cpu.time/op}: the CPU time that the benchmark's worker threads
 * used in an iteration, divided by the operations they did. Unlike the wall-clock score, it does
 * not grow while a worker waits for a CPU that other processes hold, so on a loaded machine it shows
 * the cost of the code itself (cache misses after another process ran on the core still count).
 *
 * <p>Use: {@code -prof org.jxen.bench.ThreadCpuTimeProfiler}. Worker threads are found by JMH's
 * naming ({@code ...-jmh-worker-N}); their CPU time is read with {@link ThreadMXBean}, before and
 * after each iteration. The CPU time covers every operation of the iteration, so it is divided by
 * {@code getAllOps()}. {@code -prof "org.jxen.bench.ThreadCpuTimeProfiler:threads=-vcpu"} counts the
 * threads whose names contain {@code -vcpu} instead: the vCPU threads, for a benchmark whose work
 * runs on them (KVM guest time is the vCPU thread's CPU time).
 *
 * <p>Threads: JMH calls {@code beforeIteration} and {@code afterIteration} from its control thread,
 * one after the other.
 */
public final class ThreadCpuTimeProfiler implements InternalProfiler {
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final Map<Long, Long> before = new HashMap<>();
    private final String nameContains;

    public ThreadCpuTimeProfiler() {
        this("");
    }

    /** JMH passes what follows the profiler's name and a colon: {@code threads=<part of a thread name>}. */
    public ThreadCpuTimeProfiler(String options) {
        String o = options == null ? "" : options.trim();
        this.nameContains = o.startsWith("threads=") ? o.substring("threads=".length()) : "-jmh-worker-";
        if (nameContains.isEmpty() || (!o.isEmpty() && !o.startsWith("threads="))) {
            throw new IllegalArgumentException("ThreadCpuTimeProfiler takes threads=<part of a thread name>, not: " + o);
        }
        if (!threads.isThreadCpuTimeSupported()) {
            throw new UnsupportedOperationException("this JVM cannot measure thread CPU time");
        }
        threads.setThreadCpuTimeEnabled(true);
    }

    @Override
    public String getDescription() {
        return "CPU time of the worker threads per operation (ThreadMXBean)";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        before.clear();
        for (long id : workers()) {
            long cpu = threads.getThreadCpuTime(id);
            if (cpu >= 0) {
                before.put(id, cpu);
            }
        }
    }

    @Override
    public List<? extends Result<?>> afterIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams,
            IterationResult result) {
        long cpu = 0;
        for (long id : workers()) {
            long now = threads.getThreadCpuTime(id);
            Long then = before.get(id);
            if (now >= 0) {
                cpu += now - (then != null ? then : 0); // a worker started during the iteration counts whole
            }
        }
        long ops = result.getMetadata().getAllOps();
        double perOp = ops > 0 ? (double) cpu / ops : Double.NaN;
        return List.of(new ScalarResult("cpu.time/op", perOp, "ns/op", AggregationPolicy.AVG));
    }

    /** The ids of the measured threads (names only: no stack traces, no safepoint). */
    private List<Long> workers() {
        return java.util.Arrays.stream(threads.getThreadInfo(threads.getAllThreadIds(), 0))
                .filter(i -> i != null && i.getThreadName().contains(nameContains))
                .map(java.lang.management.ThreadInfo::getThreadId)
                .toList();
    }
}

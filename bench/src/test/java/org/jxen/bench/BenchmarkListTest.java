package org.jxen.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * Fails the build when JMH's annotation processor did not run: then {@code META-INF/BenchmarkList}
 * is missing or empty and {@code benchmarks.jar} would run nothing.
 */
class BenchmarkListTest {
    private static final List<String> CLASSES = List.of("HitPathOneThread", "HitPathTwoThreadsOneCache",
            "HitPathTwoThreadsPerThreadCache");
    private static final List<String> METHODS = List.of("gpcRead", "gpcWrite", "gpcSetBit", "rawRead", "rawWrite",
            "rawSetBit", "rrwlRead", "rrwlWrite", "rrwlSetBit", "stampedRead", "stampedWrite", "stampedSetBit",
            "stampedOptimisticRead");
    private static final List<String> METRICS_METHODS = List.of("hypercallXenVersion", "eventRaise",
            "hypercallEvtchnSend", "gpcLockHit");

    /** The event-channel and dispatch benchmarks of issue 5: class, then its methods. */
    private static final List<List<String>> HYPERCALL_BENCHMARKS = List.of(
            List.of("EventChannelSend", "guestSendPending", "handlerSendPending", "hostRaisePending",
                    "hostRaiseMasked", "hostRaiseFresh"),
            List.of("HypercallDispatch", "dispatchXenVersion", "handlerXenVersion"));

    @Test
    void jmhGeneratedExactlyTheHypercallBenchmarks() throws IOException {
        List<String> lines = benchmarkList().lines().toList();
        for (List<String> b : HYPERCALL_BENCHMARKS) {
            String cls = "org.jxen.bench." + b.get(0);
            // a line's tokens: JMH S <n> <class> S <n> <generated class> S <n> <method> ...
            java.util.Set<String> listed = new java.util.TreeSet<>();
            for (String line : lines) {
                String[] t = line.split(" ");
                if (t.length > 9 && t[3].equals(cls)) {
                    listed.add(t[9]);
                }
            }
            assertEquals(new java.util.TreeSet<>(b.subList(1, b.size())), listed,
                    "META-INF/BenchmarkList does not list exactly the benchmarks of " + cls
                            + ": did jmh-generator-annprocess run, or was a benchmark added without updating this test?");
        }
    }

    @Test
    void jmhGeneratedEveryHitPathBenchmark() throws IOException {
        List<String> lines = benchmarkList().lines().toList();
        for (String c : CLASSES) {
            for (String m : METHODS) {
                // a line is "JMH S <len> <class> S <len> <generated class> S <len> <method> ..."
                String cls = " org.jxen.bench." + c + " ";
                String method = " S " + m.length() + " " + m + " ";
                assertTrue(lines.stream().anyMatch(l -> l.contains(cls) && l.contains(method)),
                        "META-INF/BenchmarkList does not list org.jxen.bench." + c + "." + m
                                + ": did jmh-generator-annprocess run (annotationProcessorPaths in bench/pom.xml)?");
            }
        }
    }

    @Test
    void jmhGeneratedTheBalloonAndGrantBenchmarks() throws IOException {
        List<String> lines = benchmarkList().lines().toList();
        for (String m : List.of("balloonCycle512", "balloonCycle512Scattered", "grantMapReadUnmap", "grantRead4k")) {
            String method = " S " + m.length() + " " + m + " ";
            assertTrue(lines.stream().anyMatch(l -> l.contains(" org.jxen.bench.BalloonAndGrants ") && l.contains(method)),
                    "META-INF/BenchmarkList does not list org.jxen.bench.BalloonAndGrants." + m);
        }
    }

    @Test
    void jmhGeneratedTheRunstateBenchmarks() throws IOException {
        List<String> lines = benchmarkList().lines().toList();
        for (String m : List.of("areaUpdate", "areaTryUpdate", "accountingStep", "tickNotDue", "schedStatRead")) {
            String cls = " org.jxen.bench.RunstateUpdate ";
            String method = " S " + m.length() + " " + m + " ";
            assertTrue(lines.stream().anyMatch(l -> l.contains(cls) && l.contains(method)),
                    "META-INF/BenchmarkList does not list org.jxen.bench.RunstateUpdate." + m);
        }
    }

    @Test
    void jmhGeneratedEveryMetricsOverheadBenchmark() throws IOException {
        List<String> lines = benchmarkList().lines().toList();
        for (String m : METRICS_METHODS) {
            assertListed(lines, "MetricsOverhead", m);
        }
        assertListed(lines, "HypercallRoundTripMetrics", "hypercalls");
    }

    private static void assertListed(List<String> lines, String c, String m) {
        String cls = " org.jxen.bench." + c + " ";
        String method = " S " + m.length() + " " + m + " ";
        assertTrue(lines.stream().anyMatch(l -> l.contains(cls) && l.contains(method)),
                "META-INF/BenchmarkList does not list org.jxen.bench." + c + "." + m);
    }

    private static String benchmarkList() throws IOException {
        Path file = Path.of("target", "classes", "META-INF", "BenchmarkList");
        if (Files.isRegularFile(file)) {
            return Files.readString(file, StandardCharsets.UTF_8);
        }
        try (InputStream in = BenchmarkListTest.class.getResourceAsStream("/META-INF/BenchmarkList")) {
            assertNotNull(in, "no META-INF/BenchmarkList in " + file.toAbsolutePath()
                    + " nor on the class path: JMH's annotation processor did not run");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}

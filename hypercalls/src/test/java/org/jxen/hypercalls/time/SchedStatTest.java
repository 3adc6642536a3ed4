package org.jxen.hypercalls.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The run delay from /proc/thread-self/schedstat. */
class SchedStatTest {

    @Test
    void parsesTheSecondField() {
        assertEquals(456, SchedStat.parseRunDelay("123 456 7\n"));
        assertEquals(0, SchedStat.parseRunDelay("0 0 0"));
        assertEquals(9_223_372_036_854_775_807L, SchedStat.parseRunDelay("1 9223372036854775807 2"));
        assertEquals(42, SchedStat.parseRunDelay("  \t1\t42"));
    }

    @Test
    void badContentIsMinusOneNotAnException() {
        for (String bad : new String[] {"", "\n", "123", "123 ", "123 abc 4", "12 -3 4", "1 9223372036854775808 2",
                "x 5 6", "1 2x 3", "\u0000\u0000"}) {
            assertEquals(-1, SchedStat.parseRunDelay(bad), () -> "for '" + bad + "'");
        }
        assertEquals(-1, SchedStat.parseRunDelay(new byte[] {'1', ' ', '2'}, 0));
        assertEquals(2, SchedStat.parseRunDelay(new byte[] {'1', ' ', '2'}, 99)); // length clipped to the array
    }

    @Test
    void parsesAnyField() {
        byte[] b = "123 456 7\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertEquals(123, SchedStat.parseField(b, b.length, 0));
        assertEquals(456, SchedStat.parseField(b, b.length, 1));
        assertEquals(7, SchedStat.parseField(b, b.length, 2));
        assertEquals(-1, SchedStat.parseField(b, b.length, 3));
        assertEquals(-1, SchedStat.parseField(b, 3, 1), "cut after the first field");
        byte[] bad = "x 456 7".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertEquals(-1, SchedStat.parseField(bad, bad.length, 1), "a bad field before the wanted one");
    }

    /** The kernel's id of the calling thread, from the /proc/thread-self link ("pid/task/tid"). */
    static int currentTid() throws java.io.IOException {
        String link = Files.readSymbolicLink(java.nio.file.Path.of("/proc/thread-self")).toString();
        return Integer.parseInt(link.substring(link.lastIndexOf('/') + 1));
    }

    @Test
    void readsAnotherThreadsTimesWhileItRuns() throws Exception {
        Assumptions.assumeTrue(Files.isReadable(SchedStat.THREAD_SELF),
                "SKIPPED: no " + SchedStat.THREAD_SELF + " on this kernel");
        java.util.concurrent.CompletableFuture<Integer> tid = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread busy = new Thread(() -> {
            try {
                tid.complete(currentTid());
            } catch (java.io.IOException e) {
                tid.completeExceptionally(e);
            }
            long x = 0;
            while (!stop.get()) {
                x += System.nanoTime() & 7;
            }
            if (x == 42) {
                System.out.print("");
            }
        }, "schedstat-busy");
        busy.start();
        try (SchedStat s = SchedStat.openForThread(tid.get(10, java.util.concurrent.TimeUnit.SECONDS))) {
            assertTrue(s != null, "cannot open the busy thread's schedstat");
            SchedStat.Sample first = s.read();
            assertTrue(first != null && first.onCpuNanos() >= 0 && first.runDelayNanos() >= 0, String.valueOf(first));
            SchedStat.Sample later = first;
            // the busy thread runs: its on-CPU time grows (waits a tick at least; bounded by time, not asserted on it)
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (later.onCpuNanos() == first.onCpuNanos() && System.nanoTime() < deadline) {
                Thread.sleep(5);
                later = s.read();
            }
            assertTrue(later.onCpuNanos() > first.onCpuNanos(), first + " then " + later);
            assertTrue(later.runDelayNanos() >= first.runDelayNanos(), first + " then " + later);
            assertTrue(s.runDelayNanos() >= later.runDelayNanos(), "run delay never decreases");
        } finally {
            stop.set(true);
            busy.join();
        }
        assertEquals(null, SchedStat.openForThread(0));
        assertEquals(null, SchedStat.openForThread(-5));
        assertEquals(null, SchedStat.openForThread(Integer.MAX_VALUE), "no such thread");
    }

    @Test
    void readsTheRealFileForTheCurrentThread() throws Exception {
        Assumptions.assumeTrue(Files.isReadable(SchedStat.THREAD_SELF),
                "SKIPPED: no " + SchedStat.THREAD_SELF + " on this kernel");
        try (SchedStat s = SchedStat.openForCurrentThread()) {
            long first = s.runDelayNanos();
            assertTrue(first >= 0, "run delay " + first);
            // burn some CPU and yield: the run delay never decreases
            long x = 0;
            for (int i = 0; i < 1_000_000; i++) {
                x += i * 31L;
                if (i % 100_000 == 0) {
                    Thread.yield();
                }
            }
            long second = s.runDelayNanos();
            assertTrue(second >= first, first + " then " + second + " (" + x + ")");
        }
        assertTrue(SchedStat.currentThreadRunDelayNanos() >= 0);
    }
}

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

package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Host programs the tests run (binutils' {@code as} and {@code objdump}). Stateless; any thread. */
final class HostTools {
    private HostTools() {
    }

    /** Runs {@code cmd} and returns its output (stdout and stderr); fails the test unless it exits 0 within 60 s. */
    static String exec(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), cmd + " did not end");
        assertEquals(0, p.exitValue(), cmd + ": " + out);
        return out;
    }
}

package org.jxen.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jxen run --xenstore-socket}: while a guest runs, Xen's own tools (Debian's xenstore-utils,
 * with {@code XENSTORED_PATH}) see the domain jxen introduced and the rings jxen gave the guest.
 */
class XenStoreRunTest {
    @TempDir
    Path dir;

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    static void assumeTools() {
        for (String tool : new String[] {"/usr/bin/xenstore-read", "/usr/bin/xenstore-write"}) {
            if (!Files.isExecutable(Path.of(tool))) {
                if ("true".equals(System.getenv("CI"))) {
                    throw new AssertionError("CI=true but " + tool + " is missing (apt-get install xenstore-utils)");
                }
                System.err.println("SKIPPED: XenStoreRunTest: " + tool + " is missing (apt-get install xenstore-utils)");
                Assumptions.assumeTrue(false, tool + " is missing");
            }
        }
    }

    String tool(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
        return out;
    }

    @Test
    void xensToolsSeeTheRunningDomain() throws Exception {
        assumeTools();
        Path k = Jxen.guestFile(dir, "test-pvh-console");
        Path socket = dir.resolve("xenstored.sock");
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "run", "--xenstore-socket",
                socket.toString(), "--cmdline", "rounds=0 hang", k.toString()));
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("stderr.txt").toFile()).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("hanging", out.readLine(), Files.readString(dir.resolve("stderr.txt")));
            String[] env = {"env", "XENSTORED_PATH=" + socket};
            assertEquals("1\n", tool(concat(env, "xenstore-read", "/local/domain/1/domid")));
            assertEquals("jxen\n", tool(concat(env, "xenstore-read", "/local/domain/1/name")));
            assertEquals("1044479\n1\n", tool(concat(env, "xenstore-read", "/local/domain/1/console/ring-ref",
                    "/local/domain/1/console/port")), "the console page and port jxen gave the guest");
            assertEquals("1044476\n2\n", tool(concat(env, "xenstore-read", "/local/domain/1/store/ring-ref",
                    "/local/domain/1/store/port")));
            tool(concat(env, "xenstore-write", "/local/domain/1/data/from-the-host", "hello"));
            assertEquals("hello\n", tool(concat(env, "xenstore-read", "/local/domain/1/data/from-the-host")));
            new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(130, p.exitValue(), Files.readString(dir.resolve("stderr.txt")));
            assertFalse(Files.exists(socket), "the socket is removed when jxen ends");
        } finally {
            p.destroyForcibly();
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = new String[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}

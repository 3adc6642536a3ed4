package org.jxen.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every console source of a guest on one stream, in order: the PV console ring, console_io and the
 * debug ports 0xe9 and 0x12 (test-pvh-console); a ring the guest fills faster than it drains; output
 * the guest never signals; the exit status of other shutdown reasons; Ctrl-C. End to end under KVM.
 */
class ConsoleOrderTest {

    @TempDir
    Path dir;

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    static String flood(int bytes) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; sb.length() < bytes; k++) {
            StringBuilder l = new StringBuilder("flood " + k + " ");
            for (int n = l.length(); n < 63; n++) {
                l.append((char) ('a' + n % 26));
            }
            sb.append(l).append('\n');
        }
        return sb.substring(0, bytes);
    }

    @Test
    void ringConsoleIoAndDebugPortsInterleaveInOrder() throws Exception {
        Path k = Jxen.guestFile(dir, "test-pvh-console");
        Jxen.Result r = Jxen.run("run", "--cmdline", "rounds=25 flood=5000 quiet=4", k.toString());
        assertEquals(0, r.status(), r.toString());
        StringBuilder want = new StringBuilder();
        for (int i = 0; i < 25; i++) {
            want.append("ring ").append(i).append('\n');
            want.append("io ").append(i).append('\n');
            want.append("e9 ").append(i).append('\n');
            want.append("12 ").append(i).append('\n');
        }
        want.append(flood(5000)); // more than the 2048-byte ring: the guest waited for the host to drain it
        want.append("after flood\n");
        for (int i = 0; i < 4; i++) {
            want.append("quiet ").append(i).append('\n'); // never signalled: the host's polling took it
        }
        want.append("quiet taken\n");
        assertEquals(want.toString(), r.out());
        assertEquals("", r.err());
    }

    @Test
    void standardInputReachesTheGuestThroughTheRing() throws Exception {
        Path k = Jxen.guestFile(dir, "test-pvh-console");
        Jxen.Result r = Jxen.runWithInput("typed at the console\n".getBytes(StandardCharsets.US_ASCII), "run",
                "--cmdline", "rounds=0 echo=20", k.toString());
        assertEquals(0, r.status(), r.toString());
        assertEquals("input: typed at the console\n", r.out());
    }

    @Test
    void otherShutdownReasonsGiveTheirExitStatus() throws Exception {
        Path k = Jxen.guestFile(dir, "test-pvh-console");
        Jxen.Result crash = Jxen.run("run", "--cmdline", "rounds=1 shutdown=3", k.toString());
        assertEquals(13, crash.status(), crash.toString());
        assertEquals("jxen: the guest shut down: crash (SHUTDOWN_crash)\n", crash.err());
        Jxen.Result reboot = Jxen.run("run", "--cmdline", "rounds=0 shutdown=1", k.toString());
        assertEquals(11, reboot.status(), reboot.toString());
        assertTrue(reboot.oneErrorLine(), reboot.toString());
    }

    /** Ctrl-C on a real jxen process: SIGINT stops the VM, jxen says so, the process ends with 130. */
    @Test
    void ctrlCStopsTheVm() throws Exception {
        Path k = Jxen.guestFile(dir, "test-pvh-console");
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "run", "--cmdline", "rounds=1 hang",
                k.toString()));
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("stderr.txt").toFile()).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            StringBuilder seen = new StringBuilder();
            String line;
            while ((line = out.readLine()) != null) {
                seen.append(line).append('\n');
                if (line.equals("hanging")) {
                    break;
                }
            }
            assertTrue(seen.toString().endsWith("hanging\n"), seen + "\n" + stderr());
            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start();
            assertEquals(0, kill.waitFor());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "jxen ended after SIGINT");
            assertEquals(130, p.exitValue(), stderr());
            assertTrue(stderr().contains("jxen: interrupted: the VM was stopped\n"), stderr());
        } finally {
            p.destroyForcibly();
        }
    }

    private String stderr() throws java.io.IOException {
        return java.nio.file.Files.readString(dir.resolve("stderr.txt"));
    }
}

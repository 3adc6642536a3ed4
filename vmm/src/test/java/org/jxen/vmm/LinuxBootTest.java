package org.jxen.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A kernel not written for jxen: Debian's Linux (CONFIG_PVH=y, fetched by
 * {@code vmm/scripts/linux-pvh-kernel.sh}) boots by the Xen HVM direct-boot convention to its first
 * console output, through {@code console_io} ({@code earlyprintk=xen}) from the command line in
 * {@code hvm_start_info}; then the test stops it with Ctrl-C. The kernel is {@code $JXEN_LINUX_KERNEL}
 * or {@code vmm/target/linux/vmlinux}; without one the test is skipped, and says so.
 */
class LinuxBootTest {
    @TempDir
    Path dir;

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    static Path kernel() {
        String env = System.getenv("JXEN_LINUX_KERNEL");
        Path p = env != null ? Path.of(env) : Path.of("target", "linux", "vmlinux");
        if (!Files.isRegularFile(p)) {
            System.err.println("SKIPPED: LinuxBootTest: no Linux PVH kernel at " + p.toAbsolutePath()
                    + "; fetch one with vmm/scripts/linux-pvh-kernel.sh or set JXEN_LINUX_KERNEL");
            Assumptions.assumeTrue(false, "no Linux PVH kernel at " + p);
        }
        return p;
    }

    @Test
    void linuxBootsToItsFirstConsoleOutput() throws Exception {
        Path k = kernel();
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "run", "--memory", "256M", "--cmdline", "console=hvc0 earlyprintk=xen",
                k.toString());
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("stderr.txt").toFile()).start();
        StringBuilder seen = new StringBuilder();
        try {
            CompletableFuture<Boolean> booted = CompletableFuture.supplyAsync(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = out.readLine()) != null) {
                        synchronized (seen) {
                            seen.append(line).append('\n');
                        }
                        if (line.contains("Xen version: ")) { // printed right after "Booting kernel on Xen PVH"
                            return true;
                        }
                    }
                    return false;
                } catch (java.io.IOException e) {
                    return false;
                }
            });
            // slow on a nested host (tens of seconds to the first line here), so generous
            boolean ok = booted.get(900, TimeUnit.SECONDS);
            String out;
            synchronized (seen) {
                out = seen.toString();
            }
            assertTrue(ok, out + "\n" + Files.readString(dir.resolve("stderr.txt")));
            assertTrue(out.contains("Linux version "), out);
            assertTrue(out.contains("Command line: console=hvc0 earlyprintk=xen"), out);
            assertTrue(out.contains("Hypervisor detected: Xen HVM"), out);
            assertTrue(out.contains("Booting kernel on Xen PVH\n"), out);
            assertTrue(out.contains("Xen version: 4.17.0-jxen"), out);
            new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            assertEquals(130, p.exitValue(), Files.readString(dir.resolve("stderr.txt")));
        } finally {
            p.destroyForcibly();
        }
    }
}

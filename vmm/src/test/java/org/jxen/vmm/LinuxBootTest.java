package org.jxen.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.kvm.CpuFeature;
import org.jxen.kvm.Kvm;
import org.jxen.kvm.SupervisorInstructionProbe;
import org.jxen.kvm.UserSyscallProbe;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A kernel not written for jxen: Debian's Linux (CONFIG_PVH=y, fetched by
 * {@code vmm/scripts/linux-pvh-kernel.sh}) boots by the Xen HVM direct-boot convention with an
 * initramfs as its PVH module ({@code vmm/scripts/linux-initramfs.sh}) and runs the initramfs's
 * {@code /init} in user space. On the way the test checks the stable lines that say each part of
 * jxen's Xen platform works: the direct boot and the command line, Xen detection, the ACPI tables,
 * the Xen timer and clocksource (pvclock), the event channels, the grant table, the PV console.
 *
 * <p>{@code /init} prints on the console and powers off through the ACPI sleep registers, and
 * {@code jxen run} ends with status 0: where KVM takes a guest's user-mode {@code syscall} into its
 * kernel by itself, and on the project's hosts, where it does not (docs/kvm-backend.md) and jxen
 * completes each one ({@code SyscallIntercept}; {@link UserSyscallProbe} says which case this is, and
 * jxen's log must then count the completed system calls). Only on a host where the probe finds the
 * fault and jxen cannot complete it does the old signature remain: {@code /init}'s first system call,
 * its first console write, made with "jxenINIT" in r12, faults at the kernel's system-call entry still
 * in user mode; Linux panics ("Attempted to kill init!") with that register in the dump, and reports
 * the crash to Xen: status 13.
 *
 * <p>The kernel is {@code $JXEN_LINUX_KERNEL} or {@code vmm/target/linux/vmlinux}. Without one the
 * test is skipped, and says so; with {@code CI=true} that is a failure ({@code .ci/run} fetches it).
 * The command line adds what this host needs ({@link GuestRun#linuxAvoidance}: the features whose
 * instructions KVM cannot run in the guest kernel and does not let jxen hide) and
 * {@code cryptomgr.notests}: on a host that emulates guest kernel code the crypto self-tests take
 * minutes and time out.
 */
class LinuxBootTest {
    private static final boolean CI = "true".equals(System.getenv("CI"));
    /** Generous: on the project's hosts, where guest kernel code is emulated, the boot takes 5 to 25 minutes. */
    static final long TIMEOUT_MINUTES = 60;

    @TempDir
    Path dir;

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    static void skip(String why) {
        if (CI) {
            fail("CI=true but " + why);
        }
        System.err.println("SKIPPED: LinuxBootTest: " + why);
        Assumptions.assumeTrue(false, why);
    }

    static Path kernel() {
        String env = System.getenv("JXEN_LINUX_KERNEL");
        Path p = env != null ? Path.of(env) : Path.of("target", "linux", "vmlinux");
        if (!Files.isRegularFile(p)) {
            skip("no Linux PVH kernel at " + p.toAbsolutePath()
                    + "; fetch one with vmm/scripts/linux-pvh-kernel.sh or set JXEN_LINUX_KERNEL");
        }
        return p;
    }

    /** Builds the initramfs with vmm/scripts/linux-initramfs.sh into the test's directory. */
    Path initramfs() throws Exception {
        Path script = Path.of("scripts", "linux-initramfs.sh");
        Process p = new ProcessBuilder("bash", script.toString(), dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            skip("cannot build the initramfs (gcc with a static C library and python3 are needed): " + out.strip());
        }
        return dir.resolve("initramfs.cpio");
    }

    @Test
    void linuxBootsToItsInitWhichPowersOff() throws Exception {
        Path k = kernel();
        Path initramfs = initramfs();
        SupervisorInstructionProbe.Result probe;
        UserSyscallProbe.Result syscall;
        boolean completed = false;
        try (Kvm kvm = Kvm.open()) {
            probe = SupervisorInstructionProbe.run(kvm, List.of(CpuFeature.values()));
            syscall = UserSyscallProbe.run(kvm);
            if (syscall.outcome() == UserSyscallProbe.Outcome.FAULTS) {
                UserSyscallProbe.Completed c = UserSyscallProbe.runCompleted(kvm, false);
                completed = c.completed() == UserSyscallProbe.ROUND_TRIPS && c.vector() == 6;
            }
        }
        System.out.println("LinuxBootTest: user-mode syscall on this host: " + syscall
                + (completed ? "; jxen completes it" : ""));
        String avoid = GuestRun.linuxAvoidance(probe);
        String cmdline = "console=hvc0 earlyprintk=xen cryptomgr.notests" + (avoid == null ? "" : " " + avoid);
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "run", "--memory", "256M", "--module", initramfs.toString(), "--cmdline", cmdline,
                "--log-level", "info", k.toString());
        System.out.println("LinuxBootTest: " + String.join(" ", cmd.subList(4, cmd.size())));
        long t0 = System.nanoTime();
        Path stderr = dir.resolve("stderr.txt");
        Process p = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
        List<String> lines = new ArrayList<>();
        try {
            CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = out.readLine()) != null) {
                        synchronized (lines) {
                            lines.add(line);
                        }
                    }
                } catch (java.io.IOException e) {
                    // the process ended
                }
            });
            boolean ended = p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES);
            if (ended) {
                reader.get(30, TimeUnit.SECONDS);
            }
            String out;
            synchronized (lines) {
                out = String.join("\n", lines);
            }
            String err = Files.readString(stderr);
            String context = "--- console (last 40 lines) ---\n" + tail(out, 40) + "\n--- stderr ---\n" + tail(err, 40);
            System.out.printf("LinuxBootTest: %s after %.0f s%n", ended ? "jxen ended with status " + p.exitValue()
                    : "no end", (System.nanoTime() - t0) / 1e9);
            assertTrue(ended, "jxen still running after " + TIMEOUT_MINUTES + " minutes\n" + context);
            // the direct boot, the command line from hvm_start_info, Xen detection
            assertContains(out, "Linux version ", context);
            assertContains(out, "Command line: " + cmdline, context);
            assertContains(out, "Hypervisor detected: Xen HVM", context);
            assertContains(out, "Booting kernel on Xen PVH", context);
            assertContains(out, "Xen version: 4.17.0-jxen", context);
            // ACPI tables through rsdp_paddr: the local APIC configuration, hence a per-CPU clock event
            assertContains(out, "ACPI: RSDP 0x00000000000E0000 000024 (v02 JXEN  )", context);
            assertContains(out, "ACPI: Using ACPI for processor (LAPIC) configuration information", context);
            // events through the callback vector, the Xen timer (VIRQ_TIMER) and the pvclock clocksource
            assertContains(out, "xen:events: Xen HVM callback vector for event delivery is enabled", context);
            assertContains(out, "installing Xen timer for CPU 0", context);
            assertContains(out, "clocksource: xen: mask: 0xffffffffffffffff", context);
            // the grant table, its frames placed in a hole
            assertContains(out, "xen:grant_table: Grant tables using version 1 layout", context);
            assertTrue(!out.contains("grant table add_to_physmap failed"), context);
            // the PV console takes over from earlyprintk
            assertContains(out, "printk: legacy console [hvc0] enabled", context);
            // the initramfs (the PVH module) and user space
            assertContains(out, "Run /init as init process", context);
            if (syscall.entersKernel() || completed) {
                if (completed) {
                    assertTrue(err.contains("jxen completes each one"), err);
                    assertTrue(err.matches("(?s).*vcpu 0: completed [1-9][0-9]* user-mode syscalls.*"), err);
                }
                assertContains(out, "jxen-init: hello from user space", context);
                assertContains(out, "jxen-init: running on Linux 6.", context);
                assertContains(out, "jxen-init: powering off", context);
                // reboot(RB_POWER_OFF) through the ACPI sleep registers: SHUTDOWN_poweroff, status 0
                assertContains(out, "reboot: Power down", context);
                assertEquals(0, p.exitValue(), context);
            } else {
                // /init ran: its first system call (write, RAX 1) with its marker in r12, which faulted at
                // the kernel's system-call entry in user mode (CS 0x33), where this host leaves it
                assertTrue(out.matches("(?s).*init\\[1\\]: segfault at (ffffffff[0-9a-f]{8}) ip \\1 sp [0-9a-f]+ error 15.*"),
                        "the segfault at the system-call entry\n" + context);
                assertContains(out, "RIP: 0033:entry_SYSCALL_64+0x0/", context);
                assertContains(out, "RAX: 0000000000000001 ", context);
                assertContains(out, "R12: 54494e496e65786a", context);
                assertContains(out, "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b", context);
                assertEquals(ExitStatus.ofShutdown(3), p.exitValue(), "SHUTDOWN_crash\n" + context);
                assertTrue(err.contains("does not take a guest's user-mode syscall into the guest's kernel"), err);
            }
        } finally {
            p.destroyForcibly();
        }
    }

    private static void assertContains(String out, String what, String context) {
        assertTrue(out.contains(what), "missing \"" + what + "\"\n" + context);
    }

    private static String tail(String s, int n) {
        String[] l = s.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(l, Math.max(0, l.length - n), l.length));
    }
}

package org.jxen.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code jxen run} with no kernel boots the demo guest and shows its report; end to end under KVM. */
class RunDemoTest {

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    @Test
    void theDemoGuestReportsAndPowersOff() {
        Jxen.Result r = Jxen.run("run");
        assertEquals(0, r.status(), r.toString());
        assertEquals("", r.err(), r.toString());
        String out = r.out();
        for (String line : new String[] {
            "jxen demo guest: a Xen HVM direct-boot kernel",
            "  xen: 4.17.0-jxen (CPUID leaf 0x40000000; XENVER_version 4.17)",
            "  boot: hvm_start_info magic 0x336ec578 at ",
            "  shared_info: gfn 0x",
            "  vcpu_info: registered at gpa 0x",
            "  events: upcall vector 0xf3, VIRQ_TIMER on port ",
            "  timer: one-shot for +20 ms fired after ",
            "  ipi: sent to vCPU 0, upcall taken",
            "  runstate: state ",
            "  xenstore: ring at gfn 0xfeffc, port 2; home /local/domain/1; wrote and read back data/jxen-demo: ok",
            "  console: this report came through the PV console ring (gfn 0xfefff, port 1)",
            "demo: all checks passed"}) {
            assertTrue(out.contains(line), "missing \"" + line + "\" in\n" + out);
        }
        assertTrue(out.endsWith("demo: all checks passed\n"), out);
        assertTrue(!out.contains("FAILED"), out);
    }

    @Test
    void theGuestSeesTheXenVersionTheCommandLineAndTheMemoryItWasGiven() {
        Jxen.Result r = Jxen.run("run", "--xen-version", "4.13", "--memory", "16M", "--vcpus", "2", "--cmdline",
                "hello from the host");
        assertEquals(0, r.status(), r.toString());
        assertTrue(r.out().contains("  xen: 4.13.0-jxen (CPUID leaf 0x40000000; XENVER_version 4.13)"), r.out());
        assertTrue(r.out().contains("command line \"hello from the host\""), r.out());
        // RAM below 640 KiB, the reserved hole to 1 MiB, RAM to 16 MiB, the special pages reserved
        assertTrue(r.out().contains("4 memory map entries"), r.out());
        assertTrue(r.out().contains("demo: all checks passed"), r.out());
    }

    @Test
    void withoutAConsolePageTheDemoReportsThroughConsoleIo() throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (GuestRun run = GuestRun.create(new GuestRun.Settings(64L << 20, 1, 4, 17, ""),
                new org.jxen.hypercalls.console.ConsoleSink(out))) {
            run.domain().setHvmParam(org.jxen.abi.HvmParam.CONSOLE_PFN, 0);
            run.boot(org.jxen.kvm.boot.ElfImage.parse(org.jxen.guests.Guests.image("demo")), "", null);
            GuestRun.Outcome o = run.awaitEnd();
            String text = out.toString(java.nio.charset.StandardCharsets.UTF_8);
            assertEquals(0, o.exitStatus(), o + "\n" + text);
            assertTrue(text.contains("  console: console_io (the host offers no PV console page)\n"), text);
            assertTrue(text.endsWith("demo: all checks passed\n"), text);
            assertEquals(0, run.consoleRing().bytesOut(), "nothing came through the ring");
        }
    }

    @Test
    void withoutAXenStoreTheDemoSaysSo() {
        Jxen.Result r = Jxen.run("run", "--no-xenstore");
        assertEquals(0, r.status(), r.toString());
        assertTrue(r.out().contains("  xenstore: not available (the host offers no store page)\n"), r.out());
        assertTrue(r.out().endsWith("demo: all checks passed\n"), r.out());
    }

    @Test
    void aXenStoreSocketThatCannotBeServedIsOneLineAndStatus1(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.nio.file.Path socket = dir.resolve("no-such-dir").resolve("xs.sock");
        Jxen.Result r = Jxen.run("run", "--xenstore-socket", socket.toString());
        assertEquals(1, r.status(), r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
        assertTrue(r.err().startsWith("jxen: cannot serve the XenStore on " + socket + ": "), r.err());
    }
}

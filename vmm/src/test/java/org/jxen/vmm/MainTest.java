package org.jxen.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

/** The command line: options, and errors that are one clear line with a non-zero status. None needs KVM. */
class MainTest {
    static final String NO_KVM = "open(/dev/kvm) failed: ENOENT (errno 2): no KVM on this host";

    @TempDir
    Path dir;

    @Test
    void abiTableListsSharedInfoWithBothSizes() {
        Jxen.Result r = Jxen.run("abi");
        assertEquals(0, r.status(), r.toString());
        assertTrue(r.out().contains("Xen guest ABI 4.17"), r.out());
        assertTrue(r.out().matches("(?s).*\\nshared_info\\s+\\S+\\s+3136\\s+2344\\n.*"), r.out());
        assertTrue(r.out().matches("(?s).*\\nvcpu_runstate_info\\s+\\S+\\s+48\\s+44\\n.*"), r.out());
    }

    @Test
    void runHelpListsTheOptionsAndTheExitStatuses() {
        Jxen.Result r = Jxen.run("run", "--help");
        assertEquals(0, r.status(), r.toString());
        for (String option : new String[] {"--memory", "--vcpus", "--xen-version", "--cmdline", "--xenstore-socket",
            "--no-xenstore", "--monitor", "--log-level", "--module", "kernel.elf", "13 crash", "130  interrupted"}) {
            assertTrue(r.out().contains(option), option + " in\n" + r.out());
        }
    }

    @Test
    void unknownOptionIsOneLineAndStatus2() {
        Jxen.Result r = Jxen.run("run", "--no-such-option");
        assertEquals(2, r.status(), r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
        assertTrue(r.err().contains("Unknown option: '--no-such-option'") && r.err().contains("jxen run --help"),
                r.err());
    }

    @Test
    void unknownCommandIsOneLineAndStatus2() {
        Jxen.Result r = Jxen.run("boot");
        assertEquals(2, r.status(), r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"12X", "lots", "-5M", "0", "1M", "100", "65G", "5000"})
    void badMemorySizeIsOneLineAndStatus2(String size) {
        Jxen.Result r = Jxen.run("run", "--memory", size);
        assertEquals(2, r.status(), r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
        assertTrue(r.err().contains("--memory") && r.err().contains(size), r.err());
    }

    @ParameterizedTest
    @CsvSource({"64M, 67108864", "64m, 67108864", "64MiB, 67108864", "64MB, 67108864", "2048K, 2097152",
        "1G, 1073741824", "4194304, 4194304", "4194304B, 4194304", "64G, 68719476736"})
    void memorySizes(String text, long bytes) {
        assertEquals(bytes, MemorySize.parse(text));
    }

    @Test
    void memorySizeMessages() {
        assertTrue(assertThrows(TypeConversionException.class, () -> MemorySize.parse("1M")).getMessage()
                .contains("too small"));
        assertTrue(assertThrows(TypeConversionException.class, () -> MemorySize.parse("2049K")).getMessage()
                .contains("4 KiB pages"));
        assertTrue(assertThrows(TypeConversionException.class, () -> MemorySize.parse("x")).getMessage()
                .contains("not a memory size"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "256", "-1", "two"})
    void badVcpuCountIsOneLineAndStatus2(String n) {
        Jxen.Result r = Jxen.run("run", "--vcpus", n);
        assertEquals(2, r.status(), r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
        assertTrue(r.err().contains("--vcpus"), r.err());
    }

    @ParameterizedTest
    @ValueSource(strings = {"4", "four.seventeen", "4.17.1", "4.70000"})
    void badXenVersionIsOneLineAndStatus2(String v) {
        Jxen.Result r = Jxen.run("run", "--xen-version", v);
        assertEquals(2, r.status(), r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
        assertTrue(r.err().contains("--xen-version"), r.err());
    }

    @Test
    void xenVersionParses() {
        assertEquals(new XenVersionOption(4, 13), XenVersionOption.parse("4.13"));
        assertEquals(new XenVersionOption(4, 17), XenVersionOption.parse(" 4.17 "));
    }

    @Test
    void badLogLevelIsOneLineAndStatus2() {
        Jxen.Result r = Jxen.run("run", "--log-level", "loud");
        assertEquals(2, r.status(), r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
    }

    @Test
    void missingKernelFileIsOneLineAndStatus1() {
        Path missing = dir.resolve("no-such-kernel.elf");
        Jxen.Result r = Jxen.run("run", missing.toString());
        assertEquals(1, r.status(), r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
        assertEquals("jxen: " + missing + ": no such file\n", r.err());
    }

    @Test
    void missingModuleFileIsOneLineAndStatus1() {
        Path missing = dir.resolve("no-such-initramfs.cpio");
        Jxen.Result r = Jxen.run("run", "--module", missing.toString());
        assertEquals(1, r.status(), r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
        assertEquals("jxen: " + missing + ": no such file\n", r.err());
        Jxen.Result d = Jxen.run("run", "--module", dir.toString());
        assertEquals(1, d.status(), d.toString());
        assertTrue(d.oneErrorLine() && d.err().contains("is a directory, not a module"), d.toString());
    }

    @Test
    void theLinuxOptionNamesWhatTheHostShowsButCannotRun() {
        var outcomes = new java.util.EnumMap<org.jxen.kvm.CpuFeature, org.jxen.kvm.SupervisorInstructionProbe.Outcome>(
                org.jxen.kvm.CpuFeature.class);
        outcomes.put(org.jxen.kvm.CpuFeature.CX16, org.jxen.kvm.SupervisorInstructionProbe.Outcome.EMULATION_FAILURE);
        outcomes.put(org.jxen.kvm.CpuFeature.POPCNT, org.jxen.kvm.SupervisorInstructionProbe.Outcome.EMULATION_FAILURE);
        outcomes.put(org.jxen.kvm.CpuFeature.XSAVE, org.jxen.kvm.SupervisorInstructionProbe.Outcome.EMULATION_FAILURE);
        outcomes.put(org.jxen.kvm.CpuFeature.SMAP, org.jxen.kvm.SupervisorInstructionProbe.Outcome.RUNS);
        var p = new org.jxen.kvm.SupervisorInstructionProbe.Result(outcomes,
                java.util.EnumSet.of(org.jxen.kvm.CpuFeature.CX16));
        assertEquals("clearcpuid=popcnt,xsave", GuestRun.linuxAvoidance(p), "hidden and working features are not listed");
        assertEquals(null, GuestRun.linuxAvoidance(org.jxen.kvm.SupervisorInstructionProbe.Result.NONE));
    }

    @Test
    void aDirectoryIsNotAKernel() {
        Jxen.Result r = Jxen.run("run", dir.toString());
        assertEquals(1, r.status(), r.toString());
        assertTrue(r.oneErrorLine() && r.err().contains("is a directory"), r.toString());
    }

    @Test
    void aFileThatIsNotElfIsOneLineAndStatus1() throws Exception {
        Path junk = dir.resolve("junk.elf");
        Files.writeString(junk, "this is not an ELF kernel at all\n", StandardCharsets.US_ASCII);
        Jxen.Result r = Jxen.run("run", junk.toString());
        assertEquals(1, r.status(), r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
        assertTrue(r.err().startsWith("jxen: " + junk + " is not a bootable ELF kernel: "), r.err());
    }

    @Test
    void aTruncatedElfIsOneLineAndStatus1() throws Exception {
        Path cut = dir.resolve("cut.elf");
        byte[] demo = org.jxen.guests.Guests.image("demo");
        Files.write(cut, java.util.Arrays.copyOf(demo, 100));
        Jxen.Result r = Jxen.run("run", cut.toString());
        assertEquals(1, r.status(), r.toString());
        assertTrue(r.oneErrorLine() && r.err().contains("is not a bootable ELF kernel"), r.toString());
    }

    @Test
    void a64BitKernelWithoutAPvhEntryIsRefused() throws Exception {
        // a harness test guest: ELF64 whose entry is 64-bit code, no XEN_ELFNOTE_PHYS32_ENTRY
        Path k = Jxen.guestFile(dir, "test-cpuid");
        Jxen.Result r = Jxen.run("run", k.toString());
        assertEquals(1, r.status(), r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
        assertTrue(r.err().contains("has no XEN_ELFNOTE_PHYS32_ENTRY") && r.err().contains("CONFIG_PVH"), r.err());
    }

    @Test
    void noKvmIsOneLineAndStatus1() throws Exception {
        Jxen.Result r = Jxen.run(() -> NO_KVM, "run");
        assertEquals(1, r.status(), r.toString());
        assertEquals("jxen: KVM is not usable: " + NO_KVM + "\n", r.err());
        assertEquals("", r.out());
        r = Jxen.run(() -> NO_KVM, "run", Jxen.guestFile(dir, "pvh-hello").toString());
        assertEquals(1, r.status(), r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
    }

    @Test
    void xenstoreSocketAndNoXenstoreExcludeEachOther() {
        Jxen.Result r = Jxen.run(() -> NO_KVM, "run", "--no-xenstore", "--xenstore-socket", dir.resolve("xs").toString());
        assertEquals(2, r.status(), r.toString());
        assertTrue(r.oneErrorLine() && r.err().contains("exclude each other"), r.toString());
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"9090", "host:", ":9090", "host:port", "host:70000"})
    void aMonitorAddressThatIsNotHostColonPortIsACommandLineError(String value) {
        Jxen.Result r = Jxen.run(() -> NO_KVM, "run", "--monitor", value);
        assertEquals(2, r.status(), r.toString());
        assertTrue(r.err().contains("'--monitor'") && r.err().contains("HOST:PORT"), r.toString());
    }

    @ParameterizedTest
    @CsvSource({"0, 0", "1, 11", "2, 12", "3, 13", "4, 14", "5, 15", "6, 19", "255, 19"})
    void exitStatusFollowsTheShutdownReason(int reason, int status) {
        assertEquals(status, ExitStatus.ofShutdown(reason));
        assertEquals(status, new GuestRun.Outcome(reason, "", false).exitStatus());
    }

    @Test
    void exitStatusWithoutShutdownOrWhenInterrupted() {
        assertEquals(3, new GuestRun.Outcome(-1, "triple fault", false).exitStatus());
        assertEquals(130, new GuestRun.Outcome(-1, "interrupted", true).exitStatus());
    }

    @Test
    void shutdownReasonsHaveXensNames() {
        assertEquals("crash (SHUTDOWN_crash)", RunCommand.reasonName(3));
        assertEquals("reason 9", RunCommand.reasonName(9));
    }
}

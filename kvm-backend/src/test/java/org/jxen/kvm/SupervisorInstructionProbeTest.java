package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.jxen.kvm.HostTools.exec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SupervisorInstructionProbeTest {
    @Test
    void findsWhatThisHostCannotEmulateAndHidesOnlyThat() {
        KvmRequired.assumeKvm();
        List<CpuFeature> all = List.of(CpuFeature.values());
        SupervisorInstructionProbe.Result r;
        List<CpuidEntry> supported;
        try (Kvm kvm = Kvm.open()) {
            supported = kvm.supportedCpuid();
            long t0 = System.nanoTime();
            r = SupervisorInstructionProbe.run(kvm, all);
            System.out.printf("SupervisorInstructionProbe: %.1f ms%n", (System.nanoTime() - t0) / 1e6);
            assertEquals(r.outcomes(), SupervisorInstructionProbe.run(kvm, all).outcomes(), "repeatable");
        }
        for (CpuFeature f : all) {
            boolean present = supported.stream().anyMatch(f::in);
            System.out.printf("  %-10s %-40s %-28s %s%n", f.linuxName(), f.probeText(),
                    r.outcomes().containsKey(f) ? r.outcomes().get(f) : "not seen by the guest",
                    (present ? "in" : "not in") + " KVM's supported CPUID" + (r.hidable().contains(f) ? ", hidable" : ""));
            if (present) {
                assertTrue(r.outcomes().containsKey(f), f + ": KVM offers it, so the guest sees it and it is probed");
            }
        }
        assertTrue(r.failing().containsAll(r.hidden()));
        assertTrue(r.hidden().stream().noneMatch(r.failingButVisible()::contains));
        // a VM hides exactly the failing, hidable features from its CPUID
        try (VirtualMachine vm = VirtualMachine.builder().name("probe").memory(4 << 20).console(null).build()) {
            assertEquals(r.outcomes(), vm.instructionProbe().outcomes());
            List<CpuidEntry> table = vm.vcpu(0).kvmVcpu().cpuid();
            for (CpuFeature f : all) {
                boolean inSupported = supported.stream().anyMatch(f::in);
                boolean inGuest = table.stream().anyMatch(f::in);
                if (r.hidden().contains(f)) {
                    assertFalse(inGuest, f + " hidden");
                } else if (inSupported) {
                    assertTrue(inGuest, f + " kept");
                }
            }
        }
        try (VirtualMachine vm = VirtualMachine.builder().name("no-probe").memory(4 << 20).probeInstructions(false)
                .console(null).build()) {
            assertTrue(vm.instructionProbe().outcomes().isEmpty());
            List<CpuidEntry> table = vm.vcpu(0).kvmVcpu().cpuid();
            for (CpuFeature f : all) {
                if (supported.stream().anyMatch(f::in)) {
                    assertTrue(table.stream().anyMatch(f::in), f + " kept");
                }
            }
        }
    }

    @Test
    void resultSetsAreConsistent() {
        var outcomes = new java.util.EnumMap<CpuFeature, SupervisorInstructionProbe.Outcome>(CpuFeature.class);
        outcomes.put(CpuFeature.CX16, SupervisorInstructionProbe.Outcome.EMULATION_FAILURE);
        outcomes.put(CpuFeature.XSAVE, SupervisorInstructionProbe.Outcome.EMULATION_FAILURE);
        outcomes.put(CpuFeature.RDTSCP, SupervisorInstructionProbe.Outcome.RUNS);
        outcomes.put(CpuFeature.BMI1, SupervisorInstructionProbe.Outcome.FAULTS);
        var r = new SupervisorInstructionProbe.Result(outcomes,
                java.util.EnumSet.of(CpuFeature.CX16, CpuFeature.RDTSCP));
        assertEquals(java.util.EnumSet.of(CpuFeature.CX16, CpuFeature.XSAVE), r.failing());
        assertEquals(java.util.EnumSet.of(CpuFeature.CX16), r.hidden(), "a hidable feature that runs stays");
        assertEquals(java.util.EnumSet.of(CpuFeature.XSAVE), r.failingButVisible());
        assertTrue(SupervisorInstructionProbe.Result.NONE.hidden().isEmpty());
        assertFalse(SupervisorInstructionProbe.Result.NONE.outcomes().containsKey(CpuFeature.CX16));
    }

    /** Every probe's bytes are what GNU as makes of its text (skipped without binutils). */
    @Test
    void probeBytesMatchTheAssembler(@TempDir Path dir) throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/as")) || !Files.isExecutable(Path.of("/usr/bin/objdump"))) {
            System.err.println("SKIPPED: SupervisorInstructionProbeTest.probeBytesMatchTheAssembler: no binutils");
            Assumptions.assumeTrue(false, "no binutils");
        }
        StringBuilder src = new StringBuilder(".text\n");
        for (CpuFeature f : CpuFeature.values()) {
            String text = f.probeText().replaceAll(" \\(type 0, PCID 0\\)", "");
            if (f == CpuFeature.INVPCID) {
                text = "xor %eax,%eax; " + text;
            }
            src.append(text.replace("; ", "\n")).append("\nnop\n");
        }
        Path s = dir.resolve("probes.s");
        Path o = dir.resolve("probes.o");
        Files.writeString(s, src);
        exec(List.of("as", "-o", o.toString(), s.toString()));
        String dump = exec(List.of("objdump", "-d", "--insn-width=16", o.toString()));
        List<StringBuilder> groups = new ArrayList<>();
        groups.add(new StringBuilder());
        for (String line : dump.split("\n")) {
            String[] cols = line.split("\t");
            if (cols.length >= 3 && cols[0].trim().endsWith(":")) {
                if (cols[2].trim().equals("nop")) {
                    groups.add(new StringBuilder());
                } else {
                    groups.get(groups.size() - 1).append(cols[1].trim().replace(" ", ""));
                }
            }
        }
        for (int i = 0; i < CpuFeature.values().length; i++) {
            CpuFeature f = CpuFeature.values()[i];
            assertEquals(groups.get(i).toString(), HexFormat.of().formatHex(f.probe()), f + ": " + f.probeText());
        }
    }
}

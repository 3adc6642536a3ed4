package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.jxen.kvm.HostTools.exec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UserSyscallProbeTest {
    @Test
    void saysWhetherUserModeSyscallReachesTheKernel() {
        KvmRequired.assumeKvm();
        try (Kvm kvm = Kvm.open()) {
            long t0 = System.nanoTime();
            UserSyscallProbe.Result r = UserSyscallProbe.run(kvm);
            System.out.printf("UserSyscallProbe: %s (%.1f ms)%n", r, (System.nanoTime() - t0) / 1e6);
            assertTrue(r.outcome() != UserSyscallProbe.Outcome.UNKNOWN, "the probe itself must work: " + r);
            if (r.outcome() == UserSyscallProbe.Outcome.FAULTS) {
                // the project's hosts: the syscall stays in user mode and faults on the supervisor entry page
                assertEquals(14, r.vector(), r.toString());
            }
            assertEquals(r.outcome(), UserSyscallProbe.run(kvm).outcome(), "repeatable");
        }
    }

    /** The probe's machine code is what GNU as makes of it (skipped without binutils). */
    @Test
    void machineCodeMatchesTheAssembler(@TempDir Path dir) throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/as")) || !Files.isExecutable(Path.of("/usr/bin/objdump"))) {
            System.err.println("SKIPPED: UserSyscallProbeTest.machineCodeMatchesTheAssembler: no binutils");
            Assumptions.assumeTrue(false, "no binutils");
        }
        String kernel = String.join("\n", "mov $0xc0000081,%ecx", "xor %eax,%eax", "mov $0x00230010,%edx", "wrmsr",
                "mov $0xc0000082,%ecx", "mov $0x10100,%eax", "xor %edx,%edx", "wrmsr", "mov $0xc0000084,%ecx",
                "mov $0x47700,%eax", "xor %edx,%edx", "wrmsr", "push $0x2b", "push $0x30800", "push $0x202",
                "push $0x33", "push $0x20000", "iretq");
        assertEquals(assemble(dir, kernel), HexFormat.of().formatHex(UserSyscallProbe.KERNEL));
        assertEquals(assemble(dir, "out %al,$0x10\nhlt"), HexFormat.of().formatHex(UserSyscallProbe.ENTRY));
        assertEquals(assemble(dir, "syscall\nud2"), HexFormat.of().formatHex(UserSyscallProbe.USER));
    }

    private static String assemble(Path dir, String text) throws Exception {
        Path s = Files.createTempFile(dir, "p", ".s");
        Path o = dir.resolve(s.getFileName() + ".o");
        Files.writeString(s, ".text\n" + text + "\n");
        exec(List.of("as", "-o", o.toString(), s.toString()));
        StringBuilder hex = new StringBuilder();
        for (String line : exec(List.of("objdump", "-d", "--insn-width=16", o.toString())).split("\n")) {
            String[] cols = line.split("\t");
            if (cols.length >= 3 && cols[0].trim().endsWith(":")) {
                hex.append(cols[1].trim().replace(" ", ""));
            }
        }
        return hex.toString();
    }
}

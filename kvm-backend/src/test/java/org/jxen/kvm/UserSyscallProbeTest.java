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

    /**
     * The probe's program with {@link SyscallIntercept}: every one of its system calls enters the
     * kernel's entry at CPL 0 with the registers {@code syscall} gives, and {@code sysretq} brings it
     * back to user mode after the {@code syscall}. Where the host takes the system call itself, the
     * intercept has nothing to do; where it faults (the project's hosts), the intercept completes each.
     */
    @Test
    void withTheInterceptEverySyscallEntersTheKernelAndReturns() {
        KvmRequired.assumeKvm();
        try (Kvm kvm = Kvm.open()) {
            UserSyscallProbe.Result host = UserSyscallProbe.run(kvm);
            UserSyscallProbe.Completed c = UserSyscallProbe.runCompleted(kvm, false);
            System.out.printf("UserSyscallProbe with the intercept: %s; %d round trips in %.1f ms (%.1f us each), %d exits%n",
                    c, c.kernelEntries(), c.nanos() / 1e6, c.nanos() / 1e3 / Math.max(1, c.kernelEntries()), c.exits());
            assertEquals("", c.detail());
            int n = UserSyscallProbe.ROUND_TRIPS;
            assertEquals(host.outcome() == UserSyscallProbe.Outcome.FAULTS ? n : 0, c.completed(), c.toString());
            assertEquals(0, c.steppedOver(), "no other page fault in this program");
            assertEquals(n, c.kernelEntries(), "each syscall ran the entry once");
            UserSyscallProbe.KernelEntry e = c.entry();
            long afterSyscall = UserSyscallProbe.USER_CODE + UserSyscallProbe.USER_SYSCALL_OFFSET + 2;
            assertEquals(0, e.cpl(), "the entry runs at CPL 0");
            assertEquals(0x10, e.cs(), "CS = STAR[47:32]");
            assertEquals(0x18, e.ss(), "SS = STAR[47:32] + 8");
            assertEquals(UserSyscallProbe.SYSCALL_ENTRY + 11, e.rip(), "at the entry's out");
            assertEquals(0x30800, e.rsp(), "syscall keeps the user's RSP");
            assertEquals(0, e.rflags() & 0x47700, "RFLAGS masked with SFMASK 0x47700 (IF, TF, DF, NT, IOPL, AC off)");
            assertEquals(0x77, e.rax());
            assertEquals(afterSyscall, e.rcx(), "RCX = the RIP after the syscall");
            assertEquals(0x246, e.r11(), "R11 = the user's RFLAGS (IF on; ZF and PF from the xor)");
            // sysretq took the last one back to user mode, to the ud2 after the loop
            assertEquals(6, c.vector(), c.toString());
            assertEquals(afterSyscall + 5, c.frame().rip(), "#UD at the ud2 after the loop");
            assertEquals(0x33, c.frame().cs(), "from 64-bit user mode");
            assertEquals(0x30800, c.frame().rsp());
            assertEquals(0x2b, c.frame().ss());
            assertEquals(0x200, c.frame().rflags() & 0x3300, "sysretq restored RFLAGS from R11: IF on, IOPL 0, TF off");
        }
    }

    /** A page fault that is not a half syscall reaches the guest's handler as it is: stepped over, not completed. */
    @Test
    void otherPageFaultsReachTheGuestUntouched() {
        KvmRequired.assumeKvm();
        try (Kvm kvm = Kvm.open()) {
            UserSyscallProbe.Result host = UserSyscallProbe.run(kvm);
            UserSyscallProbe.Completed c = UserSyscallProbe.runCompleted(kvm, true);
            System.out.println("UserSyscallProbe, user page fault with the intercept: " + c);
            assertEquals("", c.detail());
            assertEquals(14, c.vector(), c.toString());
            assertEquals(0, c.completed());
            assertEquals(host.outcome() == UserSyscallProbe.Outcome.FAULTS ? 1 : 0, c.steppedOver(), c.toString());
            assertEquals(0x5, c.frame().errorCode(), "user-mode read of a present supervisor page");
            assertEquals(UserSyscallProbe.USER_FAULT_CODE, c.frame().rip());
            assertEquals(0x33, c.frame().cs());
            assertEquals(0x30800, c.frame().rsp());
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
                "push $0x33", "push %rdi", "iretq");
        assertEquals(assemble(dir, kernel), HexFormat.of().formatHex(UserSyscallProbe.KERNEL));
        assertEquals(assemble(dir, "inc %rbx\ncmp $1,%rbx\njne 1f\nout %al,$0x10\n1: sysretq"),
                HexFormat.of().formatHex(UserSyscallProbe.ENTRY));
        assertEquals(assemble(dir, "xor %ebx,%ebx\nmov $" + UserSyscallProbe.ROUND_TRIPS + ",%r12d\nmov $0x77,%eax\n"
                + "1: syscall\ndec %r12\njnz 1b\nud2"), HexFormat.of().formatHex(UserSyscallProbe.USER));
        assertEquals(assemble(dir, "mov 0x10000,%rax\nud2"), HexFormat.of().formatHex(UserSyscallProbe.USER_FAULT));
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

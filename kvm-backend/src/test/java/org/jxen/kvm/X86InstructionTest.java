package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
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

class X86InstructionTest {
    private static X86Instruction decode(String hex, boolean longMode) {
        byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
        return X86Instruction.decode(b, b.length, longMode).orElseThrow(() -> new AssertionError("no decode: " + hex));
    }

    @Test
    void theCmpxchg16bLinuxStoppedAt() {
        // from the real failure: lock cmpxchg16b 0x20(%rsi), then sete %dil ...
        X86Instruction x = decode("f0 48 0f c7 4e 20 40 0f 94 c7 40 84 ff 74 53", true);
        assertEquals(6, x.length());
        assertTrue(x.lock());
        assertEquals(0x48, x.rex());
        assertEquals(2, x.map());
        assertEquals(0xc7, x.opcode());
        assertEquals(1, x.modrmReg());
        assertEquals("[rsi + 0x20]", x.memory().toString());
        long[] regs = new long[16];
        regs[6] = 0xffffea0000101000L;
        assertEquals(0xffffea0000101020L, x.memory().address(r -> regs[r], 0, s -> 0));
    }

    @Test
    void memoryOperands() {
        assertEquals("[rip + 0x100]", decode("48 8b 05 00 01 00 00", true).memory().toString());
        X86Instruction rip = decode("48 8b 05 00 01 00 00", true);
        assertEquals(0x1107, rip.memory().address(r -> 0, 0x1007, s -> 0), "rip-relative from the next instruction");
        assertEquals("gs:[rip + 0x7efce44c]", decode("65 48 c7 05 4c e4 fc 7e 00 00 00 00", true).memory().toString());
        assertEquals(12, decode("65 48 c7 05 4c e4 fc 7e 00 00 00 00", true).length(), "disp32 and imm32");
        assertEquals("[rbx + r12*8 - 0x8]", decode("4a 8b 44 e3 f8", true).memory().toString());
        assertEquals("[0x1000]", decode("8b 04 25 00 10 00 00", true).memory().toString(), "SIB without base");
        assertEquals("[r13]", decode("41 8b 45 00", true).memory().toString());
        assertNull(decode("48 89 c8", true).memory(), "register operands");
        assertEquals("[rdi]", decode("0f ae 27", true).memory().toString(), "xsave (%rdi)");
        assertEquals("[rax]", decode("c5 f9 6f 00", true).memory().toString(), "VEX vmovdqa (%rax)");
        X86Instruction moffs = decode("48 a1 88 77 66 55 44 33 22 11", true);
        assertEquals(10, moffs.length());
        assertEquals(0x1122334455667788L, moffs.memory().displacement());
        assertEquals("[esi + 0x10]".replace("esi", "rsi"), decode("8b 46 10", false).memory().toString());
        X86Instruction a32 = decode("67 8b 00", true);
        assertTrue(a32.addressSize32());
        assertEquals(0x10L, a32.memory().address(r -> 0x1_0000_0010L, 0, s -> 0), "67: 32-bit address");
    }

    @Test
    void oneByteInstructions() {
        X86Instruction int3 = decode("cc 90 90 90 90", true);
        assertEquals(1, int3.length());
        assertEquals(0xcc, int3.opcode());
        assertEquals(1, decode("9b 65 48 c7 05", true).length(), "fwait");
        assertEquals(2, decode("cd 80", true).length());
        assertEquals(5, decode("e8 00 00 00 00", true).length());
        assertEquals(10, decode("48 b8 01 02 03 04 05 06 07 08", true).length(), "movabs");
        assertEquals(4, decode("66 05 34 12", true).length(), "66: imm16");
    }

    @Test
    void refusesWhatItDoesNotKnowOrWhatIsCutShort() {
        assertFalse(X86Instruction.decode(HexFormat.of().parseHex("f0480fc7"), 4, true).isPresent(), "cut short");
        assertFalse(X86Instruction.decode(HexFormat.of().parseHex("62f1fd48"), 4, true).isPresent(), "EVEX");
        assertFalse(X86Instruction.decode(new byte[0], 0, true).isPresent());
        byte[] prefixes = new byte[16];
        java.util.Arrays.fill(prefixes, (byte) 0x66);
        assertFalse(X86Instruction.decode(prefixes, 16, true).isPresent(), "longer than 15 bytes");
    }

    /** Lengths agree with GNU objdump on a mix of instructions a kernel uses (skipped without binutils). */
    @Test
    void lengthsAgreeWithObjdump(@TempDir Path dir) throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/as")) || !Files.isExecutable(Path.of("/usr/bin/objdump"))) {
            System.err.println("SKIPPED: X86InstructionTest.lengthsAgreeWithObjdump: no binutils");
            Assumptions.assumeTrue(false, "no binutils");
        }
        String[] insns = {"lock cmpxchg16b 0x20(%rsi)", "cmpxchg8b (%rdi)", "int3", "fwait", "mov 0x10(%rax,%rbx,4),%ecx",
            "movq $0x0,%gs:0x7efce44c(%rip)", "addl $0x12345678,0x8(%rbp)", "addb $1,(%rax)", "testb $1,0x10(%rdi)",
            "testl $0x100,0x10(%rdi)", "xsave (%rdi)", "xrstor64 (%rdi)", "xgetbv", "popcnt %rax,%rbx", "rdtscp",
            "clac", "stac", "invpcid (%rax),%rcx", "crc32b %al,%ecx", "pxor %xmm1,%xmm0", "aesenc %xmm1,%xmm0",
            "pclmulqdq $0x10,%xmm1,%xmm0", "vpxor %ymm1,%ymm2,%ymm3", "andn %rax,%rbx,%rcx", "shlx %rax,%rbx,%rcx",
            "clwb (%rdi)", "sha1rnds4 $1,%xmm1,%xmm0", "ldmxcsr (%rsp)", "movq %rax,%xmm0", "vzeroupper",
            "rep movsb", "rep stosq", "jmp *0x10(%rip)", "call *%rax", "lea -0x8(%rsp,%r15,2),%r14",
            "imul $0x7f,%eax,%edx", "imul $0x12345,%eax,%edx", "shrd $3,%rax,%rbx", "bt $5,%eax", "pshufd $0x1b,%xmm0,%xmm1",
            "enter $0x10,$0", "ret $8", "mov %cr4,%rax", "wrmsr", "cpuid", "movabs 0x1122334455667788,%al",
            "xchg %ax,%ax", "nopw 0x0(%rax,%rax,1)", "iretq", "swapgs", "sysretq", "movbe (%rdi),%eax",
            "cmpxchg %rcx,(%rdx)", "lock xadd %eax,(%rdi)", "jne .+0x100", "jne .+2", "push $0x12345", "push $1"};
        StringBuilder src = new StringBuilder(".text\n");
        for (String i : insns) {
            src.append(i).append('\n');
        }
        Path s = dir.resolve("insns.s");
        Path o = dir.resolve("insns.o");
        Files.writeString(s, src);
        exec(List.of("as", "-o", o.toString(), s.toString()));
        String dump = exec(List.of("objdump", "-d", "--insn-width=16", o.toString()));
        List<byte[]> expected = new ArrayList<>();
        for (String line : dump.split("\n")) {
            // "   0:	f0 48 0f c7 4e 20    	lock cmpxchg16b 0x20(%rsi)"
            String[] cols = line.split("\t");
            if (cols.length >= 3 && cols[0].trim().endsWith(":")) {
                expected.add(HexFormat.of().parseHex(cols[1].trim().replace(" ", "")));
            }
        }
        assertEquals(insns.length, expected.size(), dump);
        for (int i = 0; i < insns.length; i++) {
            byte[] b = expected.get(i);
            byte[] padded = java.util.Arrays.copyOf(b, 15);
            X86Instruction x = X86Instruction.decode(padded, 15, true).orElse(null);
            assertTrue(x != null, "no decode: " + insns[i] + " " + X86Instruction.hex(b, b.length));
            assertEquals(b.length, x.length(), insns[i] + " " + X86Instruction.hex(b, b.length));
        }
    }
}

package org.jxen.kvm;

import java.util.HexFormat;

/**
 * CPU features whose instructions a guest kernel may execute and that a host's KVM may be unable to
 * emulate, each with its CPUID bit, the name Linux gives it ({@code /proc/cpuinfo}, {@code clearcpuid=})
 * and one instruction that uses it, as {@link SupervisorInstructionProbe} executes it in 64-bit mode
 * at CPL 0 (with {@code rdi} pointing at 64 zeroed, 64-byte aligned bytes of RAM). Immutable.
 */
public enum CpuFeature {
    CX16(1, Reg.ECX, 13, "cx16", "lock cmpxchg16b (%rdi)", "f0 48 0f c7 0f"),
    POPCNT(1, Reg.ECX, 23, "popcnt", "popcnt %rax,%rax", "f3 48 0f b8 c0"),
    XSAVE(1, Reg.ECX, 26, "xsave", "xor %ecx,%ecx; xgetbv", "31 c9 0f 01 d0"),
    SSE4_2(1, Reg.ECX, 20, "sse4_2", "crc32l %eax,%eax", "f2 0f 38 f1 c0"),
    SSE4_1(1, Reg.ECX, 19, "sse4_1", "pblendw $0,%xmm0,%xmm0", "66 0f 3a 0e c0 00"),
    SSSE3(1, Reg.ECX, 9, "ssse3", "pshufb %xmm0,%xmm0", "66 0f 38 00 c0"),
    AES(1, Reg.ECX, 25, "aes", "aesenc %xmm0,%xmm0", "66 0f 38 dc c0"),
    PCLMULQDQ(1, Reg.ECX, 1, "pclmulqdq", "pclmulqdq $0,%xmm0,%xmm0", "66 0f 3a 44 c0 00"),
    BMI1(7, Reg.EBX, 3, "bmi1", "andn %rax,%rax,%rax", "c4 e2 f8 f2 c0"),
    BMI2(7, Reg.EBX, 8, "bmi2", "shlx %rax,%rax,%rax", "c4 e2 f9 f7 c0"),
    INVPCID(7, Reg.EBX, 10, "invpcid", "invpcid (%rdi),%rax (type 0, PCID 0)", "31 c0 66 0f 38 82 07"),
    SMAP(7, Reg.EBX, 20, "smap", "clac", "0f 01 ca"),
    CLWB(7, Reg.EBX, 24, "clwb", "clwb (%rdi)", "66 0f ae 37"),
    SHA_NI(7, Reg.EBX, 29, "sha_ni", "sha1rnds4 $0,%xmm0,%xmm0", "0f 3a cc c0 00"),
    RDTSCP(0x80000001, Reg.EDX, 27, "rdtscp", "rdtscp", "0f 01 f9");

    /** A CPUID output register. */
    public enum Reg { EAX, EBX, ECX, EDX }

    private final int leaf;
    private final Reg register;
    private final int bit;
    private final String linuxName;
    private final String probeText;
    private final byte[] probe;

    CpuFeature(int leaf, Reg register, int bit, String linuxName, String probeText, String probeHex) {
        this.leaf = leaf;
        this.register = register;
        this.bit = bit;
        this.linuxName = linuxName;
        this.probeText = probeText;
        this.probe = HexFormat.of().parseHex(probeHex.replace(" ", ""));
    }

    /** The CPUID leaf (sub-leaf 0). */
    public int leaf() {
        return leaf;
    }

    public Reg register() {
        return register;
    }

    public int bit() {
        return bit;
    }

    /** The name in Linux's {@code /proc/cpuinfo} and {@code clearcpuid=}. */
    public String linuxName() {
        return linuxName;
    }

    /** The probe instruction in AT&T syntax. */
    public String probeText() {
        return probeText;
    }

    /** The probe's bytes. */
    public byte[] probe() {
        return probe.clone();
    }

    /** True when {@code e} (leaf {@link #leaf()}, sub-leaf 0) has this feature's bit. */
    public boolean in(CpuidEntry e) {
        return e.function() == leaf && e.index() == 0 && (value(e) & (1 << bit)) != 0;
    }

    /** {@code e} without this feature's bit (unchanged for another leaf). */
    public CpuidEntry clearIn(CpuidEntry e) {
        if (e.function() != leaf || e.index() != 0) {
            return e;
        }
        int m = ~(1 << bit);
        return switch (register) {
            case EAX -> e.withRegisters(e.eax() & m, e.ebx(), e.ecx(), e.edx());
            case EBX -> e.withRegisters(e.eax(), e.ebx() & m, e.ecx(), e.edx());
            case ECX -> e.withRegisters(e.eax(), e.ebx(), e.ecx() & m, e.edx());
            case EDX -> e.withRegisters(e.eax(), e.ebx(), e.ecx(), e.edx() & m);
        };
    }

    /** This feature's register of a CPUID result (EAX, EBX, ECX, EDX). */
    public int value(int eax, int ebx, int ecx, int edx) {
        return switch (register) {
            case EAX -> eax;
            case EBX -> ebx;
            case ECX -> ecx;
            case EDX -> edx;
        };
    }

    private int value(CpuidEntry e) {
        return value(e.eax(), e.ebx(), e.ecx(), e.edx());
    }
}

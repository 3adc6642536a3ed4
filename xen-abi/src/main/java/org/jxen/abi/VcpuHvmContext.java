package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct vcpu_hvm_context} ({@code xen/hvm/hvm_vcpu.h}): the argument of
 * {@link VcpuOp#INITIALISE} for an HVM or PVH guest, the register state a secondary vCPU starts
 * from. {@code mode} says which half of the union holds it: {@link #MODE_32B} (32-bit registers,
 * control registers and the hidden parts of CS, DS, SS, ES and TR) or {@link #MODE_64B} (64-bit
 * registers and control registers; the host makes the segments flat 64-bit ones itself).
 *
 * <pre>
 * 128 bytes in both guest forms (aligned to 8 for a 64-bit guest, to 4 for a 32-bit one)
 *   0 mode u32            4 pad u32
 *   8 cpu_regs union {
 *       x86_32 (120 bytes):                      x86_64 (112 bytes):
 *         +0 eax ecx edx ebx esp ebp esi edi       +0 rax rcx rdx rbx rsp rbp rsi rdi
 *            eip eflags (u32 each, to +40)            rip rflags (u64 each, to +80)
 *        +40 cr0 +44 cr3 +48 cr4 +52 pad1         +80 cr0 +88 cr3 +96 cr4 +104 efer
 *        +56 efer u64
 *        +64 cs ds ss es tr _base  (u32 each)
 *        +84 cs ds ss es tr _limit (u32 each)
 *       +104 cs ds ss es tr _ar    (u16 each)
 *       +114 pad2 u16[3] }
 * </pre>
 *
 * <p>The {@code _ar} attribute word: type bits 0-3, s 4, dpl 5-6, p 7, avl 8, l 9, db 10, g 11;
 * bits 12-15 must be zero. Stateless, safe from any thread.
 */
public final class VcpuHvmContext {
    private VcpuHvmContext() {
    }

    /** {@code VCPU_HVM_MODE_32B}: the {@code x86_32} registers are used. */
    public static final int MODE_32B = 0;
    /** {@code VCPU_HVM_MODE_64B}: the {@code x86_64} registers are used; the vCPU starts in long mode. */
    public static final int MODE_64B = 1;

    /** The 64-bit registers of {@code x86_64}, in structure order. */
    public enum Reg64 {
        RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, RIP, RFLAGS, CR0, CR3, CR4, EFER
    }

    /** The 32-bit registers of {@code x86_32}, in structure order ({@code efer} is 64-bit: {@link #efer32}). */
    public enum Reg32 {
        EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI, EIP, EFLAGS, CR0, CR3, CR4, PAD1
    }

    /** The segments whose hidden parts {@code x86_32} carries, in structure order. */
    public enum Segment {
        CS, DS, SS, ES, TR
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        MemoryLayout[] r32 = new MemoryLayout[Reg32.values().length + 1 + 3 * Segment.values().length + 1];
        int i = 0;
        for (Reg32 r : Reg32.values()) {
            r32[i++] = U32.withName(lower(r));
        }
        r32[i++] = u64(w).withName("efer");
        for (Segment s : Segment.values()) {
            r32[i++] = U32.withName(lower(s) + "_base");
        }
        for (Segment s : Segment.values()) {
            r32[i++] = U32.withName(lower(s) + "_limit");
        }
        for (Segment s : Segment.values()) {
            r32[i++] = U16.withName(lower(s) + "_ar");
        }
        r32[i] = MemoryLayout.sequenceLayout(3, U16).withName("pad2");
        MemoryLayout[] r64 = new MemoryLayout[Reg64.values().length];
        for (Reg64 r : Reg64.values()) {
            r64[r.ordinal()] = u64(w).withName(lower(r));
        }
        return MemoryLayout.structLayout(
                U32.withName("mode"),
                U32.withName("pad"),
                MemoryLayout.unionLayout(
                        MemoryLayout.structLayout(r32).withName("x86_32"),
                        MemoryLayout.structLayout(r64).withName("x86_64")).withName("cpu_regs"))
                .withName("vcpu_hvm_context");
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(java.util.Locale.ROOT);
    }

    private static final long MODE = CTypes.offset(L64, "mode");
    private static final long PAD = CTypes.offset(L64, "pad");
    private static final long EFER_32 = CTypes.offset(L64, "cpu_regs", "x86_32", "efer");
    private static final long PAD2 = CTypes.offset(L64, "cpu_regs", "x86_32", "pad2");
    private static final long[] REG64 = new long[Reg64.values().length];
    private static final long[] REG32 = new long[Reg32.values().length];
    private static final long[] BASE = new long[Segment.values().length];
    private static final long[] LIMIT = new long[Segment.values().length];
    private static final long[] AR = new long[Segment.values().length];

    static {
        for (Reg64 r : Reg64.values()) {
            REG64[r.ordinal()] = CTypes.offset(L64, "cpu_regs", "x86_64", lower(r));
        }
        for (Reg32 r : Reg32.values()) {
            REG32[r.ordinal()] = CTypes.offset(L64, "cpu_regs", "x86_32", lower(r));
        }
        for (Segment s : Segment.values()) {
            BASE[s.ordinal()] = CTypes.offset(L64, "cpu_regs", "x86_32", lower(s) + "_base");
            LIMIT[s.ordinal()] = CTypes.offset(L64, "cpu_regs", "x86_32", lower(s) + "_limit");
            AR[s.ordinal()] = CTypes.offset(L64, "cpu_regs", "x86_32", lower(s) + "_ar");
        }
    }

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 128 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfMode() { return MODE; }
    public static long offsetOfPad() { return PAD; }
    public static long offsetOf(Reg64 r) { return REG64[r.ordinal()]; }
    public static long offsetOf(Reg32 r) { return REG32[r.ordinal()]; }
    public static long offsetOfEfer32() { return EFER_32; }
    public static long offsetOfBase(Segment s) { return BASE[s.ordinal()]; }
    public static long offsetOfLimit(Segment s) { return LIMIT[s.ordinal()]; }
    public static long offsetOfAr(Segment s) { return AR[s.ordinal()]; }
    /** Offset of {@code pad2[i]}, i in 0..2. */
    public static long offsetOfPad2(int i) { return PAD2 + 2L * java.util.Objects.checkIndex(i, 3); }

    public static int mode(MemorySegment seg) { return getU32(seg, MODE); }
    public static void setMode(MemorySegment seg, int value) { setU32(seg, MODE, value); }
    public static int pad(MemorySegment seg) { return getU32(seg, PAD); }
    public static void setPad(MemorySegment seg, int value) { setU32(seg, PAD, value); }

    public static long get(MemorySegment seg, Reg64 r) { return getU64(seg, offsetOf(r)); }
    public static void set(MemorySegment seg, Reg64 r, long value) { setU64(seg, offsetOf(r), value); }

    /** A 32-bit register, zero-extended. */
    public static long get(MemorySegment seg, Reg32 r) { return Integer.toUnsignedLong(getU32(seg, offsetOf(r))); }
    public static void set(MemorySegment seg, Reg32 r, long value) { setU32(seg, offsetOf(r), (int) value); }

    public static long efer32(MemorySegment seg) { return getU64(seg, EFER_32); }
    public static void setEfer32(MemorySegment seg, long value) { setU64(seg, EFER_32, value); }

    /** {@code <s>_base}, zero-extended. */
    public static long base(MemorySegment seg, Segment s) { return Integer.toUnsignedLong(getU32(seg, offsetOfBase(s))); }
    public static void setBase(MemorySegment seg, Segment s, long value) { setU32(seg, offsetOfBase(s), (int) value); }
    /** {@code <s>_limit}, zero-extended. */
    public static long limit(MemorySegment seg, Segment s) { return Integer.toUnsignedLong(getU32(seg, offsetOfLimit(s))); }
    public static void setLimit(MemorySegment seg, Segment s, long value) { setU32(seg, offsetOfLimit(s), (int) value); }
    /** {@code <s>_ar}, the attribute word (zero-extended). */
    public static int ar(MemorySegment seg, Segment s) { return getU16(seg, offsetOfAr(s)); }
    public static void setAr(MemorySegment seg, Segment s, int value) { setU16(seg, offsetOfAr(s), value); }
    public static int pad2(MemorySegment seg, int i) { return getU16(seg, offsetOfPad2(i)); }
    public static void setPad2(MemorySegment seg, int i, int value) { setU16(seg, offsetOfPad2(i), value); }
}

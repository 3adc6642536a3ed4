package org.jxen.abi;

/**
 * The hypercall page: the guest writes {@code page_gpa | page_index} to the MSR named by CPUID
 * base+2 EBX, and then calls {@code page + nr * ENTRY_SIZE} to make hypercall {@code nr}. Each
 * entry in Xen and KVM is {@code mov eax, imm32 (b8 nr)}, {@code vmcall (0f 01 c1)} or
 * {@code vmmcall (0f 01 d9)}, {@code ret (c3)}, padded with {@code int3 (cc)}; the
 * {@link Hypercall#IRET} slot holds {@code ud2 (0f 0b)} instead. Only the entry addresses are the
 * guest's contract; the bytes between are the hypervisor's choice.
 *
 * <p>Constants and pure functions only; immutable and safe from any thread.
 */
public final class HypercallPage {
    private HypercallPage() {
    }

    /** Entries in the page. */
    public static final int ENTRIES = 128;
    /** Bytes per entry. */
    public static final int ENTRY_SIZE = 32;
    /** Bytes in the page ({@code ENTRIES * ENTRY_SIZE}). */
    public static final int PAGE_SIZE = 4096;
    /** The slot that must not be called as an ordinary hypercall ({@link Hypercall#IRET}). */
    public static final int IRET_SLOT = 23;
    /** The MSR jxen names in CPUID base+2 EBX by default. */
    public static final int DEFAULT_MSR = 0x40000000;

    /** {@code mov eax, imm32} opcode; the number follows as 4 little-endian bytes. */
    public static final int OP_MOV_EAX_IMM32 = 0xB8;
    /** First byte of {@code vmcall}, {@code vmmcall} and {@code ud2}. */
    public static final int OP_0F = 0x0F;
    /** Second byte of {@code vmcall} and {@code vmmcall}. */
    public static final int OP_01 = 0x01;
    /** Third byte of {@code vmcall} (Intel). */
    public static final int OP_VMCALL_MODRM = 0xC1;
    /** Third byte of {@code vmmcall} (AMD). */
    public static final int OP_VMMCALL_MODRM = 0xD9;
    /** Second byte of {@code ud2}. */
    public static final int OP_UD2_2 = 0x0B;
    /** {@code ret}. */
    public static final int OP_RET = 0xC3;
    /** {@code int3}, the padding byte. */
    public static final int OP_INT3 = 0xCC;

    /** The byte offset of hypercall {@code nr}'s entry in the page. */
    public static int entryOffset(int nr) {
        return java.util.Objects.checkIndex(nr, ENTRIES) * ENTRY_SIZE;
    }
}

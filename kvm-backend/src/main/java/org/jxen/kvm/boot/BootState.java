package org.jxen.kvm.boot;

/**
 * The boot vCPU's register state at a direct-boot (Xen HVM / PVH) entry: 32-bit flat protected
 * mode, paging off. A value the vCPU code copies into {@code struct kvm_regs} and
 * {@code struct kvm_sregs}; fields not named here (other general registers, CR2, CR3, CR8, GDTR,
 * IDTR, APIC base) are left as KVM has them after vCPU creation (zero, and the reset GDTR/IDTR).
 *
 * <p>Selectors, as Linux's boot GDT ({@code __BOOT_CS}, {@code __BOOT_DS}): CS = 0x10,
 * DS/ES/FS/GS/SS = 0x18, TR = 0x20. The PVH ABI leaves selector values unspecified; the guest
 * loads its own GDT before reloading a segment register. TR is a busy 32-bit TSS (type 0xb,
 * base 0, limit 0x67) because VMX entry requires a usable TR of that type; the LDT is
 * unusable ({@code present} false: the copier sets {@code kvm_segment.unusable = !present}).
 *
 * @param rip    the boot entry (below 4 GiB)
 * @param rbx    the guest-physical address of {@code hvm_start_info} (PVH), below 4 GiB
 * @param rflags 0x2 (the reserved bit 1 only; interrupts off)
 * @param cr0    {@link #CR0_PE} | {@link #CR0_ET}: protected mode, paging off
 * @param cr4    0
 * @param efer   0 (no long mode)
 */
public record BootState(long rip, long rbx, long rflags, long cr0, long cr4, long efer,
                        Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss,
                        Segment tr, Segment ldt) {

    public static final long CR0_PE = 1L;
    public static final long CR0_ET = 1L << 4;
    public static final long RFLAGS_RESERVED_1 = 1L << 1;

    public static final int SELECTOR_CODE = 0x10;
    public static final int SELECTOR_DATA = 0x18;
    public static final int SELECTOR_TSS = 0x20;

    /** Code segment type: execute/read, accessed. */
    public static final int TYPE_CODE_EXEC_READ_ACCESSED = 0xb;
    /** Data segment type: read/write, accessed. */
    public static final int TYPE_DATA_READ_WRITE_ACCESSED = 0x3;
    /** System segment type: 32-bit TSS, busy. */
    public static final int TYPE_TSS32_BUSY = 0xb;
    /** System segment type: LDT. */
    public static final int TYPE_LDT = 0x2;

    /**
     * One segment register as {@code struct kvm_segment} holds it: {@code limit} is the byte
     * limit after granularity scaling (0xffffffff for a flat 4 GiB segment with {@code g}).
     */
    public record Segment(long base, int limit, int selector, int type, boolean present, int dpl, boolean db,
                          boolean s, boolean l, boolean g) {
    }

    /** The flat 4 GiB ring-0 code segment. */
    public static final Segment FLAT_CODE32 =
            new Segment(0, 0xffff_ffff, SELECTOR_CODE, TYPE_CODE_EXEC_READ_ACCESSED, true, 0, true, true, false, true);
    /** The flat 4 GiB ring-0 data segment. */
    public static final Segment FLAT_DATA32 =
            new Segment(0, 0xffff_ffff, SELECTOR_DATA, TYPE_DATA_READ_WRITE_ACCESSED, true, 0, true, true, false, true);
    /** A busy 32-bit TSS at 0 (VMX needs a usable TR; the guest loads its own before it needs one). */
    public static final Segment TSS32 =
            new Segment(0, 0x67, SELECTOR_TSS, TYPE_TSS32_BUSY, true, 0, false, false, false, false);
    /** An unusable LDT. */
    public static final Segment NO_LDT = new Segment(0, 0, 0, TYPE_LDT, false, 0, false, false, false, false);

    /**
     * The PVH / HVM direct-boot state: RIP = {@code entry}, EBX = {@code startInfoGpa} (0 for a
     * plain HVM direct boot without a start info).
     *
     * @throws IllegalArgumentException when either address is not below 4 GiB
     */
    public static BootState pvh32(long entry, long startInfoGpa) {
        if (entry < 0 || entry >= 1L << 32) {
            throw new IllegalArgumentException(String.format("boot entry 0x%x is not below 4 GiB", entry));
        }
        if (startInfoGpa < 0 || startInfoGpa >= 1L << 32) {
            throw new IllegalArgumentException(String.format("hvm_start_info address 0x%x is not below 4 GiB",
                    startInfoGpa));
        }
        return new BootState(entry, startInfoGpa, RFLAGS_RESERVED_1, CR0_PE | CR0_ET, 0, 0,
                FLAT_CODE32, FLAT_DATA32, FLAT_DATA32, FLAT_DATA32, FLAT_DATA32, FLAT_DATA32, TSS32, NO_LDT);
    }
}

package org.jxen.abi;

/**
 * Direct-boot facts of the Xen HVM/PVH convention: the ELF note carrying the 32-bit physical entry
 * point ({@code xen/elfnote.h}) and the magic of {@code struct hvm_start_info}
 * ({@code xen/arch-x86/hvm/start_info.h}) whose address is in EBX at that entry.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class XenElfNote {
    private XenElfNote() {
    }

    /** The ELF note owner name of Xen notes. */
    public static final String NOTE_NAME = "Xen";
    /** {@code XEN_ELFNOTE_PHYS32_ENTRY}: a note whose value is the PVH 32-bit entry address. */
    public static final int PHYS32_ENTRY = 18;
    /** {@code XEN_HVM_START_MAGIC_VALUE}: the first field of {@code hvm_start_info}. */
    public static final int HVM_START_MAGIC_VALUE = 0x336ec578;
}

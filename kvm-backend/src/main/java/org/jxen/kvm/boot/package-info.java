/**
 * Direct boot of an ELF kernel the way Xen boots an HVM direct-boot or PVH kernel.
 *
 * <p>This package owns:
 * <ul>
 *   <li>{@link org.jxen.kvm.boot.ElfImage}: parsing and validating an untrusted ELF32/ELF64 x86
 *       image (header, {@code PT_LOAD} segments, {@code "Xen"} ELF notes such as
 *       {@code XEN_ELFNOTE_PHYS32_ENTRY}); every malformed file is an
 *       {@link org.jxen.kvm.boot.ElfFormatException} naming the problem and its offset.</li>
 *   <li>{@link org.jxen.kvm.boot.ElfLoader}: placing the segments at their physical addresses in
 *       guest RAM (with the BSS zeroed), all or nothing, and reporting the occupied range as a
 *       {@link org.jxen.kvm.boot.LoadedKernel}; an image that does not fit the guest is an
 *       {@link org.jxen.kvm.boot.ElfLoadException} naming the segment and address.</li>
 *   <li>{@link org.jxen.kvm.boot.HvmStartInfo}: the PVH {@code struct hvm_start_info}, its memory
 *       map and command line, written into guest memory.</li>
 *   <li>{@link org.jxen.kvm.boot.BootState}: the boot vCPU's register state for the convention
 *       (32-bit flat protected mode, paging off, {@code EBX} = {@code hvm_start_info}); a value the
 *       vCPU code copies into {@code kvm_regs}/{@code kvm_sregs}.</li>
 * </ul>
 *
 * <p>A guest image is untrusted input: nothing in it may crash the VMM, make it allocate unbounded
 * memory, loop without bound or write outside guest RAM. All sizes and offsets from the file are
 * checked with overflow-safe arithmetic against explicit limits before they are used.
 */
package org.jxen.kvm.boot;

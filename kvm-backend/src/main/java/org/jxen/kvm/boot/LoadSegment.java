package org.jxen.kvm.boot;

/**
 * One {@code PT_LOAD} program header of an {@link ElfImage}, validated: the file bytes
 * {@code [fileOffset, fileOffset + fileSize)} lie inside the file, {@code fileSize <= memorySize},
 * and neither {@code [physicalAddress, physicalAddress + memorySize)} nor the virtual range wraps
 * past 2^64 (addresses are unsigned 64-bit values held in a {@code long}).
 *
 * @param fileOffset      {@code p_offset}
 * @param fileSize        {@code p_filesz}
 * @param physicalAddress {@code p_paddr}: where the direct-boot convention places the segment
 * @param virtualAddress  {@code p_vaddr}
 * @param memorySize      {@code p_memsz}; bytes past {@code fileSize} are zero (the BSS)
 * @param flags           {@code p_flags} ({@link #PF_X}, {@link #PF_W}, {@link #PF_R})
 */
public record LoadSegment(long fileOffset, long fileSize, long physicalAddress, long virtualAddress,
                          long memorySize, int flags) {
    public static final int PF_X = 1;
    public static final int PF_W = 2;
    public static final int PF_R = 4;

    /** The first guest-physical address past the segment (unsigned; never wraps for a parsed segment). */
    public long physicalEnd() {
        return physicalAddress + memorySize;
    }

    /** True when {@code gpa} lies in {@code [physicalAddress, physicalEnd())} (unsigned). */
    public boolean containsPhysical(long gpa) {
        return Long.compareUnsigned(gpa, physicalAddress) >= 0 && Long.compareUnsigned(gpa, physicalEnd()) < 0;
    }

    /** True when {@code va} lies in {@code [virtualAddress, virtualAddress + memorySize)} (unsigned). */
    public boolean containsVirtual(long va) {
        return Long.compareUnsigned(va, virtualAddress) >= 0
                && Long.compareUnsigned(va, virtualAddress + memorySize) < 0;
    }

    @Override
    public String toString() {
        return String.format("PT_LOAD[paddr 0x%x, +0x%x) vaddr 0x%x file [0x%x, +0x%x) flags %s%s%s",
                physicalAddress, memorySize, virtualAddress, fileOffset, fileSize,
                (flags & PF_R) != 0 ? "r" : "-", (flags & PF_W) != 0 ? "w" : "-", (flags & PF_X) != 0 ? "x" : "-");
    }
}

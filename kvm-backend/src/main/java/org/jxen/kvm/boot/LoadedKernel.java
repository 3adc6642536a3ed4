package org.jxen.kvm.boot;

/**
 * A kernel placed in guest memory by {@link ElfLoader}.
 *
 * @param entry         the guest-physical boot entry ({@link ElfImage#bootEntry()}), below 4 GiB
 * @param physicalStart the lowest guest-physical address any segment occupies
 * @param physicalEnd   the first guest-physical address above every segment (exclusive), so the
 *                      caller can place {@code hvm_start_info}, the command line and modules at or
 *                      above it
 */
public record LoadedKernel(long entry, long physicalStart, long physicalEnd) {
    /** {@link #physicalEnd()} rounded up to a multiple of {@code alignment} (a power of two). */
    public long physicalEndAlignedTo(long alignment) {
        if (alignment <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two: " + alignment);
        }
        return Math.addExact(physicalEnd, alignment - 1) & -alignment;
    }

    @Override
    public String toString() {
        return String.format("LoadedKernel[entry 0x%x, [0x%x, 0x%x)]", entry, physicalStart, physicalEnd);
    }
}

package org.jxen.kvm.boot;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.MemoryMap;
import org.jxen.gpc.Memslot;

/**
 * Places an {@link ElfImage}'s {@code PT_LOAD} segments in guest memory the way Xen's direct boot
 * does: each segment's file bytes at its {@code p_paddr}, then zeros up to {@code p_memsz} (the
 * BSS).
 *
 * <p>All or nothing: before any byte is written, every segment's whole physical range is checked
 * to be backed by writable (not {@link Memslot#READONLY}) memslots, and the boot entry to be below
 * 4 GiB (it is reached in 32-bit protected mode); a failure is an {@link ElfLoadException} naming
 * the segment and the first address that is not backed, with guest memory untouched. Nothing is
 * ever written outside the memslots ({@link GuestMemory#write} cannot), and nothing of the size of
 * a segment is allocated: file bytes are copied straight from the image, zeros from one small
 * shared buffer.
 *
 * <p>Stateless; safe from any thread. A concurrent change of the memory map during a load makes
 * the load fail ({@link ElfLoadException}) with guest memory partly written; the caller owns the
 * memory map while it boots a guest.
 */
public final class ElfLoader {
    /** The size of the zero buffer the BSS is cleared from, chunk by chunk. */
    static final int ZERO_CHUNK = 64 * 1024;
    private static final MemorySegment ZEROS = MemorySegment.ofArray(new byte[ZERO_CHUNK]).asReadOnly();
    private static final long FOUR_GIB = 1L << 32;

    private ElfLoader() {
    }

    /** Loads {@code image} into {@code memory}; see the class description. */
    public static LoadedKernel load(ElfImage image, GuestMemory memory) throws ElfLoadException {
        long entry = image.bootEntry();
        if (Long.compareUnsigned(entry, FOUR_GIB) >= 0) {
            throw new ElfLoadException(String.format("boot entry 0x%x is not below 4 GiB, so 32-bit protected mode"
                    + " cannot reach it", entry));
        }
        List<LoadSegment> segments = image.segments();
        MemoryMap map = memory.currentMap();
        long lowest = -1;
        long highest = 0;
        for (int i = 0; i < segments.size(); i++) {
            LoadSegment s = segments.get(i);
            if (s.memorySize() == 0) {
                continue;
            }
            long missing = firstNotWritable(map, s.physicalAddress(), s.memorySize());
            if (missing != -1) {
                throw new ElfLoadException(String.format("%s [0x%x, 0x%x): guest-physical address 0x%x is not backed by"
                                + " writable guest RAM (%s)", name(i, segments.size()), s.physicalAddress(),
                        s.physicalEnd(), missing, map));
            }
            if (lowest == -1 || s.physicalAddress() < lowest) {
                lowest = s.physicalAddress();
            }
            highest = Math.max(highest, s.physicalEnd());
        }
        for (int i = 0; i < segments.size(); i++) {
            LoadSegment s = segments.get(i);
            if (s.memorySize() == 0) {
                continue;
            }
            if (!memory.write(s.physicalAddress(), image.segmentData(s))) {
                throw changed(i, segments.size(), s.physicalAddress());
            }
            long gpa = s.physicalAddress() + s.fileSize();
            long left = s.memorySize() - s.fileSize();
            while (left > 0) {
                long n = Math.min(left, ZERO_CHUNK);
                if (!memory.write(gpa, ZEROS.asSlice(0, n))) {
                    throw changed(i, segments.size(), gpa);
                }
                gpa += n;
                left -= n;
            }
        }
        return new LoadedKernel(entry, lowest, highest);
    }

    /**
     * The first address of {@code [gpa, gpa + length)} that no writable memslot of {@code map}
     * backs, or -1 when all are. Addresses are signed here: a negative one (at or above 2^63) is
     * never backed.
     */
    public static long firstNotWritable(MemoryMap map, long gpa, long length) {
        long at = gpa;
        long end = gpa + length; // may be negative when gpa is: then the first test fails
        while (at < 0 || Long.compareUnsigned(at, end) < 0) {
            if (at < 0) {
                return at;
            }
            Memslot slot = map.find(at);
            if (slot == null || slot.isReadOnly()) {
                return at;
            }
            long slotEnd = slot.end();
            if (slotEnd <= at) {
                return at; // defensive: a slot must move us forward
            }
            at = slotEnd;
        }
        return -1;
    }

    private static String name(int index, int count) {
        return "PT_LOAD segment " + index + " (of " + count + ")";
    }

    private static ElfLoadException changed(int index, int count, long gpa) {
        return new ElfLoadException(String.format("%s: the write at guest-physical address 0x%x failed: the guest"
                + " memory map changed during the load", name(index, count), gpa));
    }
}

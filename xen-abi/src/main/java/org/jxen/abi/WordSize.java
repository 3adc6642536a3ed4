package org.jxen.abi;

/**
 * The guest's word size: whether a structure is read in its 64-bit (x86_64) or its 32-bit
 * (i386) guest form. It decides the width of {@code unsigned long}, {@code xen_ulong_t},
 * {@code xen_pfn_t} and guest pointers, and the alignment of 64-bit integers inside structures
 * (8 bytes for a 64-bit guest, 4 for a 32-bit one).
 *
 * <p>Every layout and accessor in this package takes the word size as an argument; there is no
 * global default. Immutable and safe to use from any thread.
 */
public enum WordSize {
    /** A 64-bit (x86_64, long mode) guest: 8-byte words. */
    BITS_64(8),
    /** A 32-bit (i386, protected mode) guest: 4-byte words. */
    BITS_32(4);

    private final int bytes;

    WordSize(int bytes) {
        this.bytes = bytes;
    }

    /** The size of a guest word ({@code unsigned long}) in bytes: 8 or 4. */
    public int bytes() {
        return bytes;
    }

    /** The size of a guest word in bits: 64 or 32. */
    public int bits() {
        return bytes * 8;
    }
}

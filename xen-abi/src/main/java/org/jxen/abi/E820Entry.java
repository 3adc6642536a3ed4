package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * One entry of the memory map that {@link XenMem#MEMORY_MAP} writes: the BIOS {@code INT 15h,
 * E820h} format, packed, 20 bytes in both guest forms. Xen's public headers do not declare it
 * ({@code xen/memory.h} names the format in a comment); Xen's own {@code struct e820entry} and
 * Linux's {@code struct e820_entry} are this packed layout.
 *
 * <pre>
 *  0 addr u64
 *  8 size u64
 * 16 type u32
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class E820Entry {
    private E820Entry() {
    }

    /** Usable RAM. */
    public static final int TYPE_RAM = 1;
    /** Reserved: not RAM the guest may use. */
    public static final int TYPE_RESERVED = 2;

    private static final StructLayout LAYOUT = MemoryLayout.structLayout(
            U64_UA.withName("addr"),
            U64_UA.withName("size"),
            U32_UA.withName("type")).withName("e820entry");

    private static final long ADDR = CTypes.offset(LAYOUT, "addr");
    private static final long SIZE = CTypes.offset(LAYOUT, "size");
    private static final long TYPE = CTypes.offset(LAYOUT, "type");

    /** The same packed layout for both guest forms. */
    public static StructLayout layout(WordSize w) {
        return LAYOUT;
    }

    /** 20 in both forms. */
    public static long sizeof(WordSize w) {
        return LAYOUT.byteSize();
    }

    public static long offsetOfAddr(WordSize w) { return ADDR; }
    public static long offsetOfSize(WordSize w) { return SIZE; }
    public static long offsetOfType(WordSize w) { return TYPE; }

    public static long addr(MemorySegment seg) { return getU64(seg, ADDR); }
    public static void setAddr(MemorySegment seg, long value) { setU64(seg, ADDR, value); }
    public static long size(MemorySegment seg) { return getU64(seg, SIZE); }
    public static void setSize(MemorySegment seg, long value) { setU64(seg, SIZE, value); }
    public static int type(MemorySegment seg) { return getU32(seg, TYPE); }
    public static void setType(MemorySegment seg, int value) { setU32(seg, TYPE, value); }
}

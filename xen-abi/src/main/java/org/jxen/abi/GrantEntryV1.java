package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct grant_entry_v1} ({@code xen/grant_table.h}): one entry of a version-1 grant table.
 * 8 bytes, the same in both guest forms.
 *
 * <pre>
 *  0 flags        u16
 *  2 domid        u16
 *  4 frame        u32
 * </pre>
 *
 * <p>Stateless, safe from any thread. 16-bit fields
 * ({@code domid_t} and the like) read as zero-extended ints.
 */
public final class GrantEntryV1 {
    private GrantEntryV1() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U16.withName("flags"),
                U16.withName("domid"),
                U32.withName("frame")).withName("grant_entry_v1");
    }

    private static final long FLAGS = CTypes.offset(L64, "flags");
    private static final long DOMID = CTypes.offset(L64, "domid");
    private static final long FRAME = CTypes.offset(L64, "frame");

    /** The layout of the given guest form (the forms differ at most in alignment). */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 8 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfFlags(WordSize w) { return FLAGS; }
    public static long offsetOfDomid(WordSize w) { return DOMID; }
    public static long offsetOfFrame(WordSize w) { return FRAME; }

    public static int flags(MemorySegment seg) { return getU16(seg, FLAGS); }
    public static void setFlags(MemorySegment seg, int value) { setU16(seg, FLAGS, value); }
    public static int domid(MemorySegment seg) { return getU16(seg, DOMID); }
    public static void setDomid(MemorySegment seg, int value) { setU16(seg, DOMID, value); }
    public static int frame(MemorySegment seg) { return getU32(seg, FRAME); }
    public static void setFrame(MemorySegment seg, int value) { setU32(seg, FRAME, value); }
}

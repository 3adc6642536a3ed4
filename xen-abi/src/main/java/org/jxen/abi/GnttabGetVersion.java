package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct gnttab_get_version} ({@code xen/grant_table.h}): the argument of
 * {@link GnttabOp#GET_VERSION}: a domain, and on return its grant-table version. 8 bytes in both
 * forms.
 *
 * <pre>
 *  0 dom     u16
 *  2 pad     u16
 *  4 version u32
 * </pre>
 *
 * <p>Stateless, safe from any thread. 16-bit fields read as zero-extended ints.
 */
public final class GnttabGetVersion {
    private GnttabGetVersion() {
    }

    private static final StructLayout L64 = MemoryLayout.structLayout(
            U16.withName("dom"),
            U16.withName("pad"),
            U32.withName("version")).withName("gnttab_get_version");
    private static final StructLayout L32 = L64;

    private static final long DOM = CTypes.offset(L64, "dom");
    private static final long PAD = CTypes.offset(L64, "pad");
    private static final long VERSION = CTypes.offset(L64, "version");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 8 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfDom(WordSize w) { return DOM; }
    public static long offsetOfPad(WordSize w) { return PAD; }
    public static long offsetOfVersion(WordSize w) { return VERSION; }

    public static int dom(MemorySegment seg) { return getU16(seg, DOM); }
    public static void setDom(MemorySegment seg, int value) { setU16(seg, DOM, value); }
    public static int version(MemorySegment seg) { return getU32(seg, VERSION); }
    public static void setVersion(MemorySegment seg, int value) { setU32(seg, VERSION, value); }
}

package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct gnttab_set_version} ({@code xen/grant_table.h}): the argument of
 * {@link GnttabOp#SET_VERSION}: the version asked for, and on return the version in effect.
 * 4 bytes in both forms.
 *
 * <pre>
 *  0 version u32
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class GnttabSetVersion {
    private GnttabSetVersion() {
    }

    private static final StructLayout L64 = MemoryLayout.structLayout(U32.withName("version")).withName("gnttab_set_version");
    private static final StructLayout L32 = L64;

    private static final long VERSION = CTypes.offset(L64, "version");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 4 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfVersion(WordSize w) { return VERSION; }

    public static int version(MemorySegment seg) { return getU32(seg, VERSION); }
    public static void setVersion(MemorySegment seg, int value) { setU32(seg, VERSION, value); }
}

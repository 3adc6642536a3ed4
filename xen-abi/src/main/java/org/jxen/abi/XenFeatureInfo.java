package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct xen_feature_info} ({@code xen/version.h}): the argument of {@link XenVersion#GET_FEATURES}: which 32-bit submap of
 * feature flags to return, and the submap.
 * 8 bytes, the same in both guest forms.
 *
 * <pre>
 *  0 submap_idx   u32
 *  4 submap       u32
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class XenFeatureInfo {
    private XenFeatureInfo() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U32.withName("submap_idx"),
                U32.withName("submap")).withName("xen_feature_info");
    }

    private static final long SUBMAP_IDX = CTypes.offset(L64, "submap_idx");
    private static final long SUBMAP = CTypes.offset(L64, "submap");

    /** The layout of the given guest form (the forms differ at most in alignment). */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 8 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfSubmapIdx(WordSize w) { return SUBMAP_IDX; }
    public static long offsetOfSubmap(WordSize w) { return SUBMAP; }

    public static int submapIdx(MemorySegment seg) { return getU32(seg, SUBMAP_IDX); }
    public static void setSubmapIdx(MemorySegment seg, int value) { setU32(seg, SUBMAP_IDX, value); }
    public static int submap(MemorySegment seg) { return getU32(seg, SUBMAP); }
    public static void setSubmap(MemorySegment seg, int value) { setU32(seg, SUBMAP, value); }
}

package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct xen_hvm_param} ({@code xen/hvm/hvm_op.h}): the argument of {@link HvmOp#SET_PARAM} and {@link HvmOp#GET_PARAM}:
 * which domain, which {@link HvmParam}, and its value.
 * 16 bytes, the same in both guest forms.
 *
 * <pre>
 *  0 domid        u16
 *  2 pad          u16
 *  4 index        u32
 *  8 value        u64
 * </pre>
 *
 * <p>Stateless, safe from any thread. 16-bit fields
 * ({@code domid_t} and the like) read as zero-extended ints.
 */
public final class XenHvmParam {
    private XenHvmParam() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U16.withName("domid"),
                U16.withName("pad"),
                U32.withName("index"),
                u64(w).withName("value")).withName("xen_hvm_param");
    }

    private static final long DOMID = CTypes.offset(L64, "domid");
    private static final long PAD = CTypes.offset(L64, "pad");
    private static final long INDEX = CTypes.offset(L64, "index");
    private static final long VALUE = CTypes.offset(L64, "value");

    /** The layout of the given guest form (the forms differ at most in alignment). */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 16 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfDomid(WordSize w) { return DOMID; }
    public static long offsetOfPad(WordSize w) { return PAD; }
    public static long offsetOfIndex(WordSize w) { return INDEX; }
    public static long offsetOfValue(WordSize w) { return VALUE; }

    public static int domid(MemorySegment seg) { return getU16(seg, DOMID); }
    public static void setDomid(MemorySegment seg, int value) { setU16(seg, DOMID, value); }
    public static int pad(MemorySegment seg) { return getU16(seg, PAD); }
    public static void setPad(MemorySegment seg, int value) { setU16(seg, PAD, value); }
    public static int index(MemorySegment seg) { return getU32(seg, INDEX); }
    public static void setIndex(MemorySegment seg, int value) { setU32(seg, INDEX, value); }
    public static long value(MemorySegment seg) { return getU64(seg, VALUE); }
    public static void setValue(MemorySegment seg, long value) { setU64(seg, VALUE, value); }
}

package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.Objects;

/**
 * {@code struct xencons_interface} ({@code xen/io/console.h}): the PV console ring page, an input
 * ring of {@link #IN_SIZE} bytes (host to guest) and an output ring of {@link #OUT_SIZE} bytes
 * (guest to host) with free-running indices. 3088 bytes, the same in both forms.
 *
 * <pre>
 *    0 in[1024]   u8
 * 1024 out[2048]  u8
 * 3072 in_cons    u32
 * 3076 in_prod    u32
 * 3080 out_cons   u32
 * 3084 out_prod   u32
 * </pre>
 *
 * <p>Stateless, safe from any thread; plain reads and writes, barriers are the caller's.
 */
public final class XenconsInterface {
    private XenconsInterface() {
    }

    /** Bytes in the {@code in} ring. */
    public static final int IN_SIZE = 1024;
    /** Bytes in the {@code out} ring. */
    public static final int OUT_SIZE = 2048;

    private static final StructLayout L64 = MemoryLayout.structLayout(
            bytes(IN_SIZE).withName("in"),
            bytes(OUT_SIZE).withName("out"),
            U32.withName("in_cons"),
            U32.withName("in_prod"),
            U32.withName("out_cons"),
            U32.withName("out_prod")).withName("xencons_interface");
    private static final StructLayout L32 = L64;

    private static final long IN = CTypes.offset(L64, "in");
    private static final long OUT = CTypes.offset(L64, "out");
    private static final long IN_CONS = CTypes.offset(L64, "in_cons");
    private static final long IN_PROD = CTypes.offset(L64, "in_prod");
    private static final long OUT_CONS = CTypes.offset(L64, "out_cons");
    private static final long OUT_PROD = CTypes.offset(L64, "out_prod");

    /** The layout; identical for both guest forms. */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 3088 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfIn(WordSize w) { return IN; }
    public static long offsetOfOut(WordSize w) { return OUT; }
    public static long offsetOfInCons(WordSize w) { return IN_CONS; }
    public static long offsetOfInProd(WordSize w) { return IN_PROD; }
    public static long offsetOfOutCons(WordSize w) { return OUT_CONS; }
    public static long offsetOfOutProd(WordSize w) { return OUT_PROD; }

    /** {@code in[slot]}, slot 0..1023 ({@code index & (IN_SIZE - 1)}). */
    public static int in(MemorySegment seg, int slot) { return getU8(seg, IN + Objects.checkIndex(slot, IN_SIZE)); }
    public static void setIn(MemorySegment seg, int slot, int value) { setU8(seg, IN + Objects.checkIndex(slot, IN_SIZE), value); }
    /** {@code out[slot]}, slot 0..2047 ({@code index & (OUT_SIZE - 1)}). */
    public static int out(MemorySegment seg, int slot) { return getU8(seg, OUT + Objects.checkIndex(slot, OUT_SIZE)); }
    public static void setOut(MemorySegment seg, int slot, int value) { setU8(seg, OUT + Objects.checkIndex(slot, OUT_SIZE), value); }

    public static int inCons(MemorySegment seg) { return getU32(seg, IN_CONS); }
    public static void setInCons(MemorySegment seg, int value) { setU32(seg, IN_CONS, value); }
    public static int inProd(MemorySegment seg) { return getU32(seg, IN_PROD); }
    public static void setInProd(MemorySegment seg, int value) { setU32(seg, IN_PROD, value); }
    public static int outCons(MemorySegment seg) { return getU32(seg, OUT_CONS); }
    public static void setOutCons(MemorySegment seg, int value) { setU32(seg, OUT_CONS, value); }
    public static int outProd(MemorySegment seg) { return getU32(seg, OUT_PROD); }
    public static void setOutProd(MemorySegment seg, int value) { setU32(seg, OUT_PROD, value); }
}

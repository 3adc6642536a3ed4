package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct multicall_entry} ({@code xen/xen.h}): one call of a {@link Hypercall#MULTICALL}
 * batch: the hypercall number, its result (written back), and six arguments, each a
 * {@code xen_ulong_t} (8 bytes for a 64-bit guest, 4 for a 32-bit one).
 *
 * <pre>
 * 64-bit guest (64 bytes)          32-bit guest (32 bytes)
 *  0 op      u64                    0 op      u32
 *  8 result  s64                    4 result  s32
 * 16 args[6] u64                    8 args[6] u32
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class MulticallEntry {
    private MulticallEntry() {
    }

    public static final int NR_ARGS = 6;

    private static final StructLayout L64 = layoutFor(WordSize.BITS_64);
    private static final StructLayout L32 = layoutFor(WordSize.BITS_32);

    private static StructLayout layoutFor(WordSize w) {
        return MemoryLayout.structLayout(
                ulong(w).withName("op"),
                ulong(w).withName("result"),
                MemoryLayout.sequenceLayout(NR_ARGS, ulong(w)).withName("args")).withName("multicall_entry");
    }

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 64 for a 64-bit guest, 32 for a 32-bit one. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfOp(WordSize w) { return 0; }
    public static long offsetOfResult(WordSize w) { return w.bytes(); }
    public static long offsetOfArgs(WordSize w) { return 2L * w.bytes(); }

    public static long op(MemorySegment seg, WordSize w) { return getWord(seg, w, 0); }
    public static void setOp(MemorySegment seg, WordSize w, long value) { setWord(seg, w, 0, value); }
    /** The result as the guest reads it: sign-extended from a 32-bit guest's {@code long}. */
    public static long result(MemorySegment seg, WordSize w) {
        long v = getWord(seg, w, offsetOfResult(w));
        return w == WordSize.BITS_64 ? v : (int) v;
    }
    public static void setResult(MemorySegment seg, WordSize w, long value) { setWord(seg, w, offsetOfResult(w), value); }
    public static long arg(MemorySegment seg, WordSize w, int i) { return getWord(seg, w, offsetOfArgs(w) + (long) i * w.bytes()); }
    public static void setArg(MemorySegment seg, WordSize w, int i, long value) {
        setWord(seg, w, offsetOfArgs(w) + (long) i * w.bytes(), value);
    }
}

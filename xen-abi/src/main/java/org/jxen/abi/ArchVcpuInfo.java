package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.Objects;

/**
 * {@code struct arch_vcpu_info} ({@code xen/arch-x86/xen-x86_64.h} and {@code xen-x86_32.h}):
 * the x86 part of {@link VcpuInfo}.
 *
 * <pre>
 * 64-bit guest (16 bytes)       32-bit guest (24 bytes)
 *  0 cr2   u64                   0 cr2   u32
 *  8 pad   u64                   4 pad   u32[5]
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class ArchVcpuInfo {
    private ArchVcpuInfo() {
    }

    /** Number of {@code pad} words: 1 for a 64-bit guest, 5 for a 32-bit one. */
    public static int padWords(WordSize w) {
        return w == WordSize.BITS_64 ? 1 : 5;
    }

    private static final StructLayout L64 = MemoryLayout.structLayout(
            U64_ALIGN8.withName("cr2"),
            U64_ALIGN8.withName("pad")).withName("arch_vcpu_info");
    private static final StructLayout L32 = MemoryLayout.structLayout(
            U32.withName("cr2"),
            MemoryLayout.sequenceLayout(5, U32).withName("pad")).withName("arch_vcpu_info");

    private static final long CR2_64 = CTypes.offset(L64, "cr2"), CR2_32 = CTypes.offset(L32, "cr2");
    private static final long PAD_64 = CTypes.offset(L64, "pad"), PAD_32 = CTypes.offset(L32, "pad");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 16 for a 64-bit guest, 24 for a 32-bit one. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfCr2(WordSize w) { return pick(w, CR2_64, CR2_32); }
    public static long offsetOfPad(WordSize w) { return pick(w, PAD_64, PAD_32); }

    public static long cr2(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfCr2(w)); }
    public static void setCr2(MemorySegment seg, WordSize w, long value) { setWord(seg, w, offsetOfCr2(w), value); }

    /** {@code pad} word {@code index} (0 for a 64-bit guest, 0..4 for a 32-bit one). */
    public static long pad(MemorySegment seg, WordSize w, int index) {
        return getWord(seg, w, offsetOfPad(w) + (long) Objects.checkIndex(index, padWords(w)) * w.bytes());
    }

    public static void setPad(MemorySegment seg, WordSize w, int index, long value) {
        setWord(seg, w, offsetOfPad(w) + (long) Objects.checkIndex(index, padWords(w)) * w.bytes(), value);
    }
}

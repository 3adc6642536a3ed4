package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct arch_shared_info} ({@code xen/arch-x86/xen.h}): the x86 tail of
 * {@link SharedInfo}. Six guest words; a 32-bit guest adds {@code wc_sec_hi} here (a 64-bit guest
 * has it in {@code shared_info} itself).
 *
 * <pre>
 * 64-bit guest (48 bytes)                 32-bit guest (28 bytes)
 *  0 max_pfn                    u64        0 max_pfn                    u32
 *  8 pfn_to_mfn_frame_list_list u64        4 pfn_to_mfn_frame_list_list u32
 * 16 nmi_reason                 u64        8 nmi_reason                 u32
 * 24 p2m_cr3                    u64       12 p2m_cr3                    u32
 * 32 p2m_vaddr                  u64       16 p2m_vaddr                  u32
 * 40 p2m_generation             u64       20 p2m_generation             u32
 *                                         24 wc_sec_hi                  u32
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class ArchSharedInfo {
    private ArchSharedInfo() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        MemoryLayout[] words = {
            ulong(w).withName("max_pfn"),
            ulong(w).withName("pfn_to_mfn_frame_list_list"),
            ulong(w).withName("nmi_reason"),
            ulong(w).withName("p2m_cr3"),
            ulong(w).withName("p2m_vaddr"),
            ulong(w).withName("p2m_generation"),
        };
        if (w == WordSize.BITS_64) {
            return MemoryLayout.structLayout(words).withName("arch_shared_info");
        }
        MemoryLayout[] all = java.util.Arrays.copyOf(words, words.length + 1);
        all[words.length] = U32.withName("wc_sec_hi");
        return MemoryLayout.structLayout(all).withName("arch_shared_info");
    }

    /** 48 for a 64-bit guest, 28 for a 32-bit one. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    public static long offsetOfMaxPfn(WordSize w) { return 0; }
    public static long offsetOfPfnToMfnFrameListList(WordSize w) { return w.bytes(); }
    public static long offsetOfNmiReason(WordSize w) { return 2L * w.bytes(); }
    public static long offsetOfP2mCr3(WordSize w) { return 3L * w.bytes(); }
    public static long offsetOfP2mVaddr(WordSize w) { return 4L * w.bytes(); }
    public static long offsetOfP2mGeneration(WordSize w) { return 5L * w.bytes(); }

    /** Offset of {@code wc_sec_hi}, which only the 32-bit form has here. */
    public static long offsetOfWcSecHi32() { return WC_SEC_HI_32; }

    private static final long WC_SEC_HI_32 = CTypes.offset(L32, "wc_sec_hi");

    public static long maxPfn(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfMaxPfn(w)); }
    public static void setMaxPfn(MemorySegment seg, WordSize w, long v) { setWord(seg, w, offsetOfMaxPfn(w), v); }
    public static long pfnToMfnFrameListList(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfPfnToMfnFrameListList(w)); }
    public static void setPfnToMfnFrameListList(MemorySegment seg, WordSize w, long v) { setWord(seg, w, offsetOfPfnToMfnFrameListList(w), v); }
    public static long nmiReason(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfNmiReason(w)); }
    public static void setNmiReason(MemorySegment seg, WordSize w, long v) { setWord(seg, w, offsetOfNmiReason(w), v); }
    public static long p2mCr3(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfP2mCr3(w)); }
    public static void setP2mCr3(MemorySegment seg, WordSize w, long v) { setWord(seg, w, offsetOfP2mCr3(w), v); }
    public static long p2mVaddr(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfP2mVaddr(w)); }
    public static void setP2mVaddr(MemorySegment seg, WordSize w, long v) { setWord(seg, w, offsetOfP2mVaddr(w), v); }
    public static long p2mGeneration(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfP2mGeneration(w)); }
    public static void setP2mGeneration(MemorySegment seg, WordSize w, long v) { setWord(seg, w, offsetOfP2mGeneration(w), v); }
}

package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.Objects;

/**
 * {@code struct shared_info} ({@code xen/xen.h}): the page shared between the host and the guest
 * with the 32 legacy {@link VcpuInfo} slots, the 2-level event-channel pending and mask
 * bitmaps, the wall clock and the {@link ArchSharedInfo} tail.
 *
 * <pre>
 * 64-bit guest (3136 bytes)                  32-bit guest (2344 bytes)
 *    0 vcpu_info      vcpu_info[32]              0 vcpu_info      vcpu_info[32]
 * 2048 evtchn_pending u64[64]                 2048 evtchn_pending u32[32]
 * 2560 evtchn_mask    u64[64]                 2176 evtchn_mask    u32[32]
 * 3072 wc_version     u32                     2304 wc_version     u32
 * 3076 wc_sec         u32                     2308 wc_sec         u32
 * 3080 wc_nsec        u32                     2312 wc_nsec        u32
 * 3084 wc_sec_hi      u32                     2316 arch           arch_shared_info (28)
 * 3088 arch           arch_shared_info (48)   2340   (arch.wc_sec_hi u32)
 * </pre>
 *
 * <p>The bitmaps hold one bit per port, {@link Evtchn#nrChannels2Level(WordSize)} in all; they
 * have {@code w.bits()} words of {@code w.bytes()} bytes. Stateless, safe from any thread. The
 * accessors are plain reads and writes; callers that race with a running guest use the offsets
 * with atomic access of their own.
 */
public final class SharedInfo {
    private SharedInfo() {
    }

    /** {@code XEN_LEGACY_MAX_VCPUS}: the vcpu_info slots in the shared page. */
    public static final int LEGACY_MAX_VCPUS = 32;

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        MemoryLayout vcpus = MemoryLayout.sequenceLayout(LEGACY_MAX_VCPUS, VcpuInfo.layout(w)).withName("vcpu_info");
        MemoryLayout pending = MemoryLayout.sequenceLayout(w.bits(), ulong(w)).withName("evtchn_pending");
        MemoryLayout mask = MemoryLayout.sequenceLayout(w.bits(), ulong(w)).withName("evtchn_mask");
        if (w == WordSize.BITS_64) {
            return MemoryLayout.structLayout(vcpus, pending, mask,
                    U32.withName("wc_version"), U32.withName("wc_sec"), U32.withName("wc_nsec"),
                    U32.withName("wc_sec_hi"),
                    ArchSharedInfo.layout(w).withName("arch")).withName("shared_info");
        }
        return MemoryLayout.structLayout(vcpus, pending, mask,
                U32.withName("wc_version"), U32.withName("wc_sec"), U32.withName("wc_nsec"),
                ArchSharedInfo.layout(w).withName("arch")).withName("shared_info");
    }

    private static final long VCPU_INFO = CTypes.offset(L64, "vcpu_info");
    private static final long PENDING_64 = CTypes.offset(L64, "evtchn_pending"), PENDING_32 = CTypes.offset(L32, "evtchn_pending");
    private static final long MASK_64 = CTypes.offset(L64, "evtchn_mask"), MASK_32 = CTypes.offset(L32, "evtchn_mask");
    private static final long WC_VERSION_64 = CTypes.offset(L64, "wc_version"), WC_VERSION_32 = CTypes.offset(L32, "wc_version");
    private static final long WC_SEC_64 = CTypes.offset(L64, "wc_sec"), WC_SEC_32 = CTypes.offset(L32, "wc_sec");
    private static final long WC_NSEC_64 = CTypes.offset(L64, "wc_nsec"), WC_NSEC_32 = CTypes.offset(L32, "wc_nsec");
    private static final long WC_SEC_HI_64 = CTypes.offset(L64, "wc_sec_hi"), WC_SEC_HI_32 = CTypes.offset(L32, "arch", "wc_sec_hi");
    private static final long ARCH_64 = CTypes.offset(L64, "arch"), ARCH_32 = CTypes.offset(L32, "arch");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 3136 for a 64-bit guest, 2344 for a 32-bit one. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    /** Number of words in each event bitmap: 64 or 32. */
    public static int evtchnWords(WordSize w) {
        return w.bits();
    }

    /** Offset of {@code vcpu_info[vcpu]}, vcpu 0..31. */
    public static long offsetOfVcpuInfo(WordSize w, int vcpu) {
        return VCPU_INFO + Objects.checkIndex(vcpu, LEGACY_MAX_VCPUS) * VcpuInfo.sizeof(w);
    }

    public static long offsetOfEvtchnPending(WordSize w) { return pick(w, PENDING_64, PENDING_32); }
    public static long offsetOfEvtchnMask(WordSize w) { return pick(w, MASK_64, MASK_32); }
    public static long offsetOfWcVersion(WordSize w) { return pick(w, WC_VERSION_64, WC_VERSION_32); }
    public static long offsetOfWcSec(WordSize w) { return pick(w, WC_SEC_64, WC_SEC_32); }
    public static long offsetOfWcNsec(WordSize w) { return pick(w, WC_NSEC_64, WC_NSEC_32); }

    /**
     * Offset of the high 32 bits of the wall-clock seconds: {@code wc_sec_hi} for a 64-bit guest
     * (3084), {@code arch.wc_sec_hi} for a 32-bit one (2340).
     */
    public static long offsetOfWcSecHi(WordSize w) { return pick(w, WC_SEC_HI_64, WC_SEC_HI_32); }
    public static long offsetOfArch(WordSize w) { return pick(w, ARCH_64, ARCH_32); }

    /** {@code vcpu_info[vcpu]} as a slice, for {@link VcpuInfo}'s accessors. */
    public static MemorySegment vcpuInfo(MemorySegment seg, WordSize w, int vcpu) {
        return seg.asSlice(offsetOfVcpuInfo(w, vcpu), VcpuInfo.sizeof(w));
    }

    /** The {@code arch} member as a slice, for {@link ArchSharedInfo}'s accessors. */
    public static MemorySegment arch(MemorySegment seg, WordSize w) {
        return seg.asSlice(offsetOfArch(w), ArchSharedInfo.sizeof(w));
    }

    /** {@code evtchn_pending[wordIndex]}: a u64 or a zero-extended u32; index below {@code w.bits()}. */
    public static long evtchnPending(MemorySegment seg, WordSize w, int wordIndex) {
        return getWord(seg, w, offsetOfEvtchnPending(w) + (long) Objects.checkIndex(wordIndex, w.bits()) * w.bytes());
    }

    public static void setEvtchnPending(MemorySegment seg, WordSize w, int wordIndex, long value) {
        setWord(seg, w, offsetOfEvtchnPending(w) + (long) Objects.checkIndex(wordIndex, w.bits()) * w.bytes(), value);
    }

    /** {@code evtchn_mask[wordIndex]}: a u64 or a zero-extended u32; index below {@code w.bits()}. */
    public static long evtchnMask(MemorySegment seg, WordSize w, int wordIndex) {
        return getWord(seg, w, offsetOfEvtchnMask(w) + (long) Objects.checkIndex(wordIndex, w.bits()) * w.bytes());
    }

    public static void setEvtchnMask(MemorySegment seg, WordSize w, int wordIndex, long value) {
        setWord(seg, w, offsetOfEvtchnMask(w) + (long) Objects.checkIndex(wordIndex, w.bits()) * w.bytes(), value);
    }

    public static int wcVersion(MemorySegment seg, WordSize w) { return getU32(seg, offsetOfWcVersion(w)); }
    public static void setWcVersion(MemorySegment seg, WordSize w, int value) { setU32(seg, offsetOfWcVersion(w), value); }
    public static int wcSec(MemorySegment seg, WordSize w) { return getU32(seg, offsetOfWcSec(w)); }
    public static void setWcSec(MemorySegment seg, WordSize w, int value) { setU32(seg, offsetOfWcSec(w), value); }
    public static int wcNsec(MemorySegment seg, WordSize w) { return getU32(seg, offsetOfWcNsec(w)); }
    public static void setWcNsec(MemorySegment seg, WordSize w, int value) { setU32(seg, offsetOfWcNsec(w), value); }

    /** The high 32 bits of the wall-clock seconds (see {@link #offsetOfWcSecHi(WordSize)}). */
    public static int wcSecHi(MemorySegment seg, WordSize w) { return getU32(seg, offsetOfWcSecHi(w)); }
    public static void setWcSecHi(MemorySegment seg, WordSize w, int value) { setU32(seg, offsetOfWcSecHi(w), value); }
}

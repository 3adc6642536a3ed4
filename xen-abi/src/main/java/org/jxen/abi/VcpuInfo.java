package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct vcpu_info} ({@code xen/xen.h}): one vCPU's event-channel upcall flags, its
 * selector of pending event words, the {@link ArchVcpuInfo} part and its {@link VcpuTimeInfo}.
 * 64 bytes in both guest forms; the word-sized selector moves.
 *
 * <pre>
 * 64-bit guest                       32-bit guest
 *  0 evtchn_upcall_pending u8         0 evtchn_upcall_pending u8
 *  1 evtchn_upcall_mask    u8         1 evtchn_upcall_mask    u8
 *  8 evtchn_pending_sel    u64        4 evtchn_pending_sel    u32
 * 16 arch   arch_vcpu_info (16)       8 arch   arch_vcpu_info (24)
 * 32 time   vcpu_time_info (32)      32 time   vcpu_time_info (32)
 * </pre>
 *
 * <p>Stateless, safe from any thread. Accessors are plain reads and writes.
 */
public final class VcpuInfo {
    private VcpuInfo() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U8.withName("evtchn_upcall_pending"),
                U8.withName("evtchn_upcall_mask"),
                MemoryLayout.paddingLayout(w.bytes() - 2),
                ulong(w).withName("evtchn_pending_sel"),
                ArchVcpuInfo.layout(w).withName("arch"),
                VcpuTimeInfo.layout(w).withName("time")).withName("vcpu_info");
    }

    private static final long UPCALL_PENDING = CTypes.offset(L64, "evtchn_upcall_pending");
    private static final long UPCALL_MASK = CTypes.offset(L64, "evtchn_upcall_mask");
    private static final long SEL_64 = CTypes.offset(L64, "evtchn_pending_sel"), SEL_32 = CTypes.offset(L32, "evtchn_pending_sel");
    private static final long ARCH_64 = CTypes.offset(L64, "arch"), ARCH_32 = CTypes.offset(L32, "arch");
    private static final long TIME_64 = CTypes.offset(L64, "time"), TIME_32 = CTypes.offset(L32, "time");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 64 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfEvtchnUpcallPending(WordSize w) { return UPCALL_PENDING; }
    public static long offsetOfEvtchnUpcallMask(WordSize w) { return UPCALL_MASK; }
    public static long offsetOfEvtchnPendingSel(WordSize w) { return pick(w, SEL_64, SEL_32); }
    public static long offsetOfArch(WordSize w) { return pick(w, ARCH_64, ARCH_32); }
    public static long offsetOfTime(WordSize w) { return pick(w, TIME_64, TIME_32); }

    public static int evtchnUpcallPending(MemorySegment seg) { return getU8(seg, UPCALL_PENDING); }
    public static void setEvtchnUpcallPending(MemorySegment seg, int value) { setU8(seg, UPCALL_PENDING, value); }
    public static int evtchnUpcallMask(MemorySegment seg) { return getU8(seg, UPCALL_MASK); }
    public static void setEvtchnUpcallMask(MemorySegment seg, int value) { setU8(seg, UPCALL_MASK, value); }

    /** {@code evtchn_pending_sel}: a u64 (64-bit guest) or a zero-extended u32 (32-bit guest). */
    public static long evtchnPendingSel(MemorySegment seg, WordSize w) {
        return getWord(seg, w, offsetOfEvtchnPendingSel(w));
    }

    public static void setEvtchnPendingSel(MemorySegment seg, WordSize w, long value) {
        setWord(seg, w, offsetOfEvtchnPendingSel(w), value);
    }

    /** The {@code arch} member as a slice, for {@link ArchVcpuInfo}'s accessors. */
    public static MemorySegment arch(MemorySegment seg, WordSize w) {
        return seg.asSlice(offsetOfArch(w), ArchVcpuInfo.sizeof(w));
    }

    /** The {@code time} member as a slice, for {@link VcpuTimeInfo}'s accessors. */
    public static MemorySegment time(MemorySegment seg, WordSize w) {
        return seg.asSlice(offsetOfTime(w), VcpuTimeInfo.sizeof(w));
    }
}

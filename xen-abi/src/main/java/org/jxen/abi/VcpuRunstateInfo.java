package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.Objects;

/**
 * {@code struct vcpu_runstate_info} ({@code xen/vcpu.h}): a vCPU's current {@link Runstate},
 * when it entered it, and the time spent in each state.
 *
 * <pre>
 * 64-bit guest (48 bytes)          32-bit guest (44 bytes, packed: u64 aligned to 4)
 *  0 state            s32           0 state            s32
 *  8 state_entry_time u64           4 state_entry_time u64
 * 16 time             u64[4]       12 time             u64[4]
 * </pre>
 *
 * <p>The 32-bit form's 64-bit fields sit at offsets 4 and 12; all accessors use unaligned access,
 * so the structure may be at any address. Stateless, safe from any thread; plain reads and
 * writes (see {@link Runstate#XEN_RUNSTATE_UPDATE} for the update protocol).
 */
public final class VcpuRunstateInfo {
    private VcpuRunstateInfo() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        MemoryLayout state = U32.withName("state");
        MemoryLayout entry = u64(w).withName("state_entry_time");
        MemoryLayout time = MemoryLayout.sequenceLayout(4, u64(w)).withName("time");
        return (w == WordSize.BITS_64
                ? MemoryLayout.structLayout(state, MemoryLayout.paddingLayout(4), entry, time)
                : MemoryLayout.structLayout(state, entry, time)).withName("vcpu_runstate_info");
    }

    private static final long STATE = CTypes.offset(L64, "state");
    private static final long ENTRY_64 = CTypes.offset(L64, "state_entry_time"), ENTRY_32 = CTypes.offset(L32, "state_entry_time");
    private static final long TIME_64 = CTypes.offset(L64, "time"), TIME_32 = CTypes.offset(L32, "time");

    /** Number of entries in {@code time}: one per {@link Runstate}. */
    public static final int TIME_ENTRIES = 4;

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 48 for a 64-bit guest, 44 for a 32-bit one. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfState(WordSize w) { return STATE; }
    public static long offsetOfStateEntryTime(WordSize w) { return pick(w, ENTRY_64, ENTRY_32); }
    public static long offsetOfTime(WordSize w) { return pick(w, TIME_64, TIME_32); }

    public static int state(MemorySegment seg) { return getU32(seg, STATE); }
    public static void setState(MemorySegment seg, int value) { setU32(seg, STATE, value); }
    public static long stateEntryTime(MemorySegment seg, WordSize w) { return getU64(seg, offsetOfStateEntryTime(w)); }
    public static void setStateEntryTime(MemorySegment seg, WordSize w, long value) { setU64(seg, offsetOfStateEntryTime(w), value); }

    /** {@code time[state]}, state 0..3. */
    public static long time(MemorySegment seg, WordSize w, int state) {
        return getU64(seg, offsetOfTime(w) + 8L * Objects.checkIndex(state, TIME_ENTRIES));
    }

    public static void setTime(MemorySegment seg, WordSize w, int state, long value) {
        setU64(seg, offsetOfTime(w) + 8L * Objects.checkIndex(state, TIME_ENTRIES), value);
    }
}

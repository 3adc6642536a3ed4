package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct vcpu_time_info} ({@code xen/xen.h}): the per-vCPU pvclock the host publishes
 * and the guest reads without a hypercall. Same offsets in both guest forms (32 bytes); only the
 * structure alignment differs (8 versus 4).
 *
 * <pre>
 *  0 version            u32   odd while the host is updating
 *  4 pad0               u32
 *  8 tsc_timestamp      u64   TSC at the last update
 * 16 system_time        u64   ns since boot at tsc_timestamp
 * 24 tsc_to_system_mul  u32   32.32 fixed point multiplier
 * 28 tsc_shift          s8
 * 29 flags              u8    {@link PvClock} flags
 * 30 pad1               u8[2]
 * </pre>
 *
 * <p>Stateless: static layouts and accessors only, safe from any thread. The accessors are plain
 * (not atomic) reads and writes; ordering is up to the caller (see the {@code version} protocol).
 */
public final class VcpuTimeInfo {
    private VcpuTimeInfo() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U32.withName("version"),
                U32.withName("pad0"),
                u64(w).withName("tsc_timestamp"),
                u64(w).withName("system_time"),
                U32.withName("tsc_to_system_mul"),
                U8.withName("tsc_shift"),
                U8.withName("flags"),
                bytes(2).withName("pad1")).withName("vcpu_time_info");
    }

    private static final long VERSION = CTypes.offset(L64, "version");
    private static final long PAD0 = CTypes.offset(L64, "pad0");
    private static final long TSC_TIMESTAMP = CTypes.offset(L64, "tsc_timestamp");
    private static final long SYSTEM_TIME = CTypes.offset(L64, "system_time");
    private static final long TSC_TO_SYSTEM_MUL = CTypes.offset(L64, "tsc_to_system_mul");
    private static final long TSC_SHIFT = CTypes.offset(L64, "tsc_shift");
    private static final long FLAGS = CTypes.offset(L64, "flags");
    private static final long PAD1 = CTypes.offset(L64, "pad1");

    /** The layout of the given guest form. */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** The size in bytes: 32 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfVersion(WordSize w) { return VERSION; }
    public static long offsetOfPad0(WordSize w) { return PAD0; }
    public static long offsetOfTscTimestamp(WordSize w) { return TSC_TIMESTAMP; }
    public static long offsetOfSystemTime(WordSize w) { return SYSTEM_TIME; }
    public static long offsetOfTscToSystemMul(WordSize w) { return TSC_TO_SYSTEM_MUL; }
    public static long offsetOfTscShift(WordSize w) { return TSC_SHIFT; }
    public static long offsetOfFlags(WordSize w) { return FLAGS; }
    public static long offsetOfPad1(WordSize w) { return PAD1; }

    public static int version(MemorySegment seg) { return getU32(seg, VERSION); }
    public static void setVersion(MemorySegment seg, int value) { setU32(seg, VERSION, value); }
    public static int pad0(MemorySegment seg) { return getU32(seg, PAD0); }
    public static void setPad0(MemorySegment seg, int value) { setU32(seg, PAD0, value); }
    public static long tscTimestamp(MemorySegment seg) { return getU64(seg, TSC_TIMESTAMP); }
    public static void setTscTimestamp(MemorySegment seg, long value) { setU64(seg, TSC_TIMESTAMP, value); }
    public static long systemTime(MemorySegment seg) { return getU64(seg, SYSTEM_TIME); }
    public static void setSystemTime(MemorySegment seg, long value) { setU64(seg, SYSTEM_TIME, value); }
    public static int tscToSystemMul(MemorySegment seg) { return getU32(seg, TSC_TO_SYSTEM_MUL); }
    public static void setTscToSystemMul(MemorySegment seg, int value) { setU32(seg, TSC_TO_SYSTEM_MUL, value); }

    /** {@code tsc_shift}, a signed byte (sign-extended). */
    public static int tscShift(MemorySegment seg) { return seg.get(U8, TSC_SHIFT); }
    public static void setTscShift(MemorySegment seg, int value) { seg.set(U8, TSC_SHIFT, (byte) value); }
    public static int flags(MemorySegment seg) { return getU8(seg, FLAGS); }
    public static void setFlags(MemorySegment seg, int value) { setU8(seg, FLAGS, value); }

    /** {@code pad1[index]}, index 0..1. */
    public static int pad1(MemorySegment seg, int index) {
        return getU8(seg, PAD1 + java.util.Objects.checkIndex(index, 2));
    }

    public static void setPad1(MemorySegment seg, int index, int value) {
        setU8(seg, PAD1 + java.util.Objects.checkIndex(index, 2), value);
    }
}

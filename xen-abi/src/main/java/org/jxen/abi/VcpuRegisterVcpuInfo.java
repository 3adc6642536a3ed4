package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct vcpu_register_vcpu_info} ({@code xen/vcpu.h}): the argument of
 * {@link VcpuOp#REGISTER_VCPU_INFO}, naming the guest frame and offset where the vCPU's
 * {@link VcpuInfo} is to live. 16 bytes in both forms.
 *
 * <pre>
 *  0 mfn    u64   guest frame number
 *  8 offset u32   byte offset within the frame
 * 12 rsvd   u32
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class VcpuRegisterVcpuInfo {
    private VcpuRegisterVcpuInfo() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                u64(w).withName("mfn"),
                U32.withName("offset"),
                U32.withName("rsvd")).withName("vcpu_register_vcpu_info");
    }

    private static final long MFN = CTypes.offset(L64, "mfn");
    private static final long OFFSET = CTypes.offset(L64, "offset");
    private static final long RSVD = CTypes.offset(L64, "rsvd");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 16 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfMfn(WordSize w) { return MFN; }
    public static long offsetOfOffset(WordSize w) { return OFFSET; }
    public static long offsetOfRsvd(WordSize w) { return RSVD; }

    public static long mfn(MemorySegment seg) { return getU64(seg, MFN); }
    public static void setMfn(MemorySegment seg, long value) { setU64(seg, MFN, value); }
    public static int offset(MemorySegment seg) { return getU32(seg, OFFSET); }
    public static void setOffset(MemorySegment seg, int value) { setU32(seg, OFFSET, value); }
    public static int rsvd(MemorySegment seg) { return getU32(seg, RSVD); }
    public static void setRsvd(MemorySegment seg, int value) { setU32(seg, RSVD, value); }
}

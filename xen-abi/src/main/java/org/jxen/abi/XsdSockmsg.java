package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct xsd_sockmsg} ({@code xen/io/xs_wire.h}): the 16-byte header of every XenStore message, on the
 * shared ring and on the Unix socket; {@code len} payload bytes follow it. {@code type} is a
 * {@link XenStoreOp}.
 * 16 bytes, the same in both guest forms.
 *
 * <pre>
 *  0 type         u32
 *  4 req_id       u32
 *  8 tx_id        u32
 * 12 len          u32
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class XsdSockmsg {
    private XsdSockmsg() {
    }

    /** {@code XENSTORE_PAYLOAD_MAX}: the largest payload a message may carry. */
    public static final int PAYLOAD_MAX = 4096;
    /** {@code XENSTORE_ABS_PATH_MAX}: the longest absolute path. */
    public static final int ABS_PATH_MAX = 3072;
    /** {@code XENSTORE_REL_PATH_MAX}: the longest relative path. */
    public static final int REL_PATH_MAX = 2048;

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                U32.withName("type"),
                U32.withName("req_id"),
                U32.withName("tx_id"),
                U32.withName("len")).withName("xsd_sockmsg");
    }

    private static final long TYPE = CTypes.offset(L64, "type");
    private static final long REQ_ID = CTypes.offset(L64, "req_id");
    private static final long TX_ID = CTypes.offset(L64, "tx_id");
    private static final long LEN = CTypes.offset(L64, "len");

    /** The layout of the given guest form (the forms differ at most in alignment). */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 16 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfType(WordSize w) { return TYPE; }
    public static long offsetOfReqId(WordSize w) { return REQ_ID; }
    public static long offsetOfTxId(WordSize w) { return TX_ID; }
    public static long offsetOfLen(WordSize w) { return LEN; }

    public static int type(MemorySegment seg) { return getU32(seg, TYPE); }
    public static void setType(MemorySegment seg, int value) { setU32(seg, TYPE, value); }
    public static int reqId(MemorySegment seg) { return getU32(seg, REQ_ID); }
    public static void setReqId(MemorySegment seg, int value) { setU32(seg, REQ_ID, value); }
    public static int txId(MemorySegment seg) { return getU32(seg, TX_ID); }
    public static void setTxId(MemorySegment seg, int value) { setU32(seg, TX_ID, value); }
    public static int len(MemorySegment seg) { return getU32(seg, LEN); }
    public static void setLen(MemorySegment seg, int value) { setU32(seg, LEN, value); }
}

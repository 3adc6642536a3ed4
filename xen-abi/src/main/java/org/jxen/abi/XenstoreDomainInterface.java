package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.Objects;

/**
 * {@code struct xenstore_domain_interface} ({@code xen/io/xs_wire.h}): the XenStore ring page,
 * a request ring and a response ring of {@link #RING_SIZE} bytes each with free-running
 * producer/consumer indices (a byte's slot is {@code index & (RING_SIZE - 1)}), followed by the
 * reconnection fields. 2076 bytes, the same in both forms.
 *
 * <pre>
 *    0 req[1024]        u8
 * 1024 rsp[1024]        u8
 * 2048 req_cons         u32
 * 2052 req_prod         u32
 * 2056 rsp_cons         u32
 * 2060 rsp_prod         u32
 * 2064 server_features  u32
 * 2068 connection       u32
 * 2072 error            u32
 * </pre>
 *
 * <p>Stateless, safe from any thread. The accessors are plain reads and writes: the ring protocol's
 * barriers are the caller's.
 */
public final class XenstoreDomainInterface {
    private XenstoreDomainInterface() {
    }

    /** {@code XENSTORE_RING_SIZE}: bytes in each ring. */
    public static final int RING_SIZE = 1024;

    /** {@code XENSTORE_SERVER_FEATURE_RECONNECTION}: a {@code server_features} bit, the server can reset the ring. */
    public static final int SERVER_FEATURE_RECONNECTION = 1;
    /** {@code XENSTORE_SERVER_FEATURE_ERROR}: a {@code server_features} bit, the server reports in {@code error}. */
    public static final int SERVER_FEATURE_ERROR = 2;

    /** {@code XENSTORE_CONNECTED}: the {@code connection} value in the steady state. */
    public static final int CONNECTED = 0;
    /** {@code XENSTORE_RECONNECT}: the {@code connection} value while the guest asks for a reset. */
    public static final int RECONNECT = 1;

    /** {@code XENSTORE_ERROR_NONE}: the {@code error} value of a healthy ring. */
    public static final int ERROR_NONE = 0;
    /** {@code XENSTORE_ERROR_COMM}: the server stopped serving the ring after a communication problem. */
    public static final int ERROR_COMM = 1;
    /** {@code XENSTORE_ERROR_RINGIDX}: the server stopped serving the ring because an index was impossible. */
    public static final int ERROR_RINGIDX = 2;
    /** {@code XENSTORE_ERROR_PROTO}: the server stopped serving the ring after a protocol violation (too long a payload). */
    public static final int ERROR_PROTO = 3;

    private static final StructLayout L64 = MemoryLayout.structLayout(
            bytes(RING_SIZE).withName("req"),
            bytes(RING_SIZE).withName("rsp"),
            U32.withName("req_cons"),
            U32.withName("req_prod"),
            U32.withName("rsp_cons"),
            U32.withName("rsp_prod"),
            U32.withName("server_features"),
            U32.withName("connection"),
            U32.withName("error")).withName("xenstore_domain_interface");
    private static final StructLayout L32 = L64;

    private static final long REQ = CTypes.offset(L64, "req");
    private static final long RSP = CTypes.offset(L64, "rsp");
    private static final long REQ_CONS = CTypes.offset(L64, "req_cons");
    private static final long REQ_PROD = CTypes.offset(L64, "req_prod");
    private static final long RSP_CONS = CTypes.offset(L64, "rsp_cons");
    private static final long RSP_PROD = CTypes.offset(L64, "rsp_prod");
    private static final long SERVER_FEATURES = CTypes.offset(L64, "server_features");
    private static final long CONNECTION = CTypes.offset(L64, "connection");
    private static final long ERROR = CTypes.offset(L64, "error");

    /** The layout; identical for both guest forms. */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 2076 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    /** The ring slot of a free-running index: {@code index & (RING_SIZE - 1)}. */
    public static int ringSlot(int index) {
        return index & (RING_SIZE - 1);
    }

    public static long offsetOfReq(WordSize w) { return REQ; }
    public static long offsetOfRsp(WordSize w) { return RSP; }
    public static long offsetOfReqCons(WordSize w) { return REQ_CONS; }
    public static long offsetOfReqProd(WordSize w) { return REQ_PROD; }
    public static long offsetOfRspCons(WordSize w) { return RSP_CONS; }
    public static long offsetOfRspProd(WordSize w) { return RSP_PROD; }
    public static long offsetOfServerFeatures(WordSize w) { return SERVER_FEATURES; }
    public static long offsetOfConnection(WordSize w) { return CONNECTION; }
    public static long offsetOfError(WordSize w) { return ERROR; }

    /** {@code req[slot]}, slot 0..1023. */
    public static int req(MemorySegment seg, int slot) { return getU8(seg, REQ + Objects.checkIndex(slot, RING_SIZE)); }
    public static void setReq(MemorySegment seg, int slot, int value) { setU8(seg, REQ + Objects.checkIndex(slot, RING_SIZE), value); }
    /** {@code rsp[slot]}, slot 0..1023. */
    public static int rsp(MemorySegment seg, int slot) { return getU8(seg, RSP + Objects.checkIndex(slot, RING_SIZE)); }
    public static void setRsp(MemorySegment seg, int slot, int value) { setU8(seg, RSP + Objects.checkIndex(slot, RING_SIZE), value); }

    public static int reqCons(MemorySegment seg) { return getU32(seg, REQ_CONS); }
    public static void setReqCons(MemorySegment seg, int value) { setU32(seg, REQ_CONS, value); }
    public static int reqProd(MemorySegment seg) { return getU32(seg, REQ_PROD); }
    public static void setReqProd(MemorySegment seg, int value) { setU32(seg, REQ_PROD, value); }
    public static int rspCons(MemorySegment seg) { return getU32(seg, RSP_CONS); }
    public static void setRspCons(MemorySegment seg, int value) { setU32(seg, RSP_CONS, value); }
    public static int rspProd(MemorySegment seg) { return getU32(seg, RSP_PROD); }
    public static void setRspProd(MemorySegment seg, int value) { setU32(seg, RSP_PROD, value); }
    public static int serverFeatures(MemorySegment seg) { return getU32(seg, SERVER_FEATURES); }
    public static void setServerFeatures(MemorySegment seg, int value) { setU32(seg, SERVER_FEATURES, value); }
    public static int connection(MemorySegment seg) { return getU32(seg, CONNECTION); }
    public static void setConnection(MemorySegment seg, int value) { setU32(seg, CONNECTION, value); }
    public static int error(MemorySegment seg) { return getU32(seg, ERROR); }
    public static void setError(MemorySegment seg, int value) { setU32(seg, ERROR, value); }
}

package org.jxen.hypercalls.xenstore;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenstoreDomainInterface;
import org.jxen.gpc.GuestMemory;

/**
 * The guest's side of a XenStore ring, simulated through guest-physical memory: produces requests
 * into {@code req} (as little as one byte at a time), consumes {@code rsp}, and parses what it
 * consumed into messages. Used by one test thread at a time.
 */
final class XsRingGuest {
    static final WordSize W = WordSize.BITS_64;
    static final long REQ = XenstoreDomainInterface.offsetOfReq(W);
    static final long RSP = XenstoreDomainInterface.offsetOfRsp(W);
    static final long REQ_CONS = XenstoreDomainInterface.offsetOfReqCons(W);
    static final long REQ_PROD = XenstoreDomainInterface.offsetOfReqProd(W);
    static final long RSP_CONS = XenstoreDomainInterface.offsetOfRspCons(W);
    static final long RSP_PROD = XenstoreDomainInterface.offsetOfRspProd(W);
    static final long ERROR = XenstoreDomainInterface.offsetOfError(W);
    static final long SERVER_FEATURES = XenstoreDomainInterface.offsetOfServerFeatures(W);

    final GuestMemory memory;
    final long base;
    int reqProd;
    int rspCons;
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private byte[] pending = new byte[0];

    XsRingGuest(GuestMemory memory, long base) {
        this.memory = memory;
        this.base = base;
    }

    /** Sets all four indices to {@code start} (before the ring is first serviced). */
    void startAt(int start) {
        reqProd = start;
        rspCons = start;
        memory.putInt(base + REQ_CONS, start);
        memory.putInt(base + REQ_PROD, start);
        memory.putInt(base + RSP_CONS, start);
        memory.putInt(base + RSP_PROD, start);
    }

    /** Room in the request ring. */
    int space() {
        int cons = memory.getIntAcquire(base + REQ_CONS);
        return XenstoreDomainInterface.RING_SIZE - (reqProd - cons);
    }

    /** Writes up to {@code max} bytes of {@code data} from {@code from}; returns how many. */
    int write(byte[] data, int from, int max) {
        int n = Math.min(Math.min(space(), max), data.length - from);
        for (int i = 0; i < n; i++) {
            memory.putByte(base + REQ + ((reqProd + i) & (XenstoreDomainInterface.RING_SIZE - 1)), data[from + i]);
        }
        reqProd += n;
        memory.putIntRelease(base + REQ_PROD, reqProd);
        return n;
    }

    /** Consumes up to {@code max} response bytes; returns how many. */
    int read(int max) {
        int prod = memory.getIntAcquire(base + RSP_PROD);
        int n = Math.min(prod - rspCons, max);
        for (int i = 0; i < n; i++) {
            received.write(memory.getByte(base + RSP + ((rspCons + i) & (XenstoreDomainInterface.RING_SIZE - 1))));
        }
        rspCons += n;
        memory.putIntRelease(base + RSP_CONS, rspCons);
        return n;
    }

    int readAll() {
        return read(Integer.MAX_VALUE);
    }

    /** The complete messages received so far (and not returned before). */
    List<XenStoreMessage> messages() {
        byte[] got = received.toByteArray();
        received.reset();
        byte[] all = new byte[pending.length + got.length];
        System.arraycopy(pending, 0, all, 0, pending.length);
        System.arraycopy(got, 0, all, pending.length, got.length);
        List<XenStoreMessage> out = new ArrayList<>();
        int at = 0;
        while (all.length - at >= XenStoreMessage.HEADER_SIZE) {
            int len = XenStoreMessage.getU32(all, at + 12);
            if (all.length - at - XenStoreMessage.HEADER_SIZE < len) {
                break;
            }
            byte[] payload = new byte[len];
            System.arraycopy(all, at + XenStoreMessage.HEADER_SIZE, payload, 0, len);
            out.add(new XenStoreMessage(XenStoreMessage.getU32(all, at), XenStoreMessage.getU32(all, at + 4),
                    XenStoreMessage.getU32(all, at + 8), payload));
            at += XenStoreMessage.HEADER_SIZE + len;
        }
        pending = java.util.Arrays.copyOfRange(all, at, all.length);
        return out;
    }

    int error() {
        return memory.getInt(base + ERROR);
    }
}

package org.jxen.hypercalls.xenstore;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenstoreDomainInterface;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.MappedArea;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The XenStore transport of one guest: {@code struct xenstore_domain_interface} in the guest's
 * store page, a request ring and a response ring of 1024 bytes with free-running indices (a
 * byte's slot is {@code index & 1023}). The guest produces requests and consumes responses; this
 * class consumes requests and produces responses and watch events, through a
 * {@link GfnToPfnCache} on the page.
 *
 * <p>When {@link #kick()}ed (the guest signalled the store event channel) it takes every byte
 * the guest has produced, assembling messages that arrive in pieces over several kicks and across
 * the ring's wrap, hands each complete request to the store, and writes what the store answers,
 * in pieces when the response ring is full (continuing on a later kick, which the guest sends
 * after it frees space). After it consumed or produced anything it runs {@code notify}, which
 * should raise the domain's store event-channel port. A new request is taken only once everything
 * owed to the guest is in the ring: a guest that stops reading stops being served, and its queue
 * stays bounded.
 *
 * <p>Memory ordering: {@code req_prod} and {@code rsp_cons} are read with acquire, so the bytes
 * the guest wrote before publishing them are seen; {@code req_cons} and {@code rsp_prod} are
 * written with release, after the bytes they cover were read or written. The indices this side
 * owns ({@code req_cons}, {@code rsp_prod}) are kept here, not re-read from guest memory.
 *
 * <p>The guest is untrusted: an impossible index (more than 1024 bytes outstanding) or a payload
 * longer than 4096 bytes makes the ring <em>broken</em>: it is logged, the page's {@code error}
 * field is set ({@link XenstoreDomainInterface#ERROR_RINGIDX} or
 * {@link XenstoreDomainInterface#ERROR_PROTO}; the page advertises
 * {@link XenstoreDomainInterface#SERVER_FEATURE_ERROR}), the connection is closed and nothing
 * more is read or written. A page that cannot be mapped now is retried on the next kick.
 *
 * <p>Threads: {@link #kick()} may be called from any thread (a vCPU's event-channel send, an
 * event loop, the store's output callback) that holds no gfn-to-pfn cache; it never blocks on
 * another kicker: one thread at a time services the ring and the others leave a request that the
 * servicing thread picks up before it stops. Requests are processed on the servicing thread.
 * {@link #close()} may be called from any thread not inside a cache.
 */
public final class XenStoreRing implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(XenStoreRing.class);

    private static final int SIZE = XenstoreDomainInterface.RING_SIZE;
    private static final WordSize W = WordSize.BITS_64; // the layout is the same in both forms
    private static final long REQ = XenstoreDomainInterface.offsetOfReq(W);
    private static final long RSP = XenstoreDomainInterface.offsetOfRsp(W);
    private static final long REQ_CONS = XenstoreDomainInterface.offsetOfReqCons(W);
    private static final long REQ_PROD = XenstoreDomainInterface.offsetOfReqProd(W);
    private static final long RSP_CONS = XenstoreDomainInterface.offsetOfRspCons(W);
    private static final long RSP_PROD = XenstoreDomainInterface.offsetOfRspProd(W);
    private static final long SERVER_FEATURES = XenstoreDomainInterface.offsetOfServerFeatures(W);
    private static final long ERROR = XenstoreDomainInterface.offsetOfError(W);

    private final GfnToPfnCache cache;
    private final XenStoreConnection connection;
    private final Runnable notify;
    private final int domid;

    /** Set by kick(); cleared by the servicing thread before each pass. */
    private final AtomicBoolean requested = new AtomicBoolean();
    /** Held by the thread that services the ring. */
    private final AtomicBoolean serving = new AtomicBoolean();
    private final AtomicInteger requestsHandled = new AtomicInteger();
    private volatile boolean closed;
    private volatile int brokenReason = XenstoreDomainInterface.ERROR_NONE;

    // ---- owned by the servicing thread (handed over through `serving`) ----
    private boolean started;
    private int reqCons;
    private int rspProd;
    /** The request being assembled: header, then payload. */
    private final byte[] header = new byte[XenStoreMessage.HEADER_SIZE];
    private int headerFill;
    private byte[] payload;
    private int payloadFill;
    /** The message being written to the response ring, and how much of it is written. */
    private byte[] outgoing;
    private int outgoingSent;

    /**
     * Serves domain {@code domid}'s store page at {@code storeGpa} (page aligned) in {@code memory},
     * as a new connection of {@code store}. {@code notify} raises the guest's store event channel;
     * it must not block.
     */
    public XenStoreRing(GuestMemory memory, long storeGpa, XenStore store, int domid, Runnable notify) {
        if ((storeGpa & 0xFFF) != 0 || storeGpa < 0) {
            throw new IllegalArgumentException("store page gpa 0x" + Long.toHexString(storeGpa) + " is not a page");
        }
        this.domid = domid;
        this.notify = Objects.requireNonNull(notify);
        this.cache = memory.newCache("xenstore ring of dom" + domid);
        GpcStatus st = cache.activate(storeGpa, XenstoreDomainInterface.sizeof(W));
        if (st != GpcStatus.OK && st != GpcStatus.NOT_BACKED) {
            LOG.warn("xenstore: dom{} store page at 0x{} cannot be mapped now: {}", domid, Long.toHexString(storeGpa), st);
        }
        this.connection = store.connect(domid, this::kick);
    }

    /** The store connection of this ring (its domid is the guest's). */
    public XenStoreConnection connection() {
        return connection;
    }

    /** Whether the guest broke the protocol and the ring is no longer served. */
    public boolean isBroken() {
        return brokenReason != XenstoreDomainInterface.ERROR_NONE;
    }

    /** The {@code XENSTORE_ERROR_*} value the ring broke with, or {@code ERROR_NONE}. */
    public int brokenReason() {
        return brokenReason;
    }

    /** How many complete requests were handed to the store. */
    public int requestsHandled() {
        return requestsHandled.get();
    }

    /**
     * The guest signalled: consume its requests and produce what is owed to it. Returns at once if
     * another thread is servicing the ring (that thread does the work).
     */
    public void kick() {
        requested.set(true);
        while (requested.get() && serving.compareAndSet(false, true)) {
            boolean progress = false;
            try {
                while (requested.getAndSet(false)) {
                    progress |= service();
                }
            } finally {
                serving.set(false);
            }
            if (progress && !closed && !isBroken()) {
                notify.run();
            }
        }
    }

    /** Stops serving and closes the connection. Idempotent. */
    @Override
    public void close() {
        closed = true;
        connection.close();
        cache.deactivate();
    }

    // ------------------------------------------------------------------ servicing (one thread at a time)

    /** One pass: returns whether any index moved. */
    private boolean service() {
        boolean progress = false;
        while (!closed && !isBroken() && !connection.isClosed()) {
            MappedArea area = cache.lock();
            if (area == null) {
                LOG.debug("xenstore: dom{} store page not mapped now ({}); retrying on the next kick", domid,
                        cache.lastStatus());
                return progress;
            }
            boolean moved;
            boolean complete;
            try {
                if (!started) {
                    reqCons = area.getIntAcquire(REQ_CONS);
                    rspProd = area.getIntAcquire(RSP_PROD);
                    area.putIntVolatile(SERVER_FEATURES, XenstoreDomainInterface.SERVER_FEATURE_ERROR);
                    started = true;
                }
                moved = writeResponses(area);
                complete = false;
                if (!isBroken() && outgoing == null && !connection.hasOutput()) {
                    int before = reqCons;
                    complete = readRequest(area);
                    moved |= reqCons != before;
                }
            } finally {
                cache.unlock();
            }
            progress |= moved;
            if (isBroken()) {
                connection.close(); // outside the cache's critical section
                return progress;
            }
            if (complete) {
                XenStoreMessage m = new XenStoreMessage(XenStoreMessage.getU32(header, 0),
                        XenStoreMessage.getU32(header, 4), XenStoreMessage.getU32(header, 8), payload);
                headerFill = 0;
                payload = null;
                payloadFill = 0;
                requestsHandled.incrementAndGet();
                connection.process(m);
                continue; // write its reply, then look for the next request
            }
            if (!moved) {
                return progress;
            }
        }
        return progress;
    }

    /** Writes queued output into the response ring while there is room; returns whether rsp_prod moved. */
    private boolean writeResponses(MappedArea area) {
        int rspCons = area.getIntAcquire(RSP_CONS);
        int used = rspProd - rspCons;
        if (Integer.compareUnsigned(used, SIZE) > 0) {
            broken(area, XenstoreDomainInterface.ERROR_RINGIDX, "rsp_cons " + Integer.toUnsignedString(rspCons)
                    + " is more than a ring behind rsp_prod " + Integer.toUnsignedString(rspProd));
            return false;
        }
        int start = rspProd;
        int room = SIZE - used;
        while (room > 0) {
            if (outgoing == null) {
                XenStoreMessage m = connection.pollOutput();
                if (m == null) {
                    break;
                }
                outgoing = m.toBytes();
                outgoingSent = 0;
            }
            int n = Math.min(room, outgoing.length - outgoingSent);
            for (int i = 0; i < n; i++) {
                area.putByte(RSP + ((rspProd + i) & (SIZE - 1)), outgoing[outgoingSent + i]);
            }
            rspProd += n;
            room -= n;
            outgoingSent += n;
            if (outgoingSent == outgoing.length) {
                outgoing = null;
            }
        }
        if (rspProd != start) {
            area.putIntRelease(RSP_PROD, rspProd);
            return true;
        }
        return false;
    }

    /**
     * Reads request bytes into the message being assembled, up to the end of that message; returns
     * whether it is complete.
     */
    private boolean readRequest(MappedArea area) {
        int reqProd = area.getIntAcquire(REQ_PROD);
        int available = reqProd - reqCons;
        if (Integer.compareUnsigned(available, SIZE) > 0) {
            broken(area, XenstoreDomainInterface.ERROR_RINGIDX, "req_prod " + Integer.toUnsignedString(reqProd)
                    + " is more than a ring ahead of req_cons " + Integer.toUnsignedString(reqCons));
            return false;
        }
        int taken = 0;
        boolean complete = false;
        while (taken < available) {
            if (headerFill < header.length) {
                header[headerFill++] = area.getByte(REQ + ((reqCons + taken) & (SIZE - 1)));
                taken++;
                if (headerFill == header.length) {
                    int len = XenStoreMessage.getU32(header, 12);
                    if (!XenStoreMessage.isValidLength(len)) {
                        reqCons += taken;
                        area.putIntRelease(REQ_CONS, reqCons);
                        broken(area, XenstoreDomainInterface.ERROR_PROTO, "request payload of "
                                + Integer.toUnsignedString(len) + " bytes (max 4096)");
                        return false;
                    }
                    payload = new byte[len];
                    payloadFill = 0;
                }
            } else {
                payload[payloadFill++] = area.getByte(REQ + ((reqCons + taken) & (SIZE - 1)));
                taken++;
            }
            if (headerFill == header.length && payloadFill == payload.length) {
                complete = true;
                break;
            }
        }
        if (taken > 0) {
            reqCons += taken;
            area.putIntRelease(REQ_CONS, reqCons);
        }
        return complete;
    }

    private void broken(MappedArea area, int reason, String why) {
        brokenReason = reason;
        area.putIntVolatile(ERROR, reason);
        LOG.warn("xenstore: dom{} broke the ring protocol ({}); no longer serving it", domid, why);
    }

    @Override
    public String toString() {
        return "xenstore ring of dom" + domid + (isBroken() ? " (broken " + brokenReason + ")" : "");
    }
}

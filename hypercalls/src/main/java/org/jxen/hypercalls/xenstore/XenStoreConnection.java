package org.jxen.hypercalls.xenstore;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client of the {@link XenStore}: a guest's ring or a socket connection. It knows the peer's
 * domid (0 is privileged), holds the peer's watches and open transactions, and queues what the
 * store sends to the peer (replies and watch events) until the transport takes it with
 * {@link #pollOutput()}.
 *
 * <p>A transport feeds complete requests to {@link #process(XenStoreMessage)}, then drains
 * {@link #pollOutput()}. Output can also appear without a request of this connection (a watch
 * fires because another client changed a node): then the {@code outputReady} callback given to
 * {@link XenStore#connect} runs, on the thread that made the change and after the store's lock is
 * released; it must not block, and should make the transport drain (for example by scheduling a
 * flush on its own thread).
 *
 * <p>Threads: {@link #process} may be called from any thread (it takes the store's lock; replies
 * are queued in request order as long as one thread at a time feeds a connection, which a transport
 * does naturally). {@link #pollOutput}, {@link #hasOutput} and the counters may be called from any
 * thread; the output queue has its own lock. Watches and transactions are guarded by the store's
 * lock.
 */
public final class XenStoreConnection {
    private static final Logger LOG = LoggerFactory.getLogger(XenStoreConnection.class);

    private final XenStore store;
    private final int domid;
    private final Runnable outputReady;
    private final String name;

    // guarded by the store's lock
    final List<XenStore.Watch> watches = new ArrayList<>();
    final Map<Integer, XenStore.Transaction> transactions = new LinkedHashMap<>();
    int nextTransactionId = 1;
    private volatile boolean closed;

    // guarded by `out`
    private final ArrayDeque<XenStoreMessage> out = new ArrayDeque<>();
    private int outBytes;
    private long droppedEvents;

    XenStoreConnection(XenStore store, int domid, String name, Runnable outputReady) {
        this.store = store;
        this.domid = domid;
        this.name = name;
        this.outputReady = outputReady;
    }

    /** The peer's domid. */
    public int domid() {
        return domid;
    }

    /** Whether the peer is privileged (dom0): it may do everything and has no quotas. */
    public boolean isPrivileged() {
        return domid == 0;
    }

    /** A name for logs. */
    public String name() {
        return name;
    }

    /**
     * Handles one request from the peer and queues the reply (and any watch events) for
     * {@link #pollOutput()}. Never throws for anything in the message: a bad request gets an
     * {@code ERROR} reply. Ignored after {@link #close()}.
     */
    public void process(XenStoreMessage request) {
        store.process(this, request);
    }

    /** The next message for the peer, or null. */
    public XenStoreMessage pollOutput() {
        synchronized (out) {
            XenStoreMessage m = out.poll();
            if (m != null) {
                outBytes -= wireSize(m);
            }
            return m;
        }
    }

    /** Whether messages are waiting for the peer. */
    public boolean hasOutput() {
        synchronized (out) {
            return !out.isEmpty();
        }
    }

    /** Bytes (headers included) queued for the peer. */
    public int queuedBytes() {
        synchronized (out) {
            return outBytes;
        }
    }

    /** Watch events dropped because the peer did not take its output. */
    public long droppedEvents() {
        synchronized (out) {
            return droppedEvents;
        }
    }

    /** The number of watches the peer holds. */
    public int watchCount() {
        return store.locked(watches::size);
    }

    /** The number of transactions the peer has open. */
    public int transactionCount() {
        return store.locked(transactions::size);
    }

    /** Whether the connection was closed (by its transport, or because its domain was released). */
    public boolean isClosed() {
        return closed;
    }

    /** Closes the connection: its watches and transactions go, queued output is discarded. Idempotent. */
    public void close() {
        store.disconnect(this);
    }

    // ------------------------------------------------------------------ for the store (under its lock)

    void markClosed() {
        closed = true;
        synchronized (out) {
            out.clear();
            outBytes = 0;
        }
    }

    void queueReply(XenStoreMessage m) {
        synchronized (out) {
            out.add(m);
            outBytes += wireSize(m);
        }
    }

    /** Queues a watch event unless the queue is over its limit; returns whether it was queued. */
    boolean queueEvent(XenStoreMessage m, int limit) {
        synchronized (out) {
            if (outBytes + wireSize(m) > limit) {
                if (droppedEvents++ == 0 || Long.bitCount(droppedEvents) == 1) {
                    LOG.warn("xenstore: {} does not take its output ({} bytes queued): {} watch event(s) dropped",
                            name, outBytes, droppedEvents);
                }
                return false;
            }
            out.add(m);
            outBytes += wireSize(m);
            return true;
        }
    }

    void signalOutput() {
        if (!closed) {
            outputReady.run();
        }
    }

    private static int wireSize(XenStoreMessage m) {
        return XenStoreMessage.HEADER_SIZE + m.payload().length;
    }

    @Override
    public String toString() {
        return name;
    }
}

package org.jxen.hypercalls.xenstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.jxen.abi.XenStoreOp;

/** A test client on a {@link XenStoreConnection}: sends requests, sorts output into replies and watch events. */
final class XsClient {
    final XenStoreConnection conn;
    final List<XenStoreMessage> events = new ArrayList<>();
    final AtomicInteger wakeups = new AtomicInteger();
    private int nextReqId = 100;

    XsClient(XenStore store, int domid) {
        this.conn = store.connect(domid, () -> { });
    }

    XsClient(XenStore store, int domid, boolean countWakeups) {
        this.conn = store.connect(domid, wakeups::incrementAndGet);
    }

    /** Sends a request and returns its reply (watch events that arrive are kept in {@link #events}). */
    XenStoreMessage send(int type, int txId, byte[] payload) {
        int reqId = nextReqId++;
        conn.process(new XenStoreMessage(type, reqId, txId, payload));
        XenStoreMessage reply = null;
        for (XenStoreMessage m; (m = conn.pollOutput()) != null; ) {
            if (m.type() == XenStoreOp.WATCH_EVENT) {
                assertEquals(0, m.reqId(), "watch events carry req_id 0");
                events.add(m);
            } else {
                if (reply != null) {
                    fail("two replies to one request: " + reply + " and " + m);
                }
                assertEquals(reqId, m.reqId(), "the reply echoes req_id");
                assertEquals(txId, m.txId(), "the reply echoes tx_id");
                reply = m;
            }
        }
        assertNotNull(reply, "no reply");
        return reply;
    }

    XenStoreMessage send(int type, int txId, String... strings) {
        return send(type, txId, XenStoreMessage.nulTerminated(strings));
    }

    /** The reply's text: "OK", a value, or an error name (for errors, see {@link #isError}). */
    String call(int type, String... strings) {
        return text(send(type, 0, strings));
    }

    String callTx(int txId, int type, String... strings) {
        return text(send(type, txId, strings));
    }

    static String text(XenStoreMessage m) {
        return m.type() == XenStoreOp.ERROR ? "ERROR " + m.text() : m.text();
    }

    static boolean isError(XenStoreMessage m) {
        return m.type() == XenStoreOp.ERROR;
    }

    String read(String path) {
        return call(XenStoreOp.READ, path);
    }

    String write(String path, String value) {
        return writeTx(0, path, value);
    }

    String writeTx(int txId, String path, String value) {
        byte[] p = XenStoreMessage.nulTerminated(path);
        byte[] v = value.getBytes(StandardCharsets.ISO_8859_1);
        byte[] payload = Arrays.copyOf(p, p.length + v.length);
        System.arraycopy(v, 0, payload, p.length, v.length);
        return text(send(XenStoreOp.WRITE, txId, payload));
    }

    String mkdir(String path) {
        return call(XenStoreOp.MKDIR, path);
    }

    String rm(String path) {
        return call(XenStoreOp.RM, path);
    }

    /** The children, or the error text as a one-element list. */
    List<String> dir(String path) {
        XenStoreMessage m = send(XenStoreOp.DIRECTORY, 0, path);
        if (isError(m)) {
            return List.of(text(m));
        }
        List<String> s = m.strings();
        return s == null ? List.of() : s;
    }

    List<String> perms(String path) {
        XenStoreMessage m = send(XenStoreOp.GET_PERMS, 0, path);
        return isError(m) ? List.of(text(m)) : m.strings();
    }

    String setPerms(String path, String... perms) {
        String[] all = new String[perms.length + 1];
        all[0] = path;
        System.arraycopy(perms, 0, all, 1, perms.length);
        return call(XenStoreOp.SET_PERMS, all);
    }

    String watch(String path, String token) {
        return call(XenStoreOp.WATCH, path, token);
    }

    String unwatch(String path, String token) {
        return call(XenStoreOp.UNWATCH, path, token);
    }

    int start() {
        XenStoreMessage m = send(XenStoreOp.TRANSACTION_START, 0, "");
        assertEquals(XenStoreOp.TRANSACTION_START, m.type(), () -> "TRANSACTION_START failed: " + text(m));
        return Integer.parseUnsignedInt(m.text());
    }

    String end(int txId, boolean commit) {
        return text(send(XenStoreOp.TRANSACTION_END, txId, commit ? "T" : "F"));
    }

    /** Takes output that arrived without a request (watch events from other connections' changes). */
    void drain() {
        for (XenStoreMessage m = conn.pollOutput(); m != null; m = conn.pollOutput()) {
            XenStoreMessage got = m;
            assertEquals(XenStoreOp.WATCH_EVENT, got.type(), () -> "unexpected output " + got);
            events.add(got);
        }
    }

    /** The events received so far as "path token" strings, and forgets them. */
    List<String> takeEvents() {
        drain();
        List<String> out = new ArrayList<>();
        for (XenStoreMessage m : events) {
            List<String> s = m.strings();
            assertNotNull(s, "a watch event is NUL-terminated strings");
            assertEquals(2, s.size(), "a watch event is path and token: " + m);
            out.add(s.get(0) + " " + s.get(1));
        }
        events.clear();
        return out;
    }
}

package org.jxen.vmm.xenstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jxen.abi.XenStoreOp;
import org.jxen.hypercalls.xenstore.XenStore;
import org.jxen.hypercalls.xenstore.XenStoreMessage;
import org.jxen.hypercalls.xenstore.XenStoreQuotas;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The socket server with raw clients: good requests, and many concurrent clients sending
 * malformed, oversized, truncated, stalled, interleaved and random messages. Each bad client gets
 * an error reply or a closed connection; the server keeps serving good clients throughout.
 */
class XenStoreSocketServerTest {
    @TempDir
    Path dir;
    XenStore store;
    XenStoreSocketServer server;
    Path socket;

    @BeforeEach
    void setUp() throws IOException {
        store = new XenStore(new XenStoreQuotas(1000, 2048, 5, 128, 10, 1024, 64 * 1024));
        server = new XenStoreSocketServer(store);
        socket = dir.resolve("xs.sock");
        server.start(socket);
    }

    @AfterEach
    void tearDown() {
        server.close();
    }

    /** A raw client: writes bytes, reads whole messages with a deadline. */
    static final class RawClient implements AutoCloseable {
        final SocketChannel ch;
        final Selector selector;
        ByteBuffer in = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        RawClient(Path socket) throws IOException {
            ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
            ch.configureBlocking(false);
            selector = Selector.open();
        }

        void send(byte[] bytes) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (b.hasRemaining()) {
                if (ch.write(b) == 0) {
                    SelectionKey k = ch.register(selector, SelectionKey.OP_WRITE);
                    selector.select(100);
                    k.cancel();
                    selector.selectNow();
                    if (System.nanoTime() > deadline) {
                        throw new IOException("could not write for 20 s");
                    }
                }
            }
        }

        void send(XenStoreMessage m) throws IOException {
            send(m.toBytes());
        }

        /** The next message; null at end of stream; fails after {@code timeoutMs}. */
        XenStoreMessage read(long timeoutMs) throws IOException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            while (true) {
                XenStoreMessage m = parse();
                if (m != null) {
                    return m;
                }
                int n = ch.read(in);
                if (n < 0) {
                    return null;
                }
                if (n == 0) {
                    long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                    if (left <= 0) {
                        throw new AssertionError("no message within " + timeoutMs + " ms");
                    }
                    SelectionKey k = ch.register(selector, SelectionKey.OP_READ);
                    selector.select(Math.min(left, 100));
                    k.cancel();
                    selector.selectNow();
                }
            }
        }

        private XenStoreMessage parse() {
            if (in.position() < 16) {
                return null;
            }
            int len = in.getInt(12);
            assertTrue(len >= 0 && len <= 4096, "the server never sends more than 4096 bytes: " + len);
            if (in.position() < 16 + len) {
                return null;
            }
            byte[] payload = new byte[len];
            in.get(16, payload);
            XenStoreMessage m = new XenStoreMessage(in.getInt(0), in.getInt(4), in.getInt(8), payload);
            in.flip();
            in.position(16 + len);
            in.compact();
            return m;
        }

        XenStoreMessage call(XenStoreMessage m) throws IOException {
            send(m);
            while (true) {
                XenStoreMessage r = read(10_000);
                assertNotNull(r, "connection closed instead of answering " + m);
                if (r.type() != XenStoreOp.WATCH_EVENT) {
                    assertEquals(m.reqId(), r.reqId());
                    return r;
                }
            }
        }

        @Override
        public void close() throws IOException {
            selector.close();
            ch.close();
        }
    }

    static XenStoreMessage write(int reqId, String path, String value) {
        byte[] p = XenStoreMessage.nulTerminated(path);
        byte[] v = value.getBytes(StandardCharsets.ISO_8859_1);
        byte[] payload = Arrays.copyOf(p, p.length + v.length);
        System.arraycopy(v, 0, payload, p.length, v.length);
        return new XenStoreMessage(XenStoreOp.WRITE, reqId, 0, payload);
    }

    static XenStoreMessage strings(int type, int reqId, String... s) {
        return XenStoreMessage.ofStrings(type, reqId, 0, s);
    }

    static byte[] header(int type, int reqId, int txId, int len) {
        byte[] h = new byte[16];
        XenStoreMessage.putHeader(h, 0, type, reqId, txId, len);
        return h;
    }

    void goodClientWorks(String tag) throws IOException {
        try (RawClient c = new RawClient(socket)) {
            XenStoreMessage w = c.call(write(1, "/good/" + tag, "value-" + tag));
            assertEquals(XenStoreOp.WRITE, w.type(), w::toString);
            XenStoreMessage r = c.call(strings(XenStoreOp.READ, 2, "/good/" + tag));
            assertEquals("value-" + tag, r.text());
        }
    }

    @Test
    void servesRequestsAndTransactions() throws IOException {
        try (RawClient c = new RawClient(socket)) {
            assertEquals("OK", c.call(write(7, "/s/a", "1")).text());
            XenStoreMessage tx = c.call(strings(XenStoreOp.TRANSACTION_START, 8, ""));
            int id = Integer.parseInt(tx.text());
            XenStoreMessage wt = write(9, "/s/b", "2");
            XenStoreMessage inTx = new XenStoreMessage(wt.type(), wt.reqId(), id, wt.payload());
            XenStoreMessage r = c.call(inTx);
            assertEquals(id, r.txId(), "the reply echoes tx_id");
            assertEquals("OK", c.call(new XenStoreMessage(XenStoreOp.TRANSACTION_END, 10, id,
                    XenStoreMessage.nulTerminated("T"))).text());
            assertEquals("2", c.call(strings(XenStoreOp.READ, 11, "/s/b")).text());
            XenStoreMessage err = c.call(strings(XenStoreOp.READ, 12, "/s/none"));
            assertEquals(XenStoreOp.ERROR, err.type());
            assertEquals("ENOENT", err.text());
        }
    }

    @Test
    void watchEventsArriveFromOtherWriters() throws Exception {
        try (RawClient watcher = new RawClient(socket)) {
            assertEquals("OK", watcher.call(strings(XenStoreOp.WATCH, 1, "/w", "tok")).text());
            XenStoreMessage initial = watcher.read(5000);
            assertEquals(XenStoreOp.WATCH_EVENT, initial.type());
            assertEquals(List.of("/w", "tok"), initial.strings());
            store.write("/w/x", "1"); // from another thread: the event is pushed to the socket
            XenStoreMessage ev = watcher.read(5000);
            assertEquals(List.of("/w/x", "tok"), ev.strings());
        }
    }

    @Test
    void oversizedHeaderGetsE2bigAndIsClosed() throws IOException {
        try (RawClient c = new RawClient(socket)) {
            c.send(header(XenStoreOp.WRITE, 33, 0, 4097));
            XenStoreMessage r = c.read(5000);
            assertEquals(XenStoreOp.ERROR, r.type());
            assertEquals("E2BIG", r.text());
            assertEquals(33, r.reqId());
            assertNull(c.read(5000), "then the server closes the connection");
        }
        goodClientWorks("after-oversized");
    }

    @Test
    void exactly4096BytesIsServed() throws IOException {
        try (RawClient c = new RawClient(socket)) {
            byte[] p = XenStoreMessage.nulTerminated("/max");
            byte[] payload = new byte[4096];
            System.arraycopy(p, 0, payload, 0, p.length);
            Arrays.fill(payload, p.length, payload.length, (byte) 'm');
            assertEquals("OK", c.call(new XenStoreMessage(XenStoreOp.WRITE, 1, 0, payload)).text());
            assertEquals(4096 - p.length, c.call(strings(XenStoreOp.READ, 2, "/max")).payload().length);
        }
    }

    @Test
    void staleSocketIsReplacedButALiveOneIsNot() throws IOException {
        XenStoreSocketServer second = new XenStoreSocketServer(store);
        assertThrows(IOException.class, () -> second.start(socket));
        server.close();
        assertTrue(Files.notExists(socket), "close removes the socket file");
        Path regular = dir.resolve("file");
        Files.writeString(regular, "x");
        assertThrows(IOException.class, () -> second.start(regular));
        server.start(socket);
        goodClientWorks("restarted");
    }

    /** Each kind of bad client; returns what happened, for the summary. */
    String misbehave(int kind, Random rnd, int id) throws Exception {
        try (RawClient c = new RawClient(socket)) {
            switch (kind) {
                case 0 -> { // malformed payloads: errors, and the connection goes on
                    c.send(new XenStoreMessage(XenStoreOp.READ, 1, 0, "/no-nul".getBytes(StandardCharsets.US_ASCII)));
                    c.send(new XenStoreMessage(XenStoreOp.WRITE, 2, 0, "/no-nul".getBytes(StandardCharsets.US_ASCII)));
                    c.send(strings(77, 3, "/x"));
                    c.send(strings(XenStoreOp.WATCH, 4, "/only-path"));
                    c.send(new XenStoreMessage(XenStoreOp.TRANSACTION_END, 5, 999, XenStoreMessage.nulTerminated("T")));
                    c.send(strings(XenStoreOp.READ, 6, "/bad//path"));
                    String[] expect = {"EINVAL", "EINVAL", "ENOSYS", "EINVAL", "ENOENT", "EINVAL"};
                    for (int i = 0; i < expect.length; i++) {
                        XenStoreMessage r = c.read(10_000);
                        assertNotNull(r);
                        assertEquals(XenStoreOp.ERROR, r.type(), r::toString);
                        assertEquals(i + 1, r.reqId());
                        assertEquals(expect[i], r.text());
                    }
                    assertEquals("OK", c.call(write(7, "/bad/" + id, "still served")).text());
                    return "malformed";
                }
                case 1 -> { // oversized: E2BIG then closed (a reset also counts as closed)
                    try {
                        c.send(header(XenStoreOp.WRITE, 9, 0, 4097 + rnd.nextInt(1 << 20)));
                        if (rnd.nextBoolean()) {
                            c.send(new byte[rnd.nextInt(5000)]);
                        }
                        XenStoreMessage r = c.read(10_000);
                        if (r != null) {
                            assertEquals("E2BIG", r.text());
                            assertNull(c.read(10_000));
                        }
                        return "oversized";
                    } catch (IOException reset) {
                        return "oversized, reset";
                    }
                }
                case 2 -> { // truncated: half a message, then the client goes away
                    byte[] m = write(1, "/trunc/" + id, "x".repeat(200)).toBytes();
                    c.send(Arrays.copyOf(m, 1 + rnd.nextInt(m.length - 1)));
                    c.ch.shutdownOutput();
                    assertNull(c.read(10_000), "the server closes a client that left mid-message");
                    return "truncated";
                }
                case 3 -> { // interleaved: several messages in random fragments
                    List<XenStoreMessage> ms = new ArrayList<>();
                    for (int i = 0; i < 8; i++) {
                        ms.add(i % 2 == 0 ? write(100 + i, "/inter/" + id + "/" + i, "v" + i)
                                : strings(XenStoreOp.READ, 100 + i, "/inter/" + id + "/" + (i - 1)));
                    }
                    byte[] all = concat(ms);
                    for (int at = 0; at < all.length; ) {
                        int n = Math.min(all.length - at, 1 + rnd.nextInt(20));
                        c.send(Arrays.copyOfRange(all, at, at + n));
                        at += n;
                        if (rnd.nextInt(4) == 0) {
                            Thread.sleep(1);
                        }
                    }
                    for (int i = 0; i < 8; i++) {
                        XenStoreMessage r = c.read(10_000);
                        assertEquals(100 + i, r.reqId());
                        assertEquals(i % 2 == 0 ? "OK" : "v" + (i - 1), r.text());
                    }
                    return "interleaved";
                }
                case 4 -> { // random bytes: any replies must be well formed; then error+close or silence
                    byte[] junk = new byte[1 + rnd.nextInt(3000)];
                    rnd.nextBytes(junk);
                    try {
                        c.send(junk);
                        for (XenStoreMessage r; (r = c.read(1500)) != null; ) {
                            assertTrue(r.type() >= 0 && r.type() < XenStoreOp.TYPE_COUNT, r::toString);
                        }
                        return "garbage, closed";
                    } catch (AssertionError timeout) {
                        if (!String.valueOf(timeout.getMessage()).startsWith("no message")) {
                            throw timeout;
                        }
                        return "garbage, waiting for more"; // a short frame still incomplete
                    } catch (IOException reset) {
                        return "garbage, reset";
                    }
                }
                case 5 -> { // a watcher that never reads while others write a lot
                    c.send(strings(XenStoreOp.WATCH, 1, "/busy", "t" + id));
                    Thread.sleep(200);
                    return "non-reader";
                }
                default -> { // stalled: half a header, then nothing
                    c.send(new byte[7]);
                    Thread.sleep(300);
                    return "stalled";
                }
            }
        }
    }

    static byte[] concat(List<XenStoreMessage> ms) {
        int n = ms.stream().mapToInt(m -> m.toBytes().length).sum();
        byte[] out = new byte[n];
        int at = 0;
        for (XenStoreMessage m : ms) {
            byte[] b = m.toBytes();
            System.arraycopy(b, 0, out, at, b.length);
            at += b.length;
        }
        return out;
    }

    @Test
    void manyConcurrentBadClientsAndTheServerStillServes() throws Exception {
        long seed = Long.getLong("xs.seed", System.nanoTime());
        System.out.println("XenStoreSocketServerTest seed " + seed + " (rerun with -Dxs.seed=" + seed + ")");
        int clients = 42;
        CountDownLatch go = new CountDownLatch(1);
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> outcomes = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            int kind = i % 7;
            int id = i;
            Random rnd = new Random(seed + i);
            threads.add(Thread.ofPlatform().name("bad-client-" + i).start(() -> {
                try {
                    go.await();
                    outcomes.add(misbehave(kind, rnd, id));
                } catch (Throwable t) {
                    failures.add(new AssertionError("client " + id + " (kind " + kind + ", seed " + seed + ")", t));
                }
            }));
        }
        Thread writer = Thread.ofPlatform().name("busy-writer").start(() -> {
            try {
                go.await();
                try (RawClient w = new RawClient(socket)) {
                    for (int i = 0; i < 300; i++) {
                        assertEquals("OK", w.call(write(i, "/busy/k", "v".repeat(500))).text());
                    }
                }
            } catch (Throwable t) {
                failures.add(new AssertionError("busy writer", t));
            }
        });
        go.countDown();
        goodClientWorks("during");
        for (Thread t : threads) {
            t.join(60_000);
            assertTrue(!t.isAlive(), t.getName() + " is stuck");
        }
        writer.join(60_000);
        if (!failures.isEmpty()) {
            Throwable first = failures.peek();
            failures.stream().skip(1).forEach(first::addSuppressed);
            fail("bad clients saw wrong behaviour (seed " + seed + ")", first);
        }
        System.out.println("XenStoreSocketServerTest outcomes: " + outcomes);
        goodClientWorks("after");
        for (int i = 0; i < 400 && (server.clientCount() > 0 || store.connectionCount() > 0); i++) {
            Thread.sleep(25);
        }
        assertEquals(0, server.clientCount(), "every connection was closed on the server too");
        assertEquals(0, store.connectionCount(), "and in the store");
    }
}

package org.jxen.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jxen.gpc.GuestMemory;
import org.jxen.guests.Guests;
import org.jxen.hypercalls.console.ConsoleSink;
import org.jxen.kvm.boot.ElfImage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The demo guest's XenStore client (guests/src/main/c/lib/xenpv.c) against a small XenStore that
 * this test plays over the real ring page and event channel: GET_DOMAIN_PATH, READ and WRITE, with
 * relative paths resolved against the guest's home, as xenstored does. The XenStore core itself
 * (tree, permissions, watches, transactions) is another module's; this checks the guest's side of
 * the wire and jxen's store page and port; the run is made without its own XenStore.
 */
class DemoXenStoreTest {

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    /** The test's XenStore: one ring, served on the guest's send, answering in order. */
    static final class RingStore {
        static final int RING = 1024;
        final GuestMemory memory;
        final long page;
        final Map<String, String> tree = new ConcurrentHashMap<>();
        final List<String> requests = new ArrayList<>();
        volatile GuestRun run;
        volatile int port;
        byte[] pending = new byte[0];

        RingStore(GuestMemory memory, long page) {
            this.memory = memory;
            this.page = page;
            tree.put("/local/domain/1/domid", "1");
        }

        /** The guest sent an event: take its requests and answer them. */
        synchronized void onSend(int p) {
            int cons = memory.getInt(page + 2048);
            int prod = memory.getIntAcquire(page + 2052);
            byte[] got = new byte[prod - cons];
            for (int i = 0; i < got.length; i++) {
                got[i] = memory.getByte(page + ((cons + i) & (RING - 1)));
            }
            memory.putIntRelease(page + 2048, prod);
            byte[] all = new byte[pending.length + got.length];
            System.arraycopy(pending, 0, all, 0, pending.length);
            System.arraycopy(got, 0, all, pending.length, got.length);
            int at = 0;
            while (all.length - at >= 16) {
                java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(all, at, 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                int type = h.getInt();
                int reqId = h.getInt();
                int txId = h.getInt();
                int len = h.getInt();
                if (all.length - at - 16 < len) {
                    break;
                }
                String payload = new String(all, at + 16, len, StandardCharsets.US_ASCII);
                at += 16 + len;
                answer(type, reqId, txId, payload);
            }
            pending = java.util.Arrays.copyOfRange(all, at, all.length);
            run.domain().raise(port);
        }

        private String path(String p) {
            return p.startsWith("/") ? p : "/local/domain/1/" + p;
        }

        private void answer(int type, int reqId, int txId, String payload) {
            requests.add(type + ":" + payload.replace('\0', '|'));
            String[] parts = payload.split("\0", -1);
            int replyType = type;
            String reply;
            switch (type) {
                case 10 -> reply = "/local/domain/" + parts[0] + "\0"; // GET_DOMAIN_PATH
                case 2 -> { // READ
                    String v = tree.get(path(parts[0]));
                    if (v == null) {
                        replyType = 16;
                        reply = "ENOENT\0";
                    } else {
                        reply = v;
                    }
                }
                case 11 -> { // WRITE: path NUL value
                    int nul = payload.indexOf('\0');
                    tree.put(path(payload.substring(0, nul)), payload.substring(nul + 1));
                    reply = "OK\0";
                }
                default -> {
                    replyType = 16;
                    reply = "ENOSYS\0";
                }
            }
            byte[] body = reply.getBytes(StandardCharsets.US_ASCII);
            java.nio.ByteBuffer m = java.nio.ByteBuffer.allocate(16 + body.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            m.putInt(replyType).putInt(reqId).putInt(txId).putInt(body.length).put(body);
            int prod = memory.getInt(page + 2060);
            int cons = memory.getIntAcquire(page + 2056);
            if (prod - cons + m.capacity() > RING) {
                throw new AssertionError("the test's replies are small: the guest reads each before the next request");
            }
            for (byte b : m.array()) {
                memory.putByte(page + 1024 + (prod++ & (RING - 1)), b);
            }
            memory.putIntRelease(page + 2060, prod);
        }
    }

    @Test
    void theDemoReadsAndWritesItsXenStoreHome() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        GuestRun.Settings s = new GuestRun.Settings(64L << 20, 1, 4, 17, "", false, null);
        try (GuestRun run = GuestRun.create(s, new ConsoleSink(out))) {
            RingStore store = new RingStore(run.vm().memory(), run.storePageGpa());
            store.run = run;
            store.port = run.offerStore(store::onSend);
            run.boot(ElfImage.parse(Guests.image("demo")), "", null);
            GuestRun.Outcome o = run.awaitEnd();
            String text = out.toString(StandardCharsets.UTF_8);
            assertEquals(0, o.shutdownReason(), o + "\n" + text);
            assertTrue(text.contains("  xenstore: ring at gfn 0xfeffc, port " + store.port
                    + "; home /local/domain/1; wrote and read back data/jxen-demo: ok\n"), text);
            assertEquals("hello from the jxen demo guest", store.tree.get("/local/domain/1/data/jxen-demo"));
            assertEquals(List.of("2:domid|", "10:1|", "11:data/jxen-demo|hello from the jxen demo guest",
                    "2:data/jxen-demo|"), store.requests);
            assertTrue(text.endsWith("demo: all checks passed\n"), text);
        }
    }
}

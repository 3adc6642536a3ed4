package org.jxen.hypercalls.xenstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jxen.abi.XenStoreOp;
import org.jxen.abi.XenstoreDomainInterface;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The guest ring transport: pieces, wrap, a full response ring, notifications, and a hostile guest. */
class XsRingTest {
    static final int DOMID = 5;
    static final long STORE_GPA = 0x5000;

    HostMemory ram;
    GuestMemory memory;
    XenStore store;
    XenStoreRing ring;
    XsRingGuest guest;
    final AtomicInteger notified = new AtomicInteger();

    @BeforeEach
    void setUp() {
        ram = HostMemory.offHeap("ram", 1 << 20);
        memory = new GuestMemory("xs-ring-test");
        memory.addSlot(0, 0, ram.size(), ram, 0, 0);
        store = new XenStore();
        store.introduceDomain(XsGuestTest.info(DOMID));
        guest = new XsRingGuest(memory, STORE_GPA);
    }

    @AfterEach
    void tearDown() {
        if (ring != null) {
            ring.close();
        }
        for (var s : memory.currentMap().slots()) {
            memory.removeSlot(s.id());
        }
        ram.close();
    }

    void open() {
        ring = new XenStoreRing(memory, STORE_GPA, store, DOMID, notified::incrementAndGet);
    }

    static byte[] request(int type, int reqId, String... strings) {
        return XenStoreMessage.ofStrings(type, reqId, 0, strings).toBytes();
    }

    static byte[] writeRequest(int reqId, String path, String value) {
        byte[] p = XenStoreMessage.nulTerminated(path);
        byte[] v = value.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        byte[] payload = java.util.Arrays.copyOf(p, p.length + v.length);
        System.arraycopy(v, 0, payload, p.length, v.length);
        return new XenStoreMessage(XenStoreOp.WRITE, reqId, 0, payload).toBytes();
    }

    /** Sends whole requests (kicking after each write) and returns the replies. */
    List<XenStoreMessage> roundTrip(byte[]... requests) {
        List<XenStoreMessage> out = new ArrayList<>();
        for (byte[] r : requests) {
            int at = 0;
            while (at < r.length) {
                at += guest.write(r, at, r.length);
                ring.kick();
                guest.readAll();
                ring.kick();
                guest.readAll();
            }
        }
        ring.kick();
        guest.readAll();
        out.addAll(guest.messages());
        return out;
    }

    @Test
    void oneRequestOneReplyAndANotification() {
        open();
        guest.write(request(XenStoreOp.READ, 42, "name"), 0, 1024);
        ring.kick();
        assertTrue(notified.get() > 0);
        guest.readAll();
        List<XenStoreMessage> replies = guest.messages();
        assertEquals(1, replies.size());
        assertEquals(XenStoreOp.READ, replies.get(0).type());
        assertEquals(42, replies.get(0).reqId());
        assertEquals("guest5", replies.get(0).text());
        assertEquals(XenstoreDomainInterface.SERVER_FEATURE_ERROR, memory.getInt(STORE_GPA + XsRingGuest.SERVER_FEATURES));
        assertEquals(1, ring.requestsHandled());
        assertEquals(DOMID, ring.connection().domid());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1000, 1023, 0xFFFFFFF0, 0x7FFFFFF8})
    void byteByByteAcrossTheWrap(int start) {
        guest.startAt(start);
        open();
        byte[] all = concat(writeRequest(1, "data/k", "v".repeat(300)), request(XenStoreOp.READ, 2, "data/k"),
                request(XenStoreOp.DIRECTORY, 3, "data"), request(XenStoreOp.READ, 4, "data/missing"));
        for (int i = 0; i < all.length; ) {
            int n = guest.write(all, i, 1);
            i += n;
            ring.kick();
            guest.read(7); // take responses in small pieces too
        }
        List<XenStoreMessage> replies = new ArrayList<>(guest.messages());
        for (int spin = 0; spin < 100 && replies.size() < 4; spin++) {
            ring.kick();
            guest.read(7);
            replies.addAll(guest.messages());
        }
        assertEquals(1024, guest.space(), "every request byte consumed");
        assertEquals(4, replies.size(), replies::toString);
        assertEquals("OK", replies.get(0).text());
        assertEquals("v".repeat(300), replies.get(1).text());
        assertEquals("k", replies.get(2).text());
        assertEquals(XenStoreOp.ERROR, replies.get(3).type());
        assertEquals("ENOENT", replies.get(3).text());
        assertFalse(ring.isBroken());
    }

    @Test
    void aReplyLargerThanTheRingGoesInPieces() {
        open();
        String big = "x".repeat(2000);
        store.write("/local/domain/5/data/big", big);
        guest.write(request(XenStoreOp.READ, 9, "data/big"), 0, 1024);
        ring.kick();
        assertEquals(1024, memory.getIntAcquire(STORE_GPA + XsRingGuest.RSP_PROD) - guest.rspCons, "the ring is full");
        List<XenStoreMessage> got = new ArrayList<>();
        int rounds = 0;
        while (got.isEmpty() && rounds++ < 10) {
            guest.read(300); // the guest frees some space and signals
            ring.kick();
            got.addAll(guest.messages());
        }
        assertTrue(rounds > 3, "it took several kicks: " + rounds);
        assertEquals(1, got.size());
        assertEquals(9, got.get(0).reqId());
        assertEquals(big, got.get(0).text());
    }

    @Test
    void aGuestThatDoesNotReadStopsBeingServedUntilItDoes() {
        open();
        store.write("/local/domain/5/data/r", "y".repeat(300));
        List<byte[]> reqs = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            reqs.add(request(XenStoreOp.READ, 100 + i, "data/r"));
        }
        byte[] all = concat(reqs.toArray(byte[][]::new));
        int at = 0;
        for (int i = 0; i < 20 && at < all.length; i++) {
            at += guest.write(all, at, all.length);
            ring.kick();
        }
        assertTrue(at < all.length, "the guest is blocked: its requests are not all consumed");
        int handledWhileBlocked = ring.requestsHandled();
        ring.kick();
        assertEquals(handledWhileBlocked, ring.requestsHandled());
        assertTrue(ring.connection().queuedBytes() < 2 * 10096, "nothing piles up on the host");
        List<XenStoreMessage> replies = new ArrayList<>();
        for (int i = 0; i < 500 && replies.size() < 100; i++) {
            if (at < all.length) {
                at += guest.write(all, at, all.length);
            }
            guest.readAll();
            ring.kick();
            replies.addAll(guest.messages());
        }
        assertEquals(100, replies.size());
        for (int i = 0; i < 100; i++) {
            assertEquals(100 + i, replies.get(i).reqId(), "in order");
            assertEquals("y".repeat(300), replies.get(i).text());
        }
    }

    @Test
    void watchEventsFromOtherConnectionsArriveAndNotify() {
        open();
        List<XenStoreMessage> r = roundTrip(request(XenStoreOp.WATCH, 1, "data", "tok"));
        assertEquals(2, r.size());
        assertEquals(List.of("data", "tok"), r.get(1).strings());
        int before = notified.get();
        store.write("/local/domain/5/data/from-host", "1");
        assertTrue(notified.get() > before, "the event was pushed into the ring and the guest notified");
        guest.readAll();
        List<XenStoreMessage> ev = guest.messages();
        assertEquals(1, ev.size());
        assertEquals(XenStoreOp.WATCH_EVENT, ev.get(0).type());
        assertEquals(List.of("data/from-host", "tok"), ev.get(0).strings());
    }

    @Test
    void unknownTypesGetAnErrorAndTheRingGoesOn() {
        open();
        List<XenStoreMessage> r = roundTrip(request(999, 1, "x"), request(XenStoreOp.READ, 2, "domid"));
        assertEquals("ENOSYS", r.get(0).text());
        assertEquals(XenStoreOp.ERROR, r.get(0).type());
        assertEquals("5", r.get(1).text());
    }

    @Test
    void impossibleRequestIndexBreaksTheRing() {
        open();
        memory.putIntRelease(STORE_GPA + XsRingGuest.REQ_PROD, 2000);
        ring.kick();
        assertTrue(ring.isBroken());
        assertEquals(XenstoreDomainInterface.ERROR_RINGIDX, guest.error());
        assertEquals(XenstoreDomainInterface.ERROR_RINGIDX, ring.brokenReason());
        assertTrue(ring.connection().isClosed());
        int n = notified.get();
        ring.kick();
        assertEquals(n, notified.get());
        assertEquals(0, memory.getInt(STORE_GPA + XsRingGuest.REQ_CONS), "nothing consumed");
    }

    @Test
    void impossibleResponseIndexBreaksTheRing() {
        open();
        roundTrip(request(XenStoreOp.READ, 1, "name"));
        memory.putIntRelease(STORE_GPA + XsRingGuest.RSP_CONS, guest.rspCons + 5); // consumed more than produced
        ring.kick();
        assertTrue(ring.isBroken());
        assertEquals(XenstoreDomainInterface.ERROR_RINGIDX, guest.error());
    }

    @ParameterizedTest
    @ValueSource(ints = {4097, 65536, -1, Integer.MIN_VALUE})
    void tooLongAPayloadBreaksTheRing(int len) {
        open();
        byte[] header = new byte[16];
        XenStoreMessage.putHeader(header, 0, XenStoreOp.WRITE, 1, 0, len);
        guest.write(header, 0, 16);
        ring.kick();
        assertTrue(ring.isBroken());
        assertEquals(XenstoreDomainInterface.ERROR_PROTO, guest.error());
        assertEquals(0, ring.requestsHandled());
    }

    @Test
    void aPayloadOfExactly4096IsServed() {
        open();
        String path = "data/p";
        byte[] p = XenStoreMessage.nulTerminated(path);
        byte[] payload = new byte[4096];
        System.arraycopy(p, 0, payload, 0, p.length);
        java.util.Arrays.fill(payload, p.length, 4096, (byte) 'z');
        List<XenStoreMessage> r = roundTrip(new XenStoreMessage(XenStoreOp.WRITE, 1, 0, payload).toBytes());
        assertEquals(1, r.size());
        assertEquals("ENOSPC", r.get(0).text(), "a guest's value is limited to 2048 bytes");
        assertFalse(ring.isBroken());
    }

    @Test
    void anUnmappedPageIsRetriedLater() {
        long gpa = 0x200000; // outside the only memslot
        ring = new XenStoreRing(memory, gpa, store, DOMID, notified::incrementAndGet);
        ring.kick(); // nothing to do, nothing thrown
        assertEquals(0, notified.get());
        HostMemory more = HostMemory.offHeap("more", 0x1000);
        try {
            memory.addSlot(1, gpa, 0x1000, more, 0, 0);
            XsRingGuest g = new XsRingGuest(memory, gpa);
            g.write(request(XenStoreOp.READ, 5, "domid"), 0, 1024);
            ring.kick();
            g.readAll();
            List<XenStoreMessage> r = g.messages();
            assertEquals(1, r.size());
            assertEquals("5", r.get(0).text());
            ring.close();
            ring = null;
            memory.removeSlot(1);
        } finally {
            more.close();
        }
    }

    @Test
    void closeStopsServing() {
        open();
        ring.close();
        guest.write(request(XenStoreOp.READ, 1, "name"), 0, 1024);
        ring.kick();
        assertEquals(0, memory.getInt(STORE_GPA + XsRingGuest.RSP_PROD));
        assertTrue(ring.connection().isClosed());
        ring.close();
    }

    @Test
    void releasingTheDomainStopsServing() {
        open();
        store.releaseDomain(DOMID);
        guest.write(request(XenStoreOp.READ, 1, "name"), 0, 1024);
        ring.kick();
        assertEquals(0, memory.getInt(STORE_GPA + XsRingGuest.RSP_PROD));
    }

    @Test
    void theStorePageMustBeAPage() {
        assertThrows(IllegalArgumentException.class, () -> new XenStoreRing(memory, 0x5004, store, DOMID, () -> { }));
    }

    @Test
    void kicksFromManyThreads() throws Exception {
        open();
        int count = 300;
        ExecutorService kickers = Executors.newFixedThreadPool(3);
        try {
            List<byte[]> reqs = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                reqs.add(writeRequest(i + 1, "data/c" + (i % 20), Integer.toString(i)));
            }
            byte[] all = concat(reqs.toArray(byte[][]::new));
            int at = 0;
            List<XenStoreMessage> replies = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (replies.size() < count && System.nanoTime() < deadline) {
                if (at < all.length) {
                    at += guest.write(all, at, 1 + (at % 97));
                }
                kickers.execute(ring::kick);
                guest.readAll();
                replies.addAll(guest.messages());
            }
            assertEquals(count, replies.size());
            for (int i = 0; i < count; i++) {
                assertEquals(i + 1, replies.get(i).reqId());
                assertEquals("OK", replies.get(i).text());
            }
            assertEquals(Integer.toString(count - 1), new String(store.read("/local/domain/5/data/c" + ((count - 1) % 20))));
        } finally {
            kickers.shutdown();
            assertTrue(kickers.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}

package org.jxen.hypercalls.xenstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jxen.abi.XenStoreOp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Watches: the initial event, which changes fire which watches, relative paths, permissions, limits. */
class XsWatchTest {
    XenStore store;
    XsClient dom0;
    XsClient other;

    @BeforeEach
    void setUp() {
        store = new XenStore();
        dom0 = new XsClient(store, 0);
        other = new XsClient(store, 0, true);
    }

    @Test
    void initialEventFollowsTheOk() {
        dom0.conn.process(new XenStoreMessage(XenStoreOp.WATCH, 7, 0, XenStoreMessage.nulTerminated("/w", "tok")));
        XenStoreMessage ok = dom0.conn.pollOutput();
        assertEquals(XenStoreOp.WATCH, ok.type());
        assertEquals("OK", ok.text());
        XenStoreMessage ev = dom0.conn.pollOutput();
        assertEquals(XenStoreOp.WATCH_EVENT, ev.type());
        assertEquals(List.of("/w", "tok"), ev.strings());
        assertEquals(0, ev.reqId());
        assertEquals(0, ev.txId());
        assertEquals(null, dom0.conn.pollOutput());
    }

    @Test
    void firesForTheNodeAndItsDescendants() {
        dom0.watch("/a/b", "t");
        assertEquals(List.of("/a/b t"), dom0.takeEvents());
        dom0.write("/a/b", "1");
        dom0.write("/a/b/c/d", "2");
        dom0.write("/a/x", "sibling: no event");
        dom0.write("/a", "parent value: no event");
        dom0.write("/a/bb", "prefix but not below: no event");
        assertEquals(List.of("/a/b t", "/a/b/c/d t"), dom0.takeEvents());
    }

    @Test
    void rmFiresAncestorsWithTheRemovedPathAndDescendantsWithTheirOwn() {
        dom0.write("/r/s/t", "1");
        dom0.watch("/r", "up");
        dom0.watch("/r/s/t", "down");
        dom0.watch("/r/s/t/never/created", "deeper");
        dom0.takeEvents();
        dom0.rm("/r/s");
        List<String> ev = dom0.takeEvents();
        assertEquals(3, ev.size(), ev::toString);
        assertTrue(ev.containsAll(List.of("/r/s up", "/r/s/t down", "/r/s/t/never/created deeper")), ev::toString);
    }

    @Test
    void eventsReachOtherConnectionsAndWakeThem() {
        other.watch("/shared", "o");
        other.takeEvents();
        int before = other.wakeups.get();
        dom0.write("/shared/k", "v");
        assertTrue(other.wakeups.get() > before, "outputReady ran");
        assertEquals(List.of("/shared/k o"), other.takeEvents());
    }

    @Test
    void mkdirOfAnExistingNodeFiresNothingButSetPermsDoes() {
        dom0.write("/m", "v");
        dom0.watch("/m", "t");
        dom0.takeEvents();
        dom0.mkdir("/m");
        assertEquals(List.of(), dom0.takeEvents());
        dom0.setPerms("/m", "r0");
        assertEquals(List.of("/m t"), dom0.takeEvents());
        dom0.mkdir("/m/new");
        assertEquals(List.of("/m/new t"), dom0.takeEvents());
    }

    @Test
    void duplicateWatchIsEexistAndUnwatchStopsEvents() {
        assertEquals("OK", dom0.watch("/d", "t1"));
        assertEquals("ERROR EEXIST", dom0.watch("/d", "t1"));
        assertEquals("OK", dom0.watch("/d", "t2"));
        dom0.takeEvents();
        dom0.write("/d", "x");
        assertEquals(List.of("/d t1", "/d t2"), dom0.takeEvents());
        assertEquals("OK", dom0.unwatch("/d", "t1"));
        assertEquals("ERROR ENOENT", dom0.unwatch("/d", "t1"));
        assertEquals("ERROR ENOENT", dom0.unwatch("/other", "t2"));
        dom0.write("/d", "y");
        assertEquals(List.of("/d t2"), dom0.takeEvents());
        assertEquals(1, dom0.conn.watchCount());
    }

    @Test
    void relativeWatchesReportRelativePaths() {
        store.introduceDomain(XsGuestTest.info(5));
        XsClient g = new XsClient(store, 5);
        assertEquals("OK", g.watch("data", "rel"));
        assertEquals("OK", g.watch("/local/domain/5/data", "abs"));
        assertEquals(List.of("data rel", "/local/domain/5/data abs"), g.takeEvents());
        dom0.write("/local/domain/5/data/x", "1");
        assertEquals(List.of("data/x rel", "/local/domain/5/data/x abs"), g.takeEvents());
        assertEquals("OK", g.unwatch("data", "rel"));
        assertEquals("OK", g.unwatch("/local/domain/5/data", "abs"));
    }

    @Test
    void guestsGetEventsOnlyForNodesTheyMayRead() {
        store.introduceDomain(XsGuestTest.info(5));
        store.introduceDomain(XsGuestTest.info(6));
        XsClient g5 = new XsClient(store, 5);
        g5.watch("/local/domain", "all");
        g5.takeEvents();
        dom0.write("/local/domain/6/data/secret", "x");
        dom0.write("/local/domain/5/data/mine", "y");
        assertEquals(List.of("/local/domain/5/data/mine all"), g5.takeEvents());
        // a permission change that takes read access away still tells the watcher that had it
        dom0.write("/local/domain/5/data/going", "z");
        g5.takeEvents();
        dom0.setPerms("/local/domain/5/data/going", "n0");
        assertEquals(List.of("/local/domain/5/data/going all"), g5.takeEvents());
    }

    @Test
    void specialWatchesFireOnIntroduceAndRelease() {
        dom0.watch("@introduceDomain", "in");
        dom0.watch("@releaseDomain", "out");
        assertEquals(List.of("@introduceDomain in", "@releaseDomain out"), dom0.takeEvents());
        store.introduceDomain(XsGuestTest.info(9));
        assertEquals(List.of("@introduceDomain in"), dom0.takeEvents());
        assertEquals("OK", dom0.call(XenStoreOp.INTRODUCE, "10", "4660", "3"));
        assertEquals(List.of("@introduceDomain in"), dom0.takeEvents());
        assertEquals("OK", dom0.call(XenStoreOp.RELEASE, "10"));
        assertEquals(List.of("@releaseDomain out"), dom0.takeEvents());
        store.releaseDomain(9);
        assertEquals(List.of("@releaseDomain out"), dom0.takeEvents());
        dom0.write("/local/domain/anything", "no special event");
        assertEquals(List.of(), dom0.takeEvents());
    }

    @Test
    void guestsGetOnlyTheInitialSpecialEvent() {
        store.introduceDomain(XsGuestTest.info(5));
        XsClient g5 = new XsClient(store, 5);
        assertEquals("OK", g5.watch("@introduceDomain", "in"));
        assertEquals(List.of("@introduceDomain in"), g5.takeEvents());
        store.introduceDomain(XsGuestTest.info(6));
        assertEquals(List.of(), g5.takeEvents());
    }

    @Test
    void resetWatchesDropsWatchesAndTransactions() {
        dom0.watch("/x", "1");
        dom0.watch("/y", "2");
        int tx = dom0.start();
        dom0.takeEvents();
        assertEquals("OK", dom0.call(XenStoreOp.RESET_WATCHES));
        assertEquals(0, dom0.conn.watchCount());
        assertEquals(0, dom0.conn.transactionCount());
        dom0.write("/x", "v");
        assertEquals(List.of(), dom0.takeEvents());
        assertEquals("ERROR ENOENT", dom0.end(tx, true));
    }

    @Test
    void watchIgnoresTheTransactionId() {
        int tx = dom0.start();
        assertEquals("OK", XsClient.text(dom0.send(XenStoreOp.WATCH, tx, "/wt", "t")));
        assertEquals("OK", XsClient.text(dom0.send(XenStoreOp.WATCH, 12345, "/wt", "u")));
        dom0.takeEvents();
        dom0.write("/wt", "v");
        assertEquals(List.of("/wt t", "/wt u"), dom0.takeEvents());
    }

    @Test
    void eventsBeyondTheOutputLimitAreDroppedRepliesAreNot() {
        store = new XenStore(new XenStoreQuotas(1000, 2048, 5, 128, 10, 1024, 200));
        XsClient lazy = new XsClient(store, 0);
        XsClient writer = new XsClient(store, 0);
        lazy.watch("/flood", "t");
        lazy.takeEvents();
        // lazy takes nothing while 50 events (25 bytes each on the wire) are fired at it
        for (int i = 0; i < 50; i++) {
            writer.write("/flood", Integer.toString(i));
        }
        assertEquals(200 / 25, 50 - lazy.conn.droppedEvents());
        assertTrue(lazy.conn.queuedBytes() <= 200, "bounded: " + lazy.conn.queuedBytes());
        XenStoreMessage reply = lazy.send(XenStoreOp.READ, 0, "/flood");
        assertEquals("49", reply.text(), "the reply is queued beyond the limit");
        assertEquals(8, lazy.takeEvents().size());
    }

    @Test
    void closingAConnectionDropsItsWatches() {
        other.watch("/c", "t");
        other.conn.close();
        dom0.write("/c", "v");
        assertEquals(null, other.conn.pollOutput());
        assertEquals(0, other.conn.watchCount());
    }
}

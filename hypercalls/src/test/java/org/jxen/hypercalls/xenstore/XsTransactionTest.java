package org.jxen.hypercalls.xenstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jxen.abi.XenStoreOp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Transactions: snapshot isolation, commit, abort, conflicts (EAGAIN), ids and misuse. */
class XsTransactionTest {
    XenStore store;
    XsClient a;
    XsClient b;

    @BeforeEach
    void setUp() {
        store = new XenStore();
        a = new XsClient(store, 0);
        b = new XsClient(store, 0);
    }

    @Test
    void changesAreInvisibleUntilCommit() {
        int tx = a.start();
        assertEquals("OK", a.writeTx(tx, "/t/x", "1"));
        assertEquals("1", a.callTx(tx, XenStoreOp.READ, "/t/x"));
        assertEquals("ERROR ENOENT", b.read("/t/x"));
        assertEquals("ERROR ENOENT", a.read("/t/x"), "outside the transaction, even on the same connection");
        assertEquals("OK", a.end(tx, true));
        assertEquals("1", b.read("/t/x"));
    }

    @Test
    void aTransactionSeesItsSnapshot() {
        a.write("/s", "before");
        int tx = a.start();
        b.write("/s", "after");
        b.write("/s2", "new");
        assertEquals("before", a.callTx(tx, XenStoreOp.READ, "/s"));
        assertEquals("ERROR ENOENT", a.callTx(tx, XenStoreOp.READ, "/s2"));
        assertEquals("OK", a.end(tx, false));
    }

    @Test
    void abortDiscards() {
        int tx = a.start();
        a.writeTx(tx, "/gone", "1");
        assertEquals("OK", a.end(tx, false));
        assertEquals("ERROR ENOENT", a.read("/gone"));
        assertEquals(0, a.conn.transactionCount());
    }

    @Test
    void conflictOnANodeReadIsEagain() {
        a.write("/c", "0");
        int tx = a.start();
        assertEquals("0", a.callTx(tx, XenStoreOp.READ, "/c"));
        a.writeTx(tx, "/c2", "derived");
        b.write("/c", "1");
        assertEquals("ERROR EAGAIN", a.end(tx, true));
        assertEquals("ERROR ENOENT", a.read("/c2"), "nothing applied");
        assertEquals(0, a.conn.transactionCount(), "the transaction is over");
        assertEquals("ERROR ENOENT", a.end(tx, true));
    }

    @Test
    void conflictOnANodeFoundMissing() {
        int tx = a.start();
        assertEquals("ERROR ENOENT", a.callTx(tx, XenStoreOp.READ, "/m"));
        b.write("/m", "appeared");
        assertEquals("ERROR EAGAIN", a.end(tx, true));
    }

    @Test
    void conflictOnAListedDirectoryButNotOnADeeperValue() {
        a.write("/d/child/grandchild", "0");
        int tx = a.start();
        assertEquals(List.of("child"), List.of(a.callTx(tx, XenStoreOp.DIRECTORY, "/d").split("\0")));
        b.write("/d/child/grandchild", "1");
        assertEquals("OK", a.end(tx, true), "a value below a child does not change the listing");
        tx = a.start();
        a.callTx(tx, XenStoreOp.DIRECTORY, "/d");
        b.write("/d/second", "1");
        assertEquals("ERROR EAGAIN", a.end(tx, true));
    }

    @Test
    void disjointTransactionsBothCommit() {
        a.mkdir("/x");
        a.mkdir("/y");
        int ta = a.start();
        int tb = b.start();
        a.writeTx(ta, "/x/v", "a");
        b.writeTx(tb, "/y/v", "b");
        assertEquals("OK", a.end(ta, true));
        assertEquals("OK", b.end(tb, true));
        assertEquals("a", a.read("/x/v"));
        assertEquals("b", a.read("/y/v"));
    }

    @Test
    void writeWriteConflict() {
        a.write("/w", "0");
        int ta = a.start();
        int tb = b.start();
        a.writeTx(ta, "/w", "a");
        b.writeTx(tb, "/w", "b");
        assertEquals("OK", b.end(tb, true));
        assertEquals("ERROR EAGAIN", a.end(ta, true));
        assertEquals("b", a.read("/w"));
    }

    @Test
    void removeThenRecreateInsideOneTransaction() {
        a.write("/rr/a/b", "1");
        a.write("/rr/a/c", "2");
        int tx = a.start();
        assertEquals("OK", a.callTx(tx, XenStoreOp.RM, "/rr/a"));
        assertEquals("ERROR ENOENT", a.callTx(tx, XenStoreOp.READ, "/rr/a/b"));
        assertEquals("OK", a.writeTx(tx, "/rr/a/b", "new"));
        assertEquals("OK", a.end(tx, true), "reading below a node the transaction removed is no conflict");
        assertEquals("new", a.read("/rr/a/b"));
        assertEquals("ERROR ENOENT", a.read("/rr/a/c"));
    }

    @Test
    void allMutationsReplayOnCommit() {
        a.write("/all/old", "x");
        int tx = a.start();
        a.writeTx(tx, "/all/w", "1");
        a.callTx(tx, XenStoreOp.MKDIR, "/all/dir");
        a.callTx(tx, XenStoreOp.RM, "/all/old");
        assertEquals("OK", XsClient.text(a.send(XenStoreOp.SET_PERMS, tx, "/all/w", "r0", "b4")));
        assertEquals("OK", a.end(tx, true));
        assertEquals("1", a.read("/all/w"));
        assertEquals("", a.read("/all/dir"));
        assertEquals("ERROR ENOENT", a.read("/all/old"));
        assertEquals(List.of("r0", "b4"), a.perms("/all/w"));
    }

    @Test
    void watchesFireOnCommitOnly() {
        b.watch("/wc", "t");
        b.takeEvents();
        int tx = a.start();
        a.writeTx(tx, "/wc/x", "1");
        assertEquals(List.of(), b.takeEvents());
        a.end(tx, true);
        assertEquals(List.of("/wc/x t"), b.takeEvents());
        tx = a.start();
        a.writeTx(tx, "/wc/y", "1");
        a.end(tx, false);
        assertEquals(List.of(), b.takeEvents());
    }

    @Test
    void idsAreNonZeroDistinctAndPerConnection() {
        Set<Integer> ids = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            int tx = a.start();
            assertNotEquals(0, tx);
            assertTrue(ids.add(tx));
        }
        int mine = ids.iterator().next();
        assertEquals("ERROR ENOENT", XsClient.text(b.send(XenStoreOp.READ, mine, "/")), "another connection's id");
        assertEquals("ERROR ENOENT", XsClient.text(b.send(XenStoreOp.TRANSACTION_END, mine, "F")));
    }

    @Test
    void misuse() {
        assertEquals("ERROR ENOENT", XsClient.text(a.send(XenStoreOp.READ, 77, "/")));
        assertEquals("ERROR ENOENT", a.end(0, true), "END outside a transaction");
        assertEquals("ERROR ENOENT", a.end(99, true));
        int tx = a.start();
        assertEquals("ERROR EBUSY", XsClient.text(a.send(XenStoreOp.TRANSACTION_START, tx, "")));
        assertEquals("ERROR EINVAL", XsClient.text(a.send(XenStoreOp.TRANSACTION_END, tx, "X")));
        assertEquals("ERROR EINVAL", XsClient.text(a.send(XenStoreOp.TRANSACTION_END, tx, "T", "F")));
        assertEquals("ERROR EINVAL", XsClient.text(a.send(XenStoreOp.TRANSACTION_END, tx, new byte[] {'T'})));
        assertEquals(1, a.conn.transactionCount(), "a malformed END leaves the transaction open");
        assertEquals("OK", a.end(tx, true));
    }

    @Test
    void guestTransactionsKeepPermissions() {
        store.introduceDomain(XsGuestTest.info(5));
        XsClient g = new XsClient(store, 5);
        int tx = g.start();
        assertEquals("ERROR EACCES", g.writeTx(tx, "name", "x"));
        assertEquals("OK", g.writeTx(tx, "data/t", "1"));
        assertEquals("guest5", g.callTx(tx, XenStoreOp.READ, "name"));
        assertEquals("ERROR EACCES", g.callTx(tx, XenStoreOp.READ, "/local/domain/0"));
        assertEquals("OK", g.end(tx, true));
        assertEquals("1", g.read("data/t"));
        assertEquals(List.of("n5"), a.perms("/local/domain/5/data/t"));
    }

    @Test
    void quotaCheckedAgainOnCommit() {
        store = new XenStore(new XenStoreQuotas(20, 2048, 5, 128, 10, 1024, 1 << 20));
        a = new XsClient(store, 0);
        store.introduceDomain(XsGuestTest.info(5));
        XsClient g = new XsClient(store, 5);
        g.mkdir("data/a");
        g.mkdir("data/b");
        int room = 20 - store.nodesOwnedBy(5);
        assertTrue(room > 2, "room " + room);
        int t1 = g.start();
        int t2 = g.start();
        for (int i = 0; i < room; i++) {
            assertEquals("OK", g.writeTx(t1, "data/a/n" + i, "v"));
            assertEquals("OK", g.writeTx(t2, "data/b/n" + i, "v"));
        }
        assertEquals("OK", g.end(t1, true));
        assertEquals("ERROR ENOSPC", g.end(t2, true));
        assertEquals("ERROR ENOENT", g.read("data/b/n0"), "a failed commit applies nothing");
        assertEquals(20, store.nodesOwnedBy(5));
    }
}

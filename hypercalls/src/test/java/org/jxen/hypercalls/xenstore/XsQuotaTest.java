package org.jxen.hypercalls.xenstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.jxen.abi.XenStoreOp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Quotas of unprivileged domains and their error names; dom0 is exempt. */
class XsQuotaTest {
    XenStore store;
    XsClient dom0;
    XsClient guest;

    @BeforeEach
    void setUp() {
        store = new XenStore(new XenStoreQuotas(30, 100, 3, 4, 2, 40, 1 << 20));
        dom0 = new XsClient(store, 0);
        store.introduceDomain(XsGuestTest.info(5));
        guest = new XsClient(store, 5);
    }

    @Test
    void nodesPerDomainIsEnospc() {
        int owned = store.nodesOwnedBy(5);
        for (int i = owned; i < 30; i++) {
            assertEquals("OK", guest.write("data/n" + i, "v"), "node " + i);
        }
        assertEquals(30, store.nodesOwnedBy(5));
        assertEquals("ERROR ENOSPC", guest.write("data/one-more", "v"));
        assertEquals("ERROR ENOSPC", guest.mkdir("data/one-more"));
        assertEquals("OK", guest.write("data/n" + owned, "rewriting an existing node is fine"));
        // a write that needs several new nodes is refused whole
        guest.rm("data/n" + owned);
        assertEquals("ERROR ENOSPC", guest.write("data/x/y", "v"));
        assertEquals("ERROR ENOENT", guest.read("data/x"));
        assertEquals("OK", guest.write("data/x", "v"));
        // dom0 is exempt, even in the guest's home
        for (int i = 0; i < 40; i++) {
            assertEquals("OK", dom0.write("/local/domain/5/data/dom0-" + i, "v"));
        }
    }

    @Test
    void valueSizeIsEnospc() {
        assertEquals("OK", guest.write("data/v", "x".repeat(100)));
        assertEquals("ERROR ENOSPC", guest.write("data/v", "x".repeat(101)));
        assertEquals("x".repeat(100), guest.read("data/v"));
        assertEquals("OK", dom0.write("/local/domain/5/data/v", "x".repeat(4000)));
    }

    @Test
    void permissionEntriesPerNodeIsEnospc() {
        guest.write("data/p", "v");
        assertEquals("OK", guest.setPerms("data/p", "n5", "r1", "r2"));
        assertEquals("ERROR ENOSPC", guest.setPerms("data/p", "n5", "r1", "r2", "r3"));
        assertEquals("OK", dom0.setPerms("/local/domain/5/data/p", "n5", "r1", "r2", "r3", "r4", "r6"));
    }

    @Test
    void watchesPerConnectionIsE2big() {
        for (int i = 0; i < 4; i++) {
            assertEquals("OK", guest.watch("data", "t" + i));
        }
        assertEquals("ERROR E2BIG", guest.watch("data", "t4"));
        assertEquals("OK", guest.unwatch("data", "t0"));
        assertEquals("OK", guest.watch("data", "t4"));
        for (int i = 0; i < 50; i++) {
            assertEquals("OK", dom0.watch("/", "d" + i));
        }
    }

    @Test
    void transactionsPerConnectionIsEnospc() {
        int t1 = guest.start();
        guest.start();
        assertEquals("ERROR ENOSPC", guest.call(XenStoreOp.TRANSACTION_START, ""));
        assertEquals("OK", guest.end(t1, false));
        guest.start();
        XsClient other = new XsClient(store, 5);
        other.start(); // per connection
        for (int i = 0; i < 5; i++) {
            dom0.start();
        }
    }

    @Test
    void transactionNodesIsEnospcAndPoisonsTheTransaction() {
        int tx = guest.start();
        String last = "OK";
        int i = 0;
        while (last.equals("OK") && i < 100) {
            last = guest.callTx(tx, XenStoreOp.READ, "data/probe-" + i++).startsWith("ERROR ENOSPC") ? "ENOSPC" : "OK";
        }
        assertEquals("ENOSPC", last, "a transaction may not look at unboundedly many nodes");
        assertEquals(39, i - 1, "39 probed nodes and their parent, data, make the 40 allowed; one more is too many");
        assertEquals("ERROR ENOSPC", guest.callTx(tx, XenStoreOp.READ, "name"), "the transaction stays failed");
        assertEquals("ERROR ENOSPC", guest.end(tx, true));
        int tx2 = guest.start();
        for (int k = 0; k < 41; k++) {
            if (guest.writeTx(tx2, "data/same", "v" + k).equals("ERROR ENOSPC")) {
                assertEquals(40, k, "40 logged changes fit, the 41st does not");
                break;
            }
        }
        assertEquals("OK", guest.end(tx2, false), "aborting is always fine");
        int d = dom0.start();
        for (int k = 0; k < 100; k++) {
            assertEquals("OK", dom0.writeTx(d, "/dom0/n" + k, "v"));
        }
        assertEquals("OK", dom0.end(d, true));
    }

    @Test
    void badQuotasAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new XenStoreQuotas(0, 1, 1, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new XenStoreQuotas(1, -1, 1, 1, 1, 1, 1));
    }

    @Test
    void defaultsAreXenstoreds() {
        XenStoreQuotas q = XenStoreQuotas.defaults();
        assertEquals(1000, q.nodesPerDomain());
        assertEquals(2048, q.valueSize());
        assertEquals(5, q.permissionsPerNode());
        assertEquals(128, q.watchesPerConnection());
        assertEquals(10, q.transactionsPerConnection());
        assertEquals(1024, q.transactionNodes());
    }
}

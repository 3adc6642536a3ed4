package org.jxen.hypercalls.xenstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jxen.abi.XenStoreOp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The domain-management requests and the host API that introduces and releases domains. */
class XsDomainTest {
    XenStore store;
    XsClient dom0;

    @BeforeEach
    void setUp() {
        store = new XenStore();
        dom0 = new XsClient(store, 0);
    }

    @Test
    void introduceDomainCreatesTheStandardNodes() {
        assertFalse(store.isIntroduced(3));
        store.introduceDomain(XsGuestTest.info(3));
        assertTrue(store.isIntroduced(3));
        assertEquals("T", dom0.call(XenStoreOp.IS_DOMAIN_INTRODUCED, "3"));
        List<String> home = dom0.dir("/local/domain/3");
        assertTrue(home.containsAll(List.of("name", "domid", "vm", "memory", "cpu", "device", "control", "data",
                "console", "store")), home::toString);
        assertEquals(List.of("shutdown", "feature-poweroff", "feature-reboot", "feature-suspend", "sysrq",
                "platform-feature-xs_reset_watches"), dom0.dir("/local/domain/3/control"));
        assertEquals(List.of("port", "ring-ref", "type"), dom0.dir("/local/domain/3/console"));
        assertEquals(List.of("port", "ring-ref"), dom0.dir("/local/domain/3/store"));
    }

    @Test
    void reintroducingReplacesOldNodes() {
        store.introduceDomain(XsGuestTest.info(3));
        dom0.write("/local/domain/3/data/leftover", "x");
        store.introduceDomain(XsGuestTest.info(3));
        assertEquals("ERROR ENOENT", dom0.read("/local/domain/3/data/leftover"));
        assertEquals("guest3", dom0.read("/local/domain/3/name"));
    }

    @Test
    void releaseDomainRemovesNodesAndClosesConnections() {
        store.introduceDomain(XsGuestTest.info(3));
        XsClient g = new XsClient(store, 3);
        g.watch("data", "t");
        store.releaseDomain(3);
        assertFalse(store.isIntroduced(3));
        assertTrue(g.conn.isClosed());
        assertEquals(0, g.conn.watchCount());
        assertEquals("ERROR ENOENT", dom0.read("/local/domain/3"));
        assertEquals("ERROR ENOENT", dom0.read("/vm/uuid-3"));
        assertEquals("F", dom0.call(XenStoreOp.IS_DOMAIN_INTRODUCED, "3"));
        store.releaseDomain(3); // again: nothing
        assertEquals(0, store.nodesOwnedBy(3));
    }

    @Test
    void wireIntroduceAndRelease() {
        assertEquals("OK", dom0.call(XenStoreOp.INTRODUCE, "12", "4096", "7"));
        assertTrue(store.isIntroduced(12));
        assertEquals("OK", dom0.call(XenStoreOp.INTRODUCE, "12", "4096", "7"), "again: fine");
        assertEquals("OK", dom0.call(XenStoreOp.RESUME, "12"));
        assertEquals("OK", dom0.call(XenStoreOp.RELEASE, "12"));
        assertFalse(store.isIntroduced(12));
        assertEquals("ERROR ENOENT", dom0.call(XenStoreOp.RELEASE, "12"));
        assertEquals("ERROR ENOENT", dom0.call(XenStoreOp.RESUME, "12"));
    }

    @Test
    void wireDomainRequestsCheckTheirArguments() {
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.INTRODUCE, "12", "4096"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.INTRODUCE, "0", "4096", "7"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.INTRODUCE, "32752", "4096", "7"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.INTRODUCE, "x", "4096", "7"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.INTRODUCE, "12", "-1", "7"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.INTRODUCE, "12", "1", "p"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.RELEASE, "0"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.RELEASE));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.IS_DOMAIN_INTRODUCED, "abc"));
        assertEquals("T", dom0.call(XenStoreOp.IS_DOMAIN_INTRODUCED, "0"));
        assertEquals("F", dom0.call(XenStoreOp.IS_DOMAIN_INTRODUCED, "44"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.RESUME, "x"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.SET_TARGET, "1"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.SET_TARGET, "1", "x"));
        assertEquals("ERROR ENOENT", dom0.call(XenStoreOp.SET_TARGET, "1", "2"));
        store.introduceDomain(XsGuestTest.info(1));
        assertEquals("ERROR ENOENT", dom0.call(XenStoreOp.SET_TARGET, "1", "2"));
    }

    @Test
    void wireReleaseClosesTheGuestsConnections() {
        store.introduceDomain(XsGuestTest.info(4));
        XsClient g = new XsClient(store, 4);
        assertEquals("OK", dom0.call(XenStoreOp.RELEASE, "4"));
        assertTrue(g.conn.isClosed());
        assertEquals("guest4", dom0.read("/local/domain/4/name"), "the toolstack removes nodes, not RELEASE");
    }

    @Test
    void domainInfoIsChecked() {
        assertThrows(IllegalArgumentException.class, () -> new XenStore.DomainInfo(0, "n", "u", 1, 1, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new XenStore.DomainInfo(XenStore.DOMID_FIRST_RESERVED, "n", "u", 1, 1, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new XenStore.DomainInfo(1, "n", "bad uuid", 1, 1, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new XenStore.DomainInfo(1, "n", "u", 1, 0, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> store.connect(-1, () -> { }));
        assertNull(store.read("/local/domain/1"));
    }
}

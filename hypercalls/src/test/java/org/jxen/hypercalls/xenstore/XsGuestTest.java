package org.jxen.hypercalls.xenstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jxen.abi.XenStoreOp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A guest sees and changes only what permissions allow; the standard domain nodes. */
class XsGuestTest {
    XenStore store;
    XsClient dom0;
    XsClient g5;
    XsClient g6;

    static XenStore.DomainInfo info(int domid) {
        return new XenStore.DomainInfo(domid, "guest" + domid, "uuid-" + domid, 262144, 2, 1, 0xfeffc, 2, 0xfeffd);
    }

    @BeforeEach
    void setUp() {
        store = new XenStore();
        dom0 = new XsClient(store, 0);
        store.introduceDomain(info(5));
        store.introduceDomain(info(6));
        g5 = new XsClient(store, 5);
        g6 = new XsClient(store, 6);
    }

    @Test
    void guestReadsItsStandardNodes() {
        assertEquals("guest5", g5.read("name"));
        assertEquals("5", g5.read("domid"));
        assertEquals("/vm/uuid-5", g5.read("vm"));
        assertEquals("guest5", g5.read("/vm/uuid-5/name"));
        assertEquals("262144", g5.read("memory/target"));
        assertEquals("262144", g5.read("memory/static-max"));
        assertEquals("online", g5.read("cpu/0/availability"));
        assertEquals("online", g5.read("cpu/1/availability"));
        assertEquals("ERROR ENOENT", g5.read("cpu/2/availability"));
        assertEquals("1", g5.read("store/port"));
        assertEquals(Long.toString(0xfeffc), g5.read("store/ring-ref"));
        assertEquals("2", g5.read("console/port"));
        assertEquals(Long.toString(0xfeffd), g5.read("console/ring-ref"));
        assertEquals("xenconsoled", g5.read("console/type"));
        assertEquals("", g5.read("control/shutdown"));
        assertEquals("1", g5.read("control/platform-feature-xs_reset_watches"));
        assertEquals(List.of(), g5.dir("device"));
        assertEquals(List.of(), g5.dir("data"));
    }

    @Test
    void domainNodePermissions() {
        assertEquals(List.of("n5"), dom0.perms("/local/domain/5"));
        assertEquals(List.of("n0", "r5"), dom0.perms("/local/domain/5/name"));
        assertEquals(List.of("n5"), dom0.perms("/local/domain/5/control/shutdown"));
        assertEquals(List.of("n5"), dom0.perms("/local/domain/5/data"));
        assertEquals(List.of("n0", "r5"), dom0.perms("/local/domain/5/device"));
        assertEquals(List.of("n0", "r5"), dom0.perms("/vm/uuid-5"));
    }

    @Test
    void guestWritesOnlyWhereAllowed() {
        assertEquals("OK", g5.write("control/shutdown", "poweroff"));
        assertEquals("OK", g5.write("control/feature-poweroff", "1"));
        assertEquals("OK", g5.write("data/key", "v"));
        assertEquals("OK", g5.write("my/own/tree", "v"));
        assertEquals("ERROR EACCES", g5.write("name", "evil"));
        assertEquals("ERROR EACCES", g5.write("memory/target", "1"));
        assertEquals("ERROR EACCES", g5.write("device/vif/0/state", "4"));
        assertEquals("ERROR EACCES", g5.write("control/new-node", "x"));
        assertEquals("ERROR EACCES", g5.write("/tool/x", "1"));
        assertEquals("ERROR EACCES", g5.write("/local/domain/6/data/x", "1"));
        assertEquals("ERROR EACCES", g5.mkdir("/newtop"));
        assertEquals("guest5", dom0.read("/local/domain/5/name"));
    }

    @Test
    void nodesAGuestCreatesAreItsOwn() {
        g5.write("data/a/b", "v");
        assertEquals(List.of("n5"), dom0.perms("/local/domain/5/data/a"));
        assertEquals(List.of("n5"), dom0.perms("/local/domain/5/data/a/b"));
        // dom0 creating below keeps the inherited owner
        dom0.write("/local/domain/5/data/c", "v");
        assertEquals(List.of("n5"), dom0.perms("/local/domain/5/data/c"));
    }

    @Test
    void guestCannotSeeOtherDomains() {
        assertEquals("ERROR EACCES", g5.read("/local/domain/6/name"));
        assertEquals(List.of("ERROR EACCES"), g5.dir("/local/domain/6"));
        assertEquals(List.of("ERROR EACCES"), g5.perms("/local/domain/6"));
        assertEquals("ERROR EACCES", g5.read("/vm/uuid-6/name"));
        assertEquals(List.of("ERROR EACCES"), g5.dir("/"));
        assertEquals("ERROR EACCES", g5.call(XenStoreOp.DIRECTORY_PART, "/local/domain/6", "0"));
    }

    @Test
    void missingNodesAnswerEaccesWhereTheGuestCannotLook() {
        assertEquals("ERROR ENOENT", g5.read("data/missing"));
        assertEquals("ERROR ENOENT", g5.read("data/missing/deeper"));
        assertEquals("ERROR EACCES", g5.read("/local/domain/6/missing"));
        assertEquals("ERROR EACCES", g5.read("/nothing/at/all"));
        assertEquals("ERROR EACCES", g5.rm("/local/domain/6/missing"));
        assertEquals("OK", g5.rm("data/missing"));
    }

    @Test
    void guestRemovesOnlyWritableNodes() {
        assertEquals("ERROR EACCES", g5.rm("name"));
        assertEquals("ERROR EACCES", g5.rm("/local/domain/6/data"));
        assertEquals("ERROR EACCES", g5.rm("/local"));
        g5.write("data/x/y", "1");
        assertEquals("OK", g5.rm("data/x"));
        assertEquals("ERROR ENOENT", g5.read("data/x/y"));
    }

    @Test
    void permissionEntriesGrantAndDeny() {
        dom0.write("/shared", "s");
        dom0.setPerms("/shared", "n0", "r5", "w6");
        assertEquals("s", g5.read("/shared"));
        assertEquals("ERROR EACCES", g5.write("/shared", "x"));
        assertEquals("ERROR EACCES", g6.read("/shared"));
        assertEquals("OK", g6.write("/shared", "from6"));
        assertEquals("from6", dom0.read("/shared"));
        // the default permission applies to unnamed domains
        dom0.setPerms("/shared", "r0", "n5");
        assertEquals("ERROR EACCES", g5.read("/shared"));
        assertEquals("from6", g6.read("/shared"));
        // the first matching entry wins
        dom0.setPerms("/shared", "n0", "b5", "n5");
        assertEquals("OK", g5.write("/shared", "both"));
    }

    @Test
    void ownerSetsPermissionsButCannotGiveNodesAway() {
        g5.write("data/mine", "v");
        assertEquals("OK", g5.setPerms("data/mine", "n5", "r6"));
        assertEquals("v", g6.read("/local/domain/5/data/mine"));
        assertEquals("ERROR EPERM", g5.setPerms("data/mine", "n6"));
        assertEquals("ERROR EACCES", g6.setPerms("/local/domain/5/data/mine", "b5", "b6"));
        assertEquals("ERROR EACCES", g5.setPerms("name", "b5"));
        assertEquals(List.of("n5", "r6"), dom0.perms("/local/domain/5/data/mine"));
        // dom0 may change the owner
        assertEquals("OK", dom0.setPerms("/local/domain/5/data/mine", "n6"));
        assertEquals("v", g6.read("/local/domain/5/data/mine"));
        assertEquals("ERROR EACCES", g5.read("data/mine"));
    }

    @ParameterizedTest
    @ValueSource(ints = {XenStoreOp.INTRODUCE, XenStoreOp.RELEASE, XenStoreOp.IS_DOMAIN_INTRODUCED,
        XenStoreOp.RESUME, XenStoreOp.SET_TARGET, XenStoreOp.DEBUG})
    void privilegedRequestsAreEaccesForGuests(int type) {
        assertEquals("ERROR EACCES", g5.call(type, "5", "1", "1"));
        assertTrue(store.isIntroduced(5));
    }

    @Test
    void setTargetGivesADeviceModelItsTargetsRights() {
        assertEquals("ERROR EACCES", g6.read("/local/domain/5/data"));
        assertEquals("OK", dom0.call(XenStoreOp.SET_TARGET, "6", "5"));
        assertEquals("", g6.read("/local/domain/5/data"));
        assertEquals("OK", g6.write("/local/domain/5/data/dm", "1"));
        assertEquals("guest5", g6.read("/local/domain/5/name"));
        assertEquals("ERROR EACCES", g5.read("/local/domain/6/name"), "not the other way round");
    }

    @Test
    void guestSeesWorldReadableNodes() {
        dom0.write("/public", "p");
        dom0.setPerms("/public", "r0");
        assertEquals("p", g5.read("/public"));
        assertEquals("ERROR EACCES", g5.write("/public", "q"));
    }
}

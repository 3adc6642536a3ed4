package org.jxen.hypercalls.xenstore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jxen.abi.XenStoreError;
import org.jxen.abi.XenStoreOp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every node request, good and bad input, as dom0 (the privileged socket client). */
class XsOpsTest {
    XenStore store;
    XsClient dom0;

    @BeforeEach
    void setUp() {
        store = new XenStore();
        dom0 = new XsClient(store, 0);
    }

    @Test
    void writeThenRead() {
        assertEquals("OK", dom0.write("/a", "hello"));
        assertEquals("hello", dom0.read("/a"));
        assertEquals("OK", dom0.write("/a", "again"));
        assertEquals("again", dom0.read("/a"));
    }

    @Test
    void writeCreatesParentsWithEmptyValuesAndInheritedPermissions() {
        assertEquals("OK", dom0.write("/p", "x"));
        assertEquals("OK", dom0.setPerms("/p", "r3", "w4"));
        assertEquals("OK", dom0.write("/p/q/r/s", "deep"));
        assertEquals("", dom0.read("/p/q"));
        assertEquals("", dom0.read("/p/q/r"));
        assertEquals("deep", dom0.read("/p/q/r/s"));
        assertEquals(List.of("r3", "w4"), dom0.perms("/p/q"));
        assertEquals(List.of("r3", "w4"), dom0.perms("/p/q/r/s"));
    }

    @Test
    void valuesAreBytesIncludingNul() {
        byte[] payload = {'/', 'v', 0, 'a', 0, 'b', (byte) 0xff};
        assertEquals(XenStoreOp.WRITE, dom0.send(XenStoreOp.WRITE, 0, payload).type());
        XenStoreMessage r = dom0.send(XenStoreOp.READ, 0, "/v");
        assertArrayEquals(new byte[] {'a', 0, 'b', (byte) 0xff}, r.payload());
        assertEquals("OK", dom0.write("/empty", ""));
        assertEquals(0, dom0.send(XenStoreOp.READ, 0, "/empty").payload().length);
    }

    @Test
    void successIsOkWithNul() {
        XenStoreMessage r = dom0.send(XenStoreOp.MKDIR, 0, "/m");
        assertEquals(XenStoreOp.MKDIR, r.type());
        assertArrayEquals(new byte[] {'O', 'K', 0}, r.payload());
    }

    @Test
    void errorsAreKnownNamesWithNul() {
        XenStoreMessage r = dom0.send(XenStoreOp.READ, 0, "/missing");
        assertEquals(XenStoreOp.ERROR, r.type());
        assertArrayEquals("ENOENT\0".getBytes(StandardCharsets.US_ASCII), r.payload());
        assertTrue(XenStoreError.isKnown(r.text()));
    }

    @Test
    void readMissingIsEnoent() {
        assertEquals("ERROR ENOENT", dom0.read("/nothing/here"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "/a/", "//a", "/a//b", "/a b", "/a\\b", "/a.b", "/a:b", "/ä", "@other", "@introduceDomain"})
    void badPathsAreEinval(String path) {
        assertEquals("ERROR EINVAL", dom0.read(path));
        assertEquals("ERROR EINVAL", dom0.write(path, "x"));
        assertEquals("ERROR EINVAL", dom0.mkdir(path));
        assertEquals("ERROR EINVAL", dom0.rm(path));
        assertEquals(List.of("ERROR EINVAL"), dom0.dir(path));
    }

    @Test
    void pathCharactersAllowed() {
        String p = "/AZaz09-_@/x";
        assertEquals("OK", dom0.write(p, "ok"));
        assertEquals("ok", dom0.read(p));
        assertEquals(List.of(), dom0.dir("/AZaz09-_@/x"));
        assertEquals(List.of("x"), dom0.dir("/AZaz09-_@"));
    }

    @Test
    void absolutePathLimit() {
        String ok = "/" + "a".repeat(3071);
        assertEquals(3072, ok.length());
        assertEquals("OK", dom0.write(ok, "v"));
        assertEquals("v", dom0.read(ok));
        assertEquals("ERROR EINVAL", dom0.write(ok + "b", "v"));
    }

    @Test
    void relativePathsAreUnderTheDomainsHome() {
        XsClient guest = new XsClient(store, 7);
        store.introduceDomain(new XenStore.DomainInfo(7, "g", "u7", 1024, 1, 1, 2, 3, 4));
        assertEquals("OK", guest.write("data/x", "rel"));
        assertEquals("rel", dom0.read("/local/domain/7/data/x"));
        assertEquals("rel", guest.read("/local/domain/7/data/x"));
        String rel = "data/" + "b".repeat(2043);
        assertEquals(2048, rel.length());
        assertEquals("OK", guest.write(rel, "v"));
        assertEquals("ERROR EINVAL", guest.write(rel + "c", "v"));
        // dom0's relative paths are under /local/domain/0
        assertEquals("OK", dom0.write("here", "0"));
        assertEquals("0", dom0.read("/local/domain/0/here"));
    }

    @Test
    void malformedPayloadsAreEinval() {
        // no NUL terminator
        assertEquals("ERROR EINVAL", XsClient.text(dom0.send(XenStoreOp.READ, 0, "/a".getBytes(StandardCharsets.US_ASCII))));
        assertEquals("ERROR EINVAL", XsClient.text(dom0.send(XenStoreOp.WRITE, 0, "/a".getBytes(StandardCharsets.US_ASCII))));
        assertEquals("ERROR EINVAL", XsClient.text(dom0.send(XenStoreOp.MKDIR, 0, new byte[0])));
        // two strings where one is expected
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.READ, "/a", "/b"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.RM, "/a", "x"));
        assertEquals("ERROR EINVAL", XsClient.text(dom0.send(XenStoreOp.DIRECTORY, 0, new byte[0])));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.GET_PERMS));
        assertEquals("ERROR EINVAL", XsClient.text(dom0.send(XenStoreOp.WATCH, 0, "/a\0tok".getBytes(StandardCharsets.US_ASCII))));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.WATCH, "/a"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.WATCH, "/a", "t", "extra"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.UNWATCH, "/a"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.SET_PERMS, "/"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.GET_DOMAIN_PATH, "x1"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.TRANSACTION_START, "a", "b"));
        assertEquals("ERROR EINVAL", XsClient.text(dom0.send(XenStoreOp.TRANSACTION_START, 0, new byte[0])));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.DIRECTORY_PART, "/"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.DIRECTORY_PART, "/", "-1"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.DIRECTORY_PART, "/", "x"));
    }

    @ParameterizedTest
    @ValueSource(ints = {XenStoreOp.WATCH_EVENT, XenStoreOp.ERROR, 20, XenStoreOp.TYPE_COUNT, 99,
        XenStoreOp.INVALID, -1, Integer.MIN_VALUE})
    void unknownTypesAreEnosys(int type) {
        assertEquals("ERROR ENOSYS", XsClient.text(dom0.send(type, 0, "/")));
        // and the connection keeps working
        assertEquals("OK", dom0.write("/after", "1"));
    }

    @Test
    void mkdirCreatesAndIsIdempotent() {
        assertEquals("OK", dom0.mkdir("/d/e"));
        assertEquals("", dom0.read("/d/e"));
        assertEquals("OK", dom0.write("/d/e", "keep"));
        assertEquals("OK", dom0.mkdir("/d/e"));
        assertEquals("keep", dom0.read("/d/e"));
    }

    @Test
    void rmIsRecursive() {
        dom0.write("/r/a/b", "1");
        dom0.write("/r/a/c", "2");
        dom0.write("/r/z", "3");
        assertEquals("OK", dom0.rm("/r/a"));
        assertEquals("ERROR ENOENT", dom0.read("/r/a/b"));
        assertEquals("ERROR ENOENT", dom0.read("/r/a"));
        assertEquals(List.of("z"), dom0.dir("/r"));
    }

    @Test
    void rmMissingNodeWithParentIsOk() {
        dom0.mkdir("/parent");
        assertEquals("OK", dom0.rm("/parent/child"));
        assertEquals("ERROR ENOENT", dom0.rm("/noparent/child"));
        assertEquals("ERROR EINVAL", dom0.rm("/"));
    }

    @Test
    void directoryKeepsCreationOrder() {
        for (String c : List.of("zeta", "alpha", "mid")) {
            dom0.mkdir("/order/" + c);
        }
        assertEquals(List.of("zeta", "alpha", "mid"), dom0.dir("/order"));
        assertEquals(0, dom0.send(XenStoreOp.DIRECTORY, 0, "/order/zeta").payload().length);
        assertEquals(List.of("ERROR ENOENT"), dom0.dir("/none"));
    }

    @Test
    void rootStartsWithLocalDomainAndVm() {
        assertEquals(List.of("local", "vm"), dom0.dir("/"));
        assertEquals(List.of("domain"), dom0.dir("/local"));
        assertEquals(List.of("n0"), dom0.perms("/"));
    }

    @Test
    void tooLargeDirectoryIsE2bigAndDirectoryPartListsIt() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            String n = "child-number-" + i;
            names.add(n);
            dom0.mkdir("/big/" + n);
        }
        assertEquals("ERROR E2BIG", XsClient.text(dom0.send(XenStoreOp.DIRECTORY, 0, "/big")));
        assertEquals(names, directoryByParts(dom0, "/big"));
    }

    /** Lists a directory with DIRECTORY_PART, as libxenstore does. */
    static List<String> directoryByParts(XsClient c, String path) {
        List<String> out = new ArrayList<>();
        String gen = null;
        int offset = 0;
        for (int guard = 0; guard < 1000; guard++) {
            XenStoreMessage r = c.send(XenStoreOp.DIRECTORY_PART, 0, path, Integer.toString(offset));
            assertEquals(XenStoreOp.DIRECTORY_PART, r.type(), () -> XsClient.text(r));
            byte[] p = r.payload();
            assertTrue(p.length <= 4096);
            List<String> s = r.strings();
            if (gen == null) {
                gen = s.get(0);
            }
            assertEquals(gen, s.get(0), "generation stable while nothing changes");
            int bytes = p.length - (s.get(0).length() + 1);
            boolean last = s.get(s.size() - 1).isEmpty();
            for (int i = 1; i < s.size() - (last ? 1 : 0); i++) {
                out.add(s.get(i));
            }
            if (last) {
                return out;
            }
            offset += bytes;
        }
        throw new AssertionError("DIRECTORY_PART did not finish");
    }

    @Test
    void directoryPartPastTheEndAndGenerations() {
        dom0.mkdir("/dp/a");
        XenStoreMessage r = dom0.send(XenStoreOp.DIRECTORY_PART, 0, "/dp", "0");
        List<String> s = r.strings();
        assertEquals(List.of(s.get(0), "a", ""), s);
        XenStoreMessage past = dom0.send(XenStoreOp.DIRECTORY_PART, 0, "/dp", "100");
        assertEquals(List.of(s.get(0), ""), past.strings());
        dom0.write("/dp/a", "value change: same child set");
        assertEquals(s.get(0), dom0.send(XenStoreOp.DIRECTORY_PART, 0, "/dp", "0").strings().get(0));
        dom0.mkdir("/dp/b");
        String gen2 = dom0.send(XenStoreOp.DIRECTORY_PART, 0, "/dp", "0").strings().get(0);
        assertTrue(Long.parseLong(gen2) != Long.parseLong(s.get(0)), "a new child changes the generation");
        assertEquals("ERROR ENOENT", dom0.call(XenStoreOp.DIRECTORY_PART, "/nope", "0"));
    }

    @Test
    void getAndSetPermissions() {
        dom0.write("/perm", "v");
        assertEquals(List.of("n0"), dom0.perms("/perm"));
        assertEquals("OK", dom0.setPerms("/perm", "b5", "r6", "n7", "w8"));
        assertEquals(List.of("b5", "r6", "n7", "w8"), dom0.perms("/perm"));
        assertEquals("ERROR ENOENT", dom0.setPerms("/noperm", "n0"));
        assertEquals(List.of("ERROR ENOENT"), dom0.perms("/noperm"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"x1", "r", "", "r65536", "r-1", "r1a", "R1", "r 1", "b1234567"})
    void badPermissionStringsAreEinval(String bad) {
        dom0.write("/bp", "v");
        assertEquals("ERROR EINVAL", dom0.setPerms("/bp", "n0", bad));
        assertEquals(List.of("n0"), dom0.perms("/bp"));
    }

    @Test
    void getDomainPath() {
        assertEquals("/local/domain/5", dom0.call(XenStoreOp.GET_DOMAIN_PATH, "5"));
        assertEquals("/local/domain/0", dom0.call(XenStoreOp.GET_DOMAIN_PATH, "0"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.GET_DOMAIN_PATH, "65536"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.GET_DOMAIN_PATH, ""));
        XsClient guest = new XsClient(store, 3);
        assertEquals("/local/domain/3", guest.call(XenStoreOp.GET_DOMAIN_PATH, "3"));
    }

    @Test
    void controlAliasDebugIsDom0Only() {
        assertEquals("OK", dom0.call(XenStoreOp.DEBUG, "print", "hello from the test"));
        assertTrue(dom0.call(XenStoreOp.DEBUG, "help").contains("print"));
        assertEquals("OK", dom0.call(XenStoreOp.DEBUG, "check"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.DEBUG, "frobnicate"));
        assertEquals("ERROR EINVAL", dom0.call(XenStoreOp.DEBUG, "print"));
        assertEquals("ERROR EINVAL", XsClient.text(dom0.send(XenStoreOp.DEBUG, 0, new byte[0])));
        XsClient guest = new XsClient(store, 4);
        assertEquals("ERROR EACCES", guest.call(XenStoreOp.DEBUG, "print", "x"));
    }

    @Test
    void oversizedReplyIsE2big() {
        // a value of 4096 - path bytes fits a request; reading it back fits a reply too
        String path = "/v";
        String value = "x".repeat(4096 - 3);
        assertEquals("OK", dom0.write(path, value));
        assertEquals(value, dom0.read(path));
    }

    @Test
    void hostApi() {
        assertEquals("OK", store.write("/host/a", "1"));
        assertArrayEquals("1".getBytes(StandardCharsets.US_ASCII), store.read("/host/a"));
        assertEquals(null, store.read("/host/none"));
        assertEquals(List.of("a"), store.directory("/host"));
        assertEquals(null, store.directory("/none"));
        assertEquals("OK", store.remove("/host"));
        assertEquals(null, store.read("/host/a"));
        assertEquals(XenStorePermissions.of(0, XenStorePermissions.NONE), store.permissions("/"));
    }

    @Test
    void closedConnectionIsIgnored() {
        XsClient c = new XsClient(store, 0);
        c.conn.close();
        c.conn.close();
        c.conn.process(new XenStoreMessage(XenStoreOp.WRITE, 1, 0, XenStoreMessage.nulTerminated("/x", "y")));
        assertEquals(null, c.conn.pollOutput());
        assertEquals(null, store.read("/x"));
        assertTrue(c.conn.isClosed());
    }
}

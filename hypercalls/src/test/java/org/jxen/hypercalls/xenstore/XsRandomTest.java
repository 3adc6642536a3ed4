package org.jxen.hypercalls.xenstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.LongStream;
import org.jxen.abi.XenStoreOp;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded random tests (the seed is the test's name; a failure names it, rerun with that seed):
 * the store against a simple model, transactions against serial execution, and the ring against a
 * direct connection under random chunking.
 */
class XsRandomTest {

    static LongStream seeds() {
        long base = Long.getLong("xs.seed", 20250611L);
        return LongStream.range(0, 12).map(i -> base + i * 7919);
    }

    /** The model: a sorted map of existing paths under /t to values. */
    static final class Model {
        final TreeMap<String, String> nodes = new TreeMap<>();

        Model() {
            nodes.put("/t", "");
        }

        Model copy() {
            Model m = new Model();
            m.nodes.clear();
            m.nodes.putAll(nodes);
            return m;
        }

        String apply(Op op) {
            String p = op.path;
            String parent = XenStorePath.parent(p);
            switch (op.type) {
                case XenStoreOp.WRITE, XenStoreOp.MKDIR -> {
                    if (op.type == XenStoreOp.MKDIR && nodes.containsKey(p)) {
                        return "OK";
                    }
                    for (String a = parent; !nodes.containsKey(a); a = XenStorePath.parent(a)) {
                        nodes.put(a, "");
                    }
                    nodes.put(p, op.type == XenStoreOp.WRITE ? op.value : "");
                    return "OK";
                }
                case XenStoreOp.RM -> {
                    if (!nodes.containsKey(p)) {
                        return nodes.containsKey(parent) ? "OK" : "ERROR ENOENT";
                    }
                    nodes.keySet().removeIf(k -> XenStorePath.isAncestorOrSelf(p, k));
                    return "OK";
                }
                case XenStoreOp.READ -> {
                    String v = nodes.get(p);
                    return v == null ? "ERROR ENOENT" : v;
                }
                case XenStoreOp.DIRECTORY -> {
                    if (!nodes.containsKey(p)) {
                        return "ERROR ENOENT";
                    }
                    TreeSet<String> kids = new TreeSet<>();
                    for (String k : nodes.tailMap(p + "/", true).keySet()) {
                        if (!k.startsWith(p + "/")) {
                            break;
                        }
                        String rest = k.substring(p.length() + 1);
                        if (!rest.contains("/")) {
                            kids.add(rest);
                        }
                    }
                    return String.join(",", kids);
                }
                default -> throw new IllegalStateException();
            }
        }
    }

    record Op(int type, String path, String value) {
        boolean mutates() {
            return type == XenStoreOp.WRITE || type == XenStoreOp.MKDIR || type == XenStoreOp.RM;
        }
    }

    static Op randomOp(Random rnd) {
        int depth = 1 + rnd.nextInt(3);
        StringBuilder p = new StringBuilder("/t");
        for (int i = 0; i < depth; i++) {
            p.append('/').append((char) ('a' + rnd.nextInt(3)));
        }
        int[] types = {XenStoreOp.WRITE, XenStoreOp.WRITE, XenStoreOp.MKDIR, XenStoreOp.RM, XenStoreOp.READ,
            XenStoreOp.READ, XenStoreOp.DIRECTORY};
        int type = types[rnd.nextInt(types.length)];
        return new Op(type, p.toString(), "v" + rnd.nextInt(1000));
    }

    /** The store's answer in the model's terms (directories as sorted, comma-joined names). */
    static String run(XsClient c, int txId, Op op) {
        return switch (op.type) {
            case XenStoreOp.WRITE -> c.writeTx(txId, op.path, op.value);
            case XenStoreOp.DIRECTORY -> {
                XenStoreMessage m = c.send(XenStoreOp.DIRECTORY, txId, op.path);
                if (XsClient.isError(m)) {
                    yield XsClient.text(m);
                }
                List<String> s = m.strings();
                yield String.join(",", new TreeSet<>(s == null ? List.of() : s));
            }
            default -> c.callTx(txId, op.type, op.path);
        };
    }

    static TreeMap<String, String> dump(XenStore store) {
        TreeMap<String, String> out = new TreeMap<>();
        dumpInto(store, "/t", out);
        return out;
    }

    private static void dumpInto(XenStore store, String path, TreeMap<String, String> out) {
        byte[] v = store.read(path);
        if (v == null) {
            return;
        }
        out.put(path, new String(v, java.nio.charset.StandardCharsets.ISO_8859_1));
        for (String c : store.directory(path)) {
            dumpInto(store, path + "/" + c, out);
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void storeMatchesTheModel(long seed) {
        Random rnd = new Random(seed);
        XenStore store = new XenStore();
        XsClient c = new XsClient(store, 0);
        c.mkdir("/t");
        Model model = new Model();
        for (int i = 0; i < 400; i++) {
            Op op = randomOp(rnd);
            String expected = model.apply(op);
            assertEquals(expected, run(c, 0, op), "seed " + seed + " step " + i + " " + op);
        }
        assertEquals(model.nodes, dump(store), "seed " + seed);
    }

    /** Transactions interleaved at random must behave as if each committed one ran alone at its commit. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void transactionsAreSerializable(long seed) {
        Random rnd = new Random(seed);
        XenStore store = new XenStore();
        int clients = 3;
        XsClient[] c = new XsClient[clients];
        for (int i = 0; i < clients; i++) {
            c[i] = new XsClient(store, 0);
        }
        c[0].mkdir("/t");
        Model committed = new Model();
        int[] tx = new int[clients];
        Model[] view = new Model[clients];
        long[] startedAt = new long[clients];
        List<List<Op>> ops = new ArrayList<>();
        List<List<String>> answers = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            ops.add(new ArrayList<>());
            answers.add(new ArrayList<>());
        }
        long commits = 0;
        int ok = 0;
        int eagain = 0;
        for (int step = 0; step < 600; step++) {
            int k = rnd.nextInt(clients);
            String where = "seed " + seed + " step " + step + " client " + k;
            if (tx[k] == 0) {
                if (rnd.nextInt(4) == 0) {
                    Op op = randomOp(rnd); // outside any transaction
                    assertEquals(committed.apply(op), run(c[k], 0, op), where + " " + op);
                    if (op.mutates()) {
                        commits++;
                    }
                } else {
                    tx[k] = c[k].start();
                    view[k] = committed.copy();
                    startedAt[k] = commits;
                    ops.get(k).clear();
                    answers.get(k).clear();
                }
                continue;
            }
            int roll = rnd.nextInt(10);
            if (roll < 8) {
                Op op = randomOp(rnd);
                String got = run(c[k], tx[k], op);
                assertEquals(view[k].apply(op), got, where + " in transaction: " + op);
                ops.get(k).add(op);
                answers.get(k).add(got);
                continue;
            }
            boolean commit = roll == 8 || rnd.nextBoolean();
            String end = c[k].end(tx[k], commit);
            tx[k] = 0;
            if (!commit) {
                assertEquals("OK", end, where);
                continue;
            }
            if (end.equals("OK")) {
                ok++;
                // serial execution at the commit point gives the same answers
                Model replay = committed.copy();
                for (int i = 0; i < ops.get(k).size(); i++) {
                    assertEquals(answers.get(k).get(i), replay.apply(ops.get(k).get(i)),
                            where + " committed, but op " + i + " " + ops.get(k).get(i) + " would answer otherwise now");
                }
                committed = replay;
                if (ops.get(k).stream().anyMatch(Op::mutates)) {
                    commits++;
                }
            } else {
                assertEquals("ERROR EAGAIN", end, where);
                eagain++;
                assertTrue(commits > startedAt[k], where + ": EAGAIN although nothing was committed since the start");
            }
            assertEquals(committed.nodes, dump(store), where + " state after commit");
        }
        assertEquals(committed.nodes, dump(store), "seed " + seed);
        assertTrue(ok > 0, "seed " + seed + ": some transactions committed");
        System.out.println("XsRandomTest seed " + seed + ": " + ok + " commits, " + eagain + " conflicts");
    }

    /** Random request and reply chunking on the ring gives exactly the replies of a direct connection. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void ringMatchesADirectConnection(long seed) {
        Random rnd = new Random(seed);
        HostMemory ram = HostMemory.offHeap("ram", 1 << 16);
        GuestMemory memory = new GuestMemory("xs-random");
        memory.addSlot(0, 0, ram.size(), ram, 0, 0);
        try {
            XenStore viaRing = new XenStore();
            XenStore direct = new XenStore();
            viaRing.introduceDomain(XsGuestTest.info(5));
            direct.introduceDomain(XsGuestTest.info(5));
            XsRingGuest guest = new XsRingGuest(memory, 0x3000);
            guest.startAt(rnd.nextBoolean() ? rnd.nextInt() : -rnd.nextInt(3000));
            XenStoreRing ring = new XenStoreRing(memory, 0x3000, viaRing, 5, () -> { });
            XenStoreConnection reference = direct.connect(5, () -> { });

            List<XenStoreMessage> requests = new ArrayList<>();
            List<XenStoreMessage> expected = new ArrayList<>();
            for (int i = 0; i < 150; i++) {
                Op op = randomOp(rnd);
                String path = "data" + op.path.substring(2);
                XenStoreMessage m = op.type == XenStoreOp.WRITE
                        ? new XenStoreMessage(op.type, i, 0, concat(XenStoreMessage.nulTerminated(path),
                                op.value.repeat(1 + rnd.nextInt(60)).getBytes()))
                        : XenStoreMessage.ofStrings(op.type, i, 0, path);
                requests.add(m);
                reference.process(m);
                for (XenStoreMessage r; (r = reference.pollOutput()) != null; ) {
                    expected.add(r);
                }
            }
            byte[] stream = concat(requests.stream().map(XenStoreMessage::toBytes).toArray(byte[][]::new));
            int at = 0;
            List<XenStoreMessage> got = new ArrayList<>();
            for (int spin = 0; spin < 100_000 && got.size() < expected.size(); spin++) {
                if (at < stream.length && rnd.nextInt(3) > 0) {
                    at += guest.write(stream, at, 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 700));
                }
                if (rnd.nextInt(4) > 0) {
                    ring.kick();
                }
                guest.read(1 + rnd.nextInt(rnd.nextBoolean() ? 5 : 1500));
                got.addAll(guest.messages());
            }
            assertFalse(ring.isBroken(), "seed " + seed);
            assertEquals(expected.size(), got.size(), "seed " + seed);
            for (int i = 0; i < expected.size(); i++) {
                XenStoreMessage e = expected.get(i);
                XenStoreMessage g = got.get(i);
                assertEquals(e.type(), g.type(), "seed " + seed + " reply " + i);
                assertEquals(e.reqId(), g.reqId(), "seed " + seed + " reply " + i);
                assertEquals(e.text(), g.text(), "seed " + seed + " reply " + i);
            }
            ring.close();
        } finally {
            memory.removeSlot(0);
            ram.close();
        }
    }

    static byte[] concat(byte[]... parts) {
        return XsRingTest.concat(parts);
    }
}

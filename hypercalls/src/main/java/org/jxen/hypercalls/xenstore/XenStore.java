package org.jxen.hypercalls.xenstore;

import static org.jxen.abi.XenStoreError.E2BIG;
import static org.jxen.abi.XenStoreError.EACCES;
import static org.jxen.abi.XenStoreError.EAGAIN;
import static org.jxen.abi.XenStoreError.EBUSY;
import static org.jxen.abi.XenStoreError.EEXIST;
import static org.jxen.abi.XenStoreError.EINVAL;
import static org.jxen.abi.XenStoreError.ENOENT;
import static org.jxen.abi.XenStoreError.ENOSPC;
import static org.jxen.abi.XenStoreError.ENOSYS;
import static org.jxen.abi.XenStoreError.EPERM;
import static org.jxen.hypercalls.xenstore.XenStorePermissions.NONE;
import static org.jxen.hypercalls.xenstore.XenStorePermissions.OWNER;
import static org.jxen.hypercalls.xenstore.XenStorePermissions.READ;
import static org.jxen.hypercalls.xenstore.XenStorePermissions.WRITE;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.jxen.abi.XenStoreError;
import org.jxen.abi.XenStoreOp;
import org.jxen.abi.XsdSockmsg;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The XenStore: a tree of nodes with per-node permissions, watches, transactions and the
 * domain-management requests, independent of any transport. Transports (the guest's ring,
 * {@link XenStoreRing}; the host's Unix socket in the {@code vmm} module) open a
 * {@link XenStoreConnection} with {@link #connect} and feed it requests.
 *
 * <h2>Semantics (as C xenstored)</h2>
 * <ul>
 * <li>Paths: see {@link XenStorePath}; a relative path is relative to the asking domain's
 * {@code /local/domain/<domid>}.</li>
 * <li>Permissions: see {@link XenStorePermissions}; dom0 may do everything. A request that names a
 * missing node answers EACCES instead of ENOENT when the nearest existing ancestor does not grant
 * the access asked for, so that a guest cannot probe what it may not see.</li>
 * <li>WRITE and MKDIR create missing parents; new nodes take their parent's permissions, and a node
 * that an unprivileged domain creates is owned by that domain. RM removes the subtree; removing a
 * missing node whose parent exists succeeds.</li>
 * <li>Watches fire once when registered (after the OK), then for every change at or below their
 * path, and for an RM above their path; an event reaches an unprivileged watcher only if it may
 * read the changed node. {@code @introduceDomain}/{@code @releaseDomain} fire for privileged
 * watchers when a domain is introduced or released.</li>
 * <li>Transactions see a snapshot taken at TRANSACTION_START plus their own changes. Commit fails
 * with EAGAIN when a node the transaction read or wrote (or found missing) changed since; otherwise
 * the transaction's changes are applied at once, and their watches fire.</li>
 * <li>Errors: ENOSYS for unknown types, EINVAL for malformed payloads, EACCES for guests asking
 * privileged requests, E2BIG for a reply that would exceed {@link XsdSockmsg#PAYLOAD_MAX}; quotas
 * as {@link XenStoreQuotas} says.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * One lock guards the tree, the domains, every connection's watches and transactions: all of
 * {@link #process}, the host API ({@link #introduceDomain}, {@link #releaseDomain}, {@link #read},
 * ...) and {@link #connect} may be called from any thread, and run one at a time. Output for a
 * connection is queued under the lock; its {@code outputReady} callback runs after the lock is
 * released, on the thread whose request caused the output.
 */
public final class XenStore {
    private static final Logger LOG = LoggerFactory.getLogger(XenStore.class);

    /** The first domid that names no real domain ({@code DOMID_FIRST_RESERVED}). */
    public static final int DOMID_FIRST_RESERVED = 0x7FF0;

    private static final byte[] OK_PAYLOAD = XenStoreMessage.nulTerminated(XenStoreError.OK);
    private static final long ABSENT = -1;

    /** One watch of one connection. */
    record Watch(XenStoreConnection connection, String path, String token, String relativeTo) {
    }

    /** One open transaction: its own tree, what it saw, and its changes to replay on commit. */
    static final class Transaction {
        final int id;
        final NodeTree tree;
        /** Path to the generation seen first (ABSENT for a missing node). */
        final HashMap<String, Long> accessed = new HashMap<>();
        final List<XenStoreMessage> log = new ArrayList<>();
        /** Went beyond the transaction-nodes quota: every later request and the commit fail. */
        boolean overQuota;

        Transaction(int id, NodeTree tree) {
            this.id = id;
            this.tree = tree;
        }
    }

    /** What the host tells the store about a domain when it introduces it. */
    public record DomainInfo(int domid, String name, String uuid, long memoryKiB, int vcpus,
            int storePort, long storeRingRef, int consolePort, long consoleRingRef) {
        public DomainInfo {
            if (domid <= 0 || domid >= DOMID_FIRST_RESERVED) {
                throw new IllegalArgumentException("domid " + domid + " cannot be introduced");
            }
            Objects.requireNonNull(name, "name");
            if (uuid == null || !XenStorePath.isValidAbsolute("/" + uuid)) {
                throw new IllegalArgumentException("bad uuid " + uuid);
            }
            if (vcpus < 1 || memoryKiB < 0) {
                throw new IllegalArgumentException("bad domain size: " + vcpus + " vCPUs, " + memoryKiB + " KiB");
            }
        }
    }

    private static final class DomainRecord {
        int target = -1;
    }

    /** A change that may fire watches. */
    private record Change(String path, boolean recursive, XenStorePermissions permissions,
            XenStorePermissions oldPermissions) {
    }

    /** What a request does besides its reply: changes to fire, events to send after the reply. */
    private static final class Effects {
        final List<Change> changes = new ArrayList<>();
        final List<Watch> initialEvents = new ArrayList<>();
    }

    /** A reply payload or an error name. */
    private record Reply(String error, byte[] payload) {
        static final Reply OK = new Reply(null, OK_PAYLOAD);

        static Reply error(String name) {
            return new Reply(name, null);
        }

        static Reply of(byte[] payload) {
            return new Reply(null, payload);
        }

        boolean ok() {
            return error == null;
        }
    }

    /** One request's view: the connection, the tree it works on, and its transaction if any. */
    private static final class Request {
        final XenStoreConnection conn;
        final NodeTree tree;
        final Transaction tx;
        final List<Change> changes = new ArrayList<>();

        Request(XenStoreConnection conn, NodeTree tree, Transaction tx) {
            this.conn = conn;
            this.tree = tree;
            this.tx = tx;
        }

        Node get(String path) {
            Node n = tree.get(path);
            if (tx != null) {
                tx.accessed.putIfAbsent(path, n == null ? ABSENT : n.generation);
            }
            return n;
        }

        /**
         * Puts a node; in a transaction first records what it saw of the node and its parent (whose
         * generation changes when it gains a child), so that no later look records a changed one.
         */
        void put(String path, Node node, long gen) {
            if (tx != null) {
                get(path);
                String parent = XenStorePath.parent(path);
                if (parent != null) {
                    get(parent);
                }
            }
            tree.put(path, node, gen);
        }

        /** Removes a subtree; in a transaction first records the parent and everything removed. */
        void remove(String path, Node node, long gen) {
            if (tx != null) {
                get(XenStorePath.parent(path));
                recordSubtree(tx, path, node);
            }
            tree.remove(path, gen);
        }

        boolean privileged() {
            return conn.isPrivileged();
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final XenStoreQuotas quotas;
    private final List<XenStoreConnection> connections = new ArrayList<>();
    private final Map<Integer, DomainRecord> domains = new HashMap<>();
    private final XenStoreConnection host;
    private NodeTree tree;
    private long generation;
    private int connectionSerial;

    /** A store with xenstored's default quotas. */
    public XenStore() {
        this(XenStoreQuotas.defaults());
    }

    /** A store holding {@code /}, {@code /local}, {@code /local/domain} and {@code /vm}, owned by dom0. */
    public XenStore(XenStoreQuotas quotas) {
        this.quotas = Objects.requireNonNull(quotas);
        XenStorePermissions dom0 = XenStorePermissions.of(0, NONE);
        long gen = nextGeneration();
        this.tree = new NodeTree(Node.leaf("", Node.EMPTY, dom0, gen));
        for (String p : List.of("/local", XenStorePath.DOMAIN_ROOT, "/vm")) {
            tree.put(p, Node.leaf(XenStorePath.lastComponent(p), Node.EMPTY, dom0, gen), gen);
        }
        this.host = new XenStoreConnection(this, 0, "host", () -> { });
    }

    public XenStoreQuotas quotas() {
        return quotas;
    }

    // ------------------------------------------------------------------ connections

    /**
     * Opens a connection for domain {@code domid} (0: privileged, as the host's socket clients are).
     * {@code outputReady} runs when output appears for the connection; see {@link XenStoreConnection}.
     */
    public XenStoreConnection connect(int domid, Runnable outputReady) {
        if (domid < 0 || domid > XenStorePermissions.MAX_DOMID) {
            throw new IllegalArgumentException("bad domid " + domid);
        }
        Objects.requireNonNull(outputReady);
        lock.lock();
        try {
            XenStoreConnection c = new XenStoreConnection(this, domid, "dom" + domid + "#" + (++connectionSerial),
                    outputReady);
            connections.add(c);
            return c;
        } finally {
            lock.unlock();
        }
    }

    void disconnect(XenStoreConnection c) {
        lock.lock();
        try {
            closeLocked(c);
        } finally {
            lock.unlock();
        }
    }

    private void closeLocked(XenStoreConnection c) {
        if (c.isClosed()) {
            return;
        }
        c.markClosed();
        c.watches.clear();
        c.transactions.clear();
        connections.remove(c);
    }

    /** The number of open connections. */
    public int connectionCount() {
        return locked(connections::size);
    }

    <T> T locked(Supplier<T> s) {
        lock.lock();
        try {
            return s.get();
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ requests

    void process(XenStoreConnection c, XenStoreMessage m) {
        Set<XenStoreConnection> wake = new LinkedHashSet<>();
        lock.lock();
        try {
            if (c.isClosed()) {
                return;
            }
            Effects fx = new Effects();
            XenStoreMessage reply = handle(c, m, fx);
            c.queueReply(reply);
            wake.add(c);
            publish(fx, wake);
        } finally {
            lock.unlock();
        }
        for (XenStoreConnection w : wake) {
            w.signalOutput();
        }
    }

    /** Runs one request of connection {@code c} under the lock and returns its reply. */
    private XenStoreMessage handle(XenStoreConnection c, XenStoreMessage m, Effects fx) {
        Reply r;
        try {
            r = dispatch(c, m, fx);
        } catch (RuntimeException e) {
            // A bug, not the client's fault: answer EIO, keep serving, and say so loudly.
            LOG.error("xenstore: {} on {} failed", m, c, e);
            r = Reply.error(XenStoreError.EIO);
            fx.changes.clear();
            fx.initialEvents.clear();
        }
        if (r.ok() && r.payload.length > XsdSockmsg.PAYLOAD_MAX) {
            r = Reply.error(E2BIG);
        }
        if (!r.ok()) {
            return XenStoreMessage.ofStrings(XenStoreOp.ERROR, m.reqId(), m.txId(), r.error);
        }
        return new XenStoreMessage(m.type(), m.reqId(), m.txId(), r.payload);
    }

    /** Fires the changes' watches and sends initial watch events; adds the connections that got output. */
    private void publish(Effects fx, Set<XenStoreConnection> wake) {
        for (Watch w : fx.initialEvents) {
            if (sendEvent(w, w.path())) {
                wake.add(w.connection());
            }
        }
        for (Change ch : fx.changes) {
            fire(ch, wake);
        }
    }

    private static boolean isPrivilegedOnly(int type) {
        return switch (type) {
            case XenStoreOp.CONTROL, XenStoreOp.INTRODUCE, XenStoreOp.RELEASE, XenStoreOp.IS_DOMAIN_INTRODUCED,
                    XenStoreOp.RESUME, XenStoreOp.SET_TARGET -> true;
            default -> false;
        };
    }

    /** Types whose {@code tx_id} is ignored, as in xenstored. */
    private static boolean ignoresTransaction(int type) {
        return switch (type) {
            case XenStoreOp.CONTROL, XenStoreOp.WATCH, XenStoreOp.UNWATCH, XenStoreOp.INTRODUCE,
                    XenStoreOp.RELEASE, XenStoreOp.GET_DOMAIN_PATH, XenStoreOp.IS_DOMAIN_INTRODUCED,
                    XenStoreOp.RESUME, XenStoreOp.SET_TARGET, XenStoreOp.RESET_WATCHES -> true;
            default -> false;
        };
    }

    private static boolean isMutation(int type) {
        return type == XenStoreOp.WRITE || type == XenStoreOp.MKDIR || type == XenStoreOp.RM
                || type == XenStoreOp.SET_PERMS;
    }

    private Reply dispatch(XenStoreConnection c, XenStoreMessage m, Effects fx) {
        int type = m.type();
        boolean known = switch (type) {
            case XenStoreOp.CONTROL, XenStoreOp.DIRECTORY, XenStoreOp.READ, XenStoreOp.GET_PERMS, XenStoreOp.WATCH,
                    XenStoreOp.UNWATCH, XenStoreOp.TRANSACTION_START, XenStoreOp.TRANSACTION_END,
                    XenStoreOp.INTRODUCE, XenStoreOp.RELEASE, XenStoreOp.GET_DOMAIN_PATH, XenStoreOp.WRITE,
                    XenStoreOp.MKDIR, XenStoreOp.RM, XenStoreOp.SET_PERMS, XenStoreOp.IS_DOMAIN_INTRODUCED,
                    XenStoreOp.RESUME, XenStoreOp.SET_TARGET, XenStoreOp.RESET_WATCHES,
                    XenStoreOp.DIRECTORY_PART -> true;
            default -> false;
        };
        if (!known) {
            return Reply.error(ENOSYS);
        }
        if (isPrivilegedOnly(type) && !c.isPrivileged()) {
            return Reply.error(EACCES);
        }
        Transaction tx = null;
        if (m.txId() != 0 && !ignoresTransaction(type)) {
            tx = c.transactions.get(m.txId());
            if (tx == null) {
                return Reply.error(ENOENT);
            }
            if (tx.overQuota && type != XenStoreOp.TRANSACTION_END) {
                return Reply.error(ENOSPC);
            }
        }
        Request r = new Request(c, tx != null ? tx.tree : tree, tx);
        Reply reply = switch (type) {
            case XenStoreOp.READ -> read(r, m);
            case XenStoreOp.WRITE, XenStoreOp.MKDIR, XenStoreOp.RM, XenStoreOp.SET_PERMS -> mutate(r, m);
            case XenStoreOp.DIRECTORY -> directory(r, m);
            case XenStoreOp.DIRECTORY_PART -> directoryPart(r, m);
            case XenStoreOp.GET_PERMS -> getPermissions(r, m);
            case XenStoreOp.WATCH -> watch(c, m, fx);
            case XenStoreOp.UNWATCH -> unwatch(c, m);
            case XenStoreOp.TRANSACTION_START -> transactionStart(c, tx, m);
            case XenStoreOp.TRANSACTION_END -> transactionEnd(c, tx, m, fx);
            case XenStoreOp.GET_DOMAIN_PATH -> getDomainPath(m);
            case XenStoreOp.INTRODUCE -> introduce(m, fx);
            case XenStoreOp.RELEASE -> release(m, fx);
            case XenStoreOp.IS_DOMAIN_INTRODUCED -> isDomainIntroduced(m);
            case XenStoreOp.RESUME -> resume(m);
            case XenStoreOp.SET_TARGET -> setTarget(m);
            case XenStoreOp.RESET_WATCHES -> resetWatches(c);
            case XenStoreOp.CONTROL -> control(m);
            default -> Reply.error(ENOSYS);
        };
        if (reply.ok()) {
            if (tx != null && isMutation(type)) {
                tx.log.add(m);
            } else if (tx == null) {
                fx.changes.addAll(r.changes);
            }
        }
        if (tx != null && !tx.overQuota && !c.isPrivileged()
                && (tx.accessed.size() > quotas.transactionNodes() || tx.log.size() > quotas.transactionNodes())) {
            tx.overQuota = true;
            tx.accessed.clear();
            tx.log.clear();
            return Reply.error(ENOSPC);
        }
        return reply;
    }

    private Reply mutate(Request r, XenStoreMessage m) {
        return switch (m.type()) {
            case XenStoreOp.WRITE -> write(r, m);
            case XenStoreOp.MKDIR -> mkdir(r, m);
            case XenStoreOp.RM -> rm(r, m);
            case XenStoreOp.SET_PERMS -> setPermissions(r, m);
            default -> throw new IllegalStateException("not a mutation: " + m);
        };
    }

    // ------------------------------------------------------------------ helpers

    private long nextGeneration() {
        return ++generation;
    }

    private int targetOf(int domid) {
        DomainRecord d = domains.get(domid);
        return d == null ? -1 : d.target;
    }

    /** What {@code c} may do to a node with {@code p}: a mask of READ, WRITE, OWNER. */
    private int access(XenStoreConnection c, XenStorePermissions p) {
        if (c.isPrivileged()) {
            return READ | WRITE | OWNER;
        }
        return p.accessFor(c.domid(), targetOf(c.domid()));
    }

    /** The single NUL-terminated string that the payload must be, or null. */
    private static String oneString(XenStoreMessage m) {
        List<String> s = m.strings();
        return s != null && s.size() == 1 ? s.get(0) : null;
    }

    /** Exactly {@code n} NUL-terminated strings, or null. */
    private static List<String> strings(XenStoreMessage m, int n) {
        List<String> s = m.strings();
        return s != null && s.size() == n ? s : null;
    }

    /** The path string of a one-path request, made absolute, or null. */
    private static String onePath(Request r, XenStoreMessage m) {
        String raw = oneString(m);
        return raw == null ? null : XenStorePath.canonical(raw, r.conn.domid(), false);
    }

    /** A decimal domid 0..65535 (digits only), or -1. */
    static int parseDomid(String s) {
        long v = parseDecimal(s, 5);
        return v > XenStorePermissions.MAX_DOMID ? -1 : (int) v;
    }

    /** A decimal number of at most {@code maxDigits} digits (digits only), or -1. */
    private static long parseDecimal(String s, int maxDigits) {
        if (s == null || s.isEmpty() || s.length() > maxDigits) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch < '0' || ch > '9') {
                return -1;
            }
            v = v * 10 + (ch - '0');
        }
        return v;
    }

    /**
     * The node at {@code path} if {@code r}'s connection has all of {@code perm} on it; otherwise
     * null and {@code error[0]} says why (ENOENT or EACCES).
     */
    private Node find(Request r, String path, int perm, String[] error) {
        Node n = r.get(path);
        if (n != null) {
            if ((access(r.conn, n.permissions) & perm) == perm) {
                return n;
            }
            error[0] = EACCES;
            return null;
        }
        error[0] = missingError(r, path, perm);
        return null;
    }

    /** ENOENT when the nearest existing ancestor of a missing node grants {@code perm}, else EACCES. */
    private String missingError(Request r, String path, int perm) {
        for (String p = XenStorePath.parent(path); p != null; p = XenStorePath.parent(p)) {
            Node a = r.get(p);
            if (a != null) {
                return (access(r.conn, a.permissions) & perm) == perm ? ENOENT : EACCES;
            }
        }
        return ENOENT;
    }

    // ------------------------------------------------------------------ node requests

    private Reply read(Request r, XenStoreMessage m) {
        String path = onePath(r, m);
        if (path == null) {
            return Reply.error(EINVAL);
        }
        String[] err = new String[1];
        Node n = find(r, path, READ, err);
        return n == null ? Reply.error(err[0]) : Reply.of(n.value);
    }

    private Reply write(Request r, XenStoreMessage m) {
        byte[] p = m.payload();
        int nul = indexOfNul(p);
        if (nul < 0) {
            return Reply.error(EINVAL);
        }
        String path = XenStorePath.canonical(new String(p, 0, nul, StandardCharsets.ISO_8859_1), r.conn.domid(), false);
        if (path == null) {
            return Reply.error(EINVAL);
        }
        byte[] value = Arrays.copyOfRange(p, nul + 1, p.length);
        if (!r.privileged() && value.length > quotas.valueSize()) {
            return Reply.error(ENOSPC);
        }
        Node n = r.get(path);
        if (n == null) {
            return create(r, path, value);
        }
        if ((access(r.conn, n.permissions) & WRITE) == 0) {
            return Reply.error(EACCES);
        }
        long gen = nextGeneration();
        r.put(path, n.withValue(value, gen), gen);
        r.changes.add(new Change(path, false, n.permissions, null));
        return Reply.OK;
    }

    private static int indexOfNul(byte[] p) {
        for (int i = 0; i < p.length; i++) {
            if (p[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    /** Creates missing {@code path} with {@code value}, and its missing parents with empty values. */
    private Reply create(Request r, String path, byte[] value) {
        List<String> missing = new ArrayList<>();
        Node ancestor = null;
        for (String p = path; ancestor == null; ) {
            missing.add(p);
            p = XenStorePath.parent(p);
            ancestor = r.get(p);
        }
        if ((access(r.conn, ancestor.permissions) & WRITE) == 0) {
            return Reply.error(EACCES);
        }
        XenStorePermissions perms = ancestor.permissions;
        if (!r.privileged()) {
            perms = perms.withOwner(r.conn.domid());
            if (r.tree.ownedBy(r.conn.domid()) + missing.size() > quotas.nodesPerDomain()) {
                return Reply.error(ENOSPC);
            }
        }
        long gen = nextGeneration();
        for (int i = missing.size() - 1; i >= 0; i--) {
            String p = missing.get(i);
            r.put(p, Node.leaf(XenStorePath.lastComponent(p), i == 0 ? value : Node.EMPTY, perms, gen), gen);
        }
        r.changes.add(new Change(path, false, perms, null));
        return Reply.OK;
    }

    private Reply mkdir(Request r, XenStoreMessage m) {
        String path = onePath(r, m);
        if (path == null) {
            return Reply.error(EINVAL);
        }
        Node n = r.get(path);
        if (n == null) {
            return create(r, path, Node.EMPTY);
        }
        return (access(r.conn, n.permissions) & WRITE) != 0 ? Reply.OK : Reply.error(EACCES);
    }

    private Reply rm(Request r, XenStoreMessage m) {
        String path = onePath(r, m);
        if (path == null || path.equals("/")) {
            return Reply.error(EINVAL);
        }
        String[] err = new String[1];
        Node n = find(r, path, WRITE, err);
        if (n == null) {
            if (err[0].equals(ENOENT) && r.get(XenStorePath.parent(path)) != null) {
                return Reply.OK; // already gone: fine, as long as the parent is there
            }
            return Reply.error(err[0]);
        }
        r.remove(path, n, nextGeneration());
        r.changes.add(new Change(path, true, n.permissions, null));
        return Reply.OK;
    }

    /** Records what a transaction saw below a node it removes, so that its later reads there do not look like conflicts. */
    private static void recordSubtree(Transaction tx, String path, Node top) {
        ArrayDeque<Object[]> todo = new ArrayDeque<>();
        todo.push(new Object[] {path, top});
        while (!todo.isEmpty()) {
            Object[] e = todo.pop();
            String p = (String) e[0];
            Node n = (Node) e[1];
            tx.accessed.putIfAbsent(p, n.generation);
            for (Node c : n.children) {
                todo.push(new Object[] {p.equals("/") ? "/" + c.name : p + "/" + c.name, c});
            }
        }
    }

    private Reply directory(Request r, XenStoreMessage m) {
        String path = onePath(r, m);
        if (path == null) {
            return Reply.error(EINVAL);
        }
        String[] err = new String[1];
        Node n = find(r, path, READ, err);
        return n == null ? Reply.error(err[0]) : Reply.of(n.childList());
    }

    /**
     * DIRECTORY_PART: "path\0offset\0", where offset is a byte offset into the child list. The reply
     * is the node's generation and a NUL, then as many whole child names (each with its NUL) from
     * the offset as fit, then one more NUL when the list is complete.
     */
    private Reply directoryPart(Request r, XenStoreMessage m) {
        List<String> args = strings(m, 2);
        if (args == null) {
            return Reply.error(EINVAL);
        }
        String path = XenStorePath.canonical(args.get(0), r.conn.domid(), false);
        long offset = parseDecimal(args.get(1), 9);
        if (path == null || offset < 0) {
            return Reply.error(EINVAL);
        }
        String[] err = new String[1];
        Node n = find(r, path, READ, err);
        if (n == null) {
            return Reply.error(err[0]);
        }
        byte[] gen = XenStoreMessage.nulTerminated(Long.toString(n.generation));
        byte[] list = n.childList();
        int max = XsdSockmsg.PAYLOAD_MAX - gen.length - 1;
        int from = (int) Math.min(offset, list.length);
        int end = from;
        while (end < list.length) {
            int next = end;
            while (list[next] != 0) {
                next++;
            }
            next++; // past the NUL
            if (next - from > max) {
                break;
            }
            end = next;
        }
        boolean complete = end == list.length;
        byte[] out = new byte[gen.length + (end - from) + (complete ? 1 : 0)];
        System.arraycopy(gen, 0, out, 0, gen.length);
        System.arraycopy(list, from, out, gen.length, end - from);
        return Reply.of(out);
    }

    private Reply getPermissions(Request r, XenStoreMessage m) {
        String path = onePath(r, m);
        if (path == null) {
            return Reply.error(EINVAL);
        }
        String[] err = new String[1];
        Node n = find(r, path, READ, err);
        if (n == null) {
            return Reply.error(err[0]);
        }
        return Reply.of(XenStoreMessage.nulTerminated(n.permissions.format().toArray(String[]::new)));
    }

    private Reply setPermissions(Request r, XenStoreMessage m) {
        List<String> args = m.strings();
        if (args == null || args.size() < 2) {
            return Reply.error(EINVAL);
        }
        String path = XenStorePath.canonical(args.get(0), r.conn.domid(), false);
        XenStorePermissions perms = XenStorePermissions.parse(args.subList(1, args.size()));
        if (path == null || perms == null) {
            return Reply.error(EINVAL);
        }
        if (!r.privileged() && perms.size() > quotas.permissionsPerNode()) {
            return Reply.error(ENOSPC);
        }
        String[] err = new String[1];
        Node n = find(r, path, WRITE | OWNER, err);
        if (n == null) {
            return Reply.error(err[0]);
        }
        if (!r.privileged() && perms.owner() != n.permissions.owner()) {
            return Reply.error(EPERM); // only dom0 gives nodes away
        }
        long gen = nextGeneration();
        r.put(path, n.withPermissions(perms, gen), gen);
        r.changes.add(new Change(path, false, perms, n.permissions));
        return Reply.OK;
    }

    // ------------------------------------------------------------------ watches

    private Reply watch(XenStoreConnection c, XenStoreMessage m, Effects fx) {
        List<String> args = strings(m, 2);
        if (args == null) {
            return Reply.error(EINVAL);
        }
        String raw = args.get(0);
        String path = XenStorePath.canonical(raw, c.domid(), true);
        if (path == null) {
            return Reply.error(EINVAL);
        }
        String token = args.get(1);
        for (Watch w : c.watches) {
            if (w.path().equals(path) && w.token().equals(token)) {
                return Reply.error(EEXIST);
            }
        }
        if (!c.isPrivileged() && c.watches.size() >= quotas.watchesPerConnection()) {
            return Reply.error(E2BIG);
        }
        boolean relative = raw.charAt(0) != '/' && raw.charAt(0) != '@';
        Watch w = new Watch(c, path, token, relative ? XenStorePath.domainPath(c.domid()) : null);
        c.watches.add(w);
        fx.initialEvents.add(w);
        return Reply.OK;
    }

    private Reply unwatch(XenStoreConnection c, XenStoreMessage m) {
        List<String> args = strings(m, 2);
        if (args == null) {
            return Reply.error(EINVAL);
        }
        String path = XenStorePath.canonical(args.get(0), c.domid(), true);
        if (path == null) {
            return Reply.error(EINVAL);
        }
        for (int i = 0; i < c.watches.size(); i++) {
            Watch w = c.watches.get(i);
            if (w.path().equals(path) && w.token().equals(args.get(1))) {
                c.watches.remove(i);
                return Reply.OK;
            }
        }
        return Reply.error(ENOENT);
    }

    private Reply resetWatches(XenStoreConnection c) {
        c.watches.clear();
        c.transactions.clear();
        return Reply.OK;
    }

    private void fire(Change ch, Set<XenStoreConnection> wake) {
        boolean special = XenStorePath.isSpecial(ch.path());
        for (XenStoreConnection c : connections) {
            for (Watch w : c.watches) {
                String eventPath;
                if (special) {
                    if (!w.path().equals(ch.path()) || !c.isPrivileged()) {
                        continue;
                    }
                    eventPath = ch.path();
                } else if (XenStorePath.isSpecial(w.path())) {
                    continue;
                } else if (XenStorePath.isAncestorOrSelf(w.path(), ch.path())) {
                    eventPath = ch.path();
                } else if (ch.recursive() && XenStorePath.isAncestorOrSelf(ch.path(), w.path())) {
                    eventPath = w.path();
                } else {
                    continue;
                }
                if (!special && !c.isPrivileged() && !mayRead(c, ch.permissions())
                        && !(ch.oldPermissions() != null && mayRead(c, ch.oldPermissions()))) {
                    continue;
                }
                if (sendEvent(w, eventPath)) {
                    wake.add(c);
                }
            }
        }
    }

    private boolean mayRead(XenStoreConnection c, XenStorePermissions p) {
        return (access(c, p) & READ) != 0;
    }

    /** Queues a WATCH_EVENT for {@code w} about {@code path}; returns whether it was queued. */
    private boolean sendEvent(Watch w, String path) {
        String shown = path;
        String home = w.relativeTo();
        if (home != null && path.startsWith(home)) {
            shown = path.substring(home.length());
            if (shown.startsWith("/")) {
                shown = shown.substring(1);
            }
        }
        byte[] payload = XenStoreMessage.nulTerminated(shown, w.token());
        if (payload.length > XsdSockmsg.PAYLOAD_MAX) {
            LOG.warn("xenstore: watch event for {} on {} too long ({} bytes), dropped", w.connection(), path,
                    payload.length);
            return false;
        }
        return w.connection().queueEvent(new XenStoreMessage(XenStoreOp.WATCH_EVENT, 0, 0, payload),
                quotas.outputBytes());
    }

    // ------------------------------------------------------------------ transactions

    private Reply transactionStart(XenStoreConnection c, Transaction current, XenStoreMessage m) {
        if (current != null) {
            return Reply.error(EBUSY);
        }
        if (oneString(m) == null) {
            return Reply.error(EINVAL);
        }
        if (!c.isPrivileged() && c.transactions.size() >= quotas.transactionsPerConnection()) {
            return Reply.error(ENOSPC);
        }
        int id = c.nextTransactionId;
        while (id == 0 || c.transactions.containsKey(id)) {
            id++;
        }
        c.nextTransactionId = id + 1;
        c.transactions.put(id, new Transaction(id, tree.copy()));
        return Reply.of(XenStoreMessage.nulTerminated(Integer.toUnsignedString(id)));
    }

    private Reply transactionEnd(XenStoreConnection c, Transaction tx, XenStoreMessage m, Effects fx) {
        if (tx == null) {
            return Reply.error(ENOENT);
        }
        String arg = oneString(m);
        if (!"T".equals(arg) && !"F".equals(arg)) {
            return Reply.error(EINVAL);
        }
        c.transactions.remove(tx.id);
        if (arg.equals("F")) {
            return Reply.OK;
        }
        if (tx.overQuota) {
            return Reply.error(ENOSPC);
        }
        for (Map.Entry<String, Long> e : tx.accessed.entrySet()) {
            Node now = tree.get(e.getKey());
            long seen = now == null ? ABSENT : now.generation;
            if (seen != e.getValue()) {
                return Reply.error(EAGAIN);
            }
        }
        // Nothing the transaction saw has changed: its requests give the same results on the
        // committed tree. Replay them on a copy, and publish the copy only if all succeed.
        NodeTree work = tree.copy();
        List<Change> changes = new ArrayList<>();
        for (XenStoreMessage logged : tx.log) {
            Request r = new Request(c, work, null);
            Reply result = mutate(r, logged);
            if (!result.ok()) {
                return result;
            }
            changes.addAll(r.changes);
        }
        tree = work;
        fx.changes.addAll(changes);
        return Reply.OK;
    }

    // ------------------------------------------------------------------ domains

    private Reply getDomainPath(XenStoreMessage m) {
        int domid = parseDomid(oneString(m));
        if (domid < 0) {
            return Reply.error(EINVAL);
        }
        return Reply.of(XenStoreMessage.nulTerminated(XenStorePath.domainPath(domid)));
    }

    private static int parseGuestDomid(String s) {
        int domid = parseDomid(s);
        return domid > 0 && domid < DOMID_FIRST_RESERVED ? domid : -1;
    }

    /** INTRODUCE "domid\0mfn\0port\0": marks the domain introduced (the host maps rings itself). */
    private Reply introduce(XenStoreMessage m, Effects fx) {
        List<String> args = m.strings();
        if (args == null || args.size() < 3) {
            return Reply.error(EINVAL);
        }
        int domid = parseGuestDomid(args.get(0));
        if (domid < 0 || parseDecimal(args.get(1), 18) < 0 || parseDecimal(args.get(2), 9) < 0) {
            return Reply.error(EINVAL);
        }
        if (!domains.containsKey(domid)) {
            domains.put(domid, new DomainRecord());
            fx.changes.add(new Change(XenStorePath.INTRODUCE_DOMAIN, false, null, null));
        }
        return Reply.OK;
    }

    private Reply release(XenStoreMessage m, Effects fx) {
        int domid = parseGuestDomid(oneString(m));
        if (domid < 0) {
            return Reply.error(EINVAL);
        }
        if (!domains.containsKey(domid)) {
            return Reply.error(ENOENT);
        }
        releaseLocked(domid, fx);
        return Reply.OK;
    }

    private void releaseLocked(int domid, Effects fx) {
        domains.remove(domid);
        for (XenStoreConnection c : List.copyOf(connections)) {
            if (c.domid() == domid) {
                closeLocked(c);
            }
        }
        for (DomainRecord d : domains.values()) {
            if (d.target == domid) {
                d.target = -1;
            }
        }
        fx.changes.add(new Change(XenStorePath.RELEASE_DOMAIN, false, null, null));
    }

    private Reply isDomainIntroduced(XenStoreMessage m) {
        int domid = parseDomid(oneString(m));
        if (domid < 0) {
            return Reply.error(EINVAL);
        }
        boolean introduced = domid == 0 || domains.containsKey(domid);
        return Reply.of(XenStoreMessage.nulTerminated(introduced ? "T" : "F"));
    }

    private Reply resume(XenStoreMessage m) {
        int domid = parseGuestDomid(oneString(m));
        if (domid < 0) {
            return Reply.error(EINVAL);
        }
        return domains.containsKey(domid) ? Reply.OK : Reply.error(ENOENT);
    }

    /** SET_TARGET "domid\0target\0": domid (a device model) gets target's rights. */
    private Reply setTarget(XenStoreMessage m) {
        List<String> args = strings(m, 2);
        if (args == null) {
            return Reply.error(EINVAL);
        }
        int domid = parseGuestDomid(args.get(0));
        int target = parseGuestDomid(args.get(1));
        if (domid < 0 || target < 0) {
            return Reply.error(EINVAL);
        }
        DomainRecord d = domains.get(domid);
        if (d == null || !domains.containsKey(target)) {
            return Reply.error(ENOENT);
        }
        d.target = target;
        return Reply.OK;
    }

    /** CONTROL (alias DEBUG): "print\0text\0" logs the text; "help" lists the commands; "check" does nothing. */
    private Reply control(XenStoreMessage m) {
        List<String> args = m.strings();
        if (args == null || args.isEmpty()) {
            return Reply.error(EINVAL);
        }
        switch (args.get(0)) {
            case "print" -> {
                if (args.size() < 2) {
                    return Reply.error(EINVAL);
                }
                LOG.info("xenstore: {}", args.get(1));
                return Reply.OK;
            }
            case "check" -> {
                return Reply.OK;
            }
            case "help" -> {
                return Reply.of(XenStoreMessage.nulTerminated("check\nhelp\nprint <text>\n"));
            }
            default -> {
                return Reply.error(EINVAL);
            }
        }
    }

    // ------------------------------------------------------------------ host API

    /**
     * Introduces a domain: creates its standard nodes (replacing any left from before) and fires
     * {@code @introduceDomain}. Under {@code /local/domain/<domid>} (owned by the domain, so that it
     * may create nodes in its home within its quota): {@code name}, {@code domid}, {@code vm},
     * {@code memory/target}, {@code memory/static-max}, {@code cpu/<n>/availability},
     * {@code device}, {@code console/{port,ring-ref,type}}, {@code store/{port,ring-ref}}, all
     * owned by dom0 and read-only for the domain; {@code control} read-only with
     * {@code control/shutdown}, {@code control/feature-*} and {@code control/sysrq} writable;
     * {@code data} writable. {@code /vm/<uuid>} holds {@code name} and {@code uuid}.
     */
    public void introduceDomain(DomainInfo info) {
        Set<XenStoreConnection> wake = new LinkedHashSet<>();
        lock.lock();
        try {
            Effects fx = new Effects();
            int id = info.domid();
            String home = XenStorePath.domainPath(id);
            XenStorePermissions guestOwned = XenStorePermissions.of(id, NONE);
            XenStorePermissions readOnly = XenStorePermissions.of(0, NONE).with(id, READ);
            String vm = "/vm/" + info.uuid();
            List<Change> changes = fx.changes;
            removeHostNode(home, changes);
            removeHostNode(vm, changes);
            putHostNode(home, "", guestOwned, changes);
            putHostNode(home + "/name", info.name(), readOnly, changes);
            putHostNode(home + "/domid", Integer.toString(id), readOnly, changes);
            putHostNode(home + "/vm", vm, readOnly, changes);
            putHostNode(home + "/memory", "", readOnly, changes);
            putHostNode(home + "/memory/target", Long.toString(info.memoryKiB()), readOnly, changes);
            putHostNode(home + "/memory/static-max", Long.toString(info.memoryKiB()), readOnly, changes);
            putHostNode(home + "/cpu", "", readOnly, changes);
            for (int v = 0; v < info.vcpus(); v++) {
                putHostNode(home + "/cpu/" + v, "", readOnly, changes);
                putHostNode(home + "/cpu/" + v + "/availability", "online", readOnly, changes);
            }
            putHostNode(home + "/device", "", readOnly, changes);
            putHostNode(home + "/control", "", readOnly, changes);
            putHostNode(home + "/control/shutdown", "", guestOwned, changes);
            for (String f : List.of("feature-poweroff", "feature-reboot", "feature-suspend", "sysrq")) {
                putHostNode(home + "/control/" + f, "", guestOwned, changes);
            }
            putHostNode(home + "/control/platform-feature-xs_reset_watches", "1", readOnly, changes);
            putHostNode(home + "/data", "", guestOwned, changes);
            putHostNode(home + "/console", "", readOnly, changes);
            putHostNode(home + "/console/port", Integer.toString(info.consolePort()), readOnly, changes);
            putHostNode(home + "/console/ring-ref", Long.toString(info.consoleRingRef()), readOnly, changes);
            putHostNode(home + "/console/type", "xenconsoled", readOnly, changes);
            putHostNode(home + "/store", "", readOnly, changes);
            putHostNode(home + "/store/port", Integer.toString(info.storePort()), readOnly, changes);
            putHostNode(home + "/store/ring-ref", Long.toString(info.storeRingRef()), readOnly, changes);
            putHostNode(vm, "", readOnly, changes);
            putHostNode(vm + "/name", info.name(), readOnly, changes);
            putHostNode(vm + "/uuid", info.uuid(), readOnly, changes);
            if (!domains.containsKey(id)) {
                domains.put(id, new DomainRecord());
            }
            changes.add(new Change(XenStorePath.INTRODUCE_DOMAIN, false, null, null));
            publish(fx, wake);
        } finally {
            lock.unlock();
        }
        wake.forEach(XenStoreConnection::signalOutput);
    }

    /**
     * Releases a domain as the toolstack does when it destroys one: removes its home and its
     * {@code /vm} node, closes its connections (their watches and transactions go) and fires
     * {@code @releaseDomain}. A domain that is not introduced is left alone.
     */
    public void releaseDomain(int domid) {
        Set<XenStoreConnection> wake = new LinkedHashSet<>();
        lock.lock();
        try {
            if (!domains.containsKey(domid)) {
                return;
            }
            Effects fx = new Effects();
            String home = XenStorePath.domainPath(domid);
            Node vm = tree.get(home + "/vm");
            if (vm != null) {
                String vmPath = new String(vm.value, StandardCharsets.ISO_8859_1);
                if (XenStorePath.isValidAbsolute(vmPath) && vmPath.startsWith("/vm/")) {
                    removeHostNode(vmPath, fx.changes);
                }
            }
            removeHostNode(home, fx.changes);
            releaseLocked(domid, fx);
            publish(fx, wake);
        } finally {
            lock.unlock();
        }
        wake.forEach(XenStoreConnection::signalOutput);
    }

    /** Whether domain {@code domid} is introduced (dom0 always is). */
    public boolean isIntroduced(int domid) {
        return domid == 0 || locked(() -> domains.containsKey(domid));
    }

    /** Puts a node as the host (no checks), creating parents with inherited permissions. */
    private void putHostNode(String path, String value, XenStorePermissions perms, List<Change> changes) {
        String parent = XenStorePath.parent(path);
        Node up = tree.get(parent);
        if (up == null) {
            putHostNode(parent, "", tree.get("/").permissions, changes);
            up = tree.get(parent);
        }
        long gen = nextGeneration();
        Node old = tree.get(path);
        byte[] v = value.getBytes(StandardCharsets.ISO_8859_1);
        Node n = old == null ? Node.leaf(XenStorePath.lastComponent(path), v, perms, gen)
                : old.withValue(v, gen).withPermissions(perms, gen);
        tree.put(path, n, gen);
        changes.add(new Change(path, false, perms, old == null ? null : old.permissions));
    }

    private void removeHostNode(String path, List<Change> changes) {
        Node old = tree.get(path);
        if (old != null) {
            tree.remove(path, nextGeneration());
            changes.add(new Change(path, true, old.permissions, null));
        }
    }

    /**
     * Runs one request as the privileged host (like a dom0 socket client without watches) and
     * returns the reply: the request's type and the result, or an {@code ERROR} with the name.
     */
    public XenStoreMessage request(int type, int txId, byte[] payload) {
        XenStoreMessage m = new XenStoreMessage(type, 0, txId, payload.clone());
        Set<XenStoreConnection> wake = new LinkedHashSet<>();
        XenStoreMessage reply;
        lock.lock();
        try {
            Effects fx = new Effects();
            reply = handle(host, m, fx);
            fx.initialEvents.clear();
            publish(fx, wake);
        } finally {
            lock.unlock();
        }
        wake.forEach(XenStoreConnection::signalOutput);
        return reply;
    }

    /** Reads a node's value as the host, or null if there is none. */
    public byte[] read(String path) {
        XenStoreMessage r = request(XenStoreOp.READ, 0, XenStoreMessage.nulTerminated(path));
        return r.type() == XenStoreOp.READ ? r.payload() : null;
    }

    /** Writes a node as the host, creating parents; returns "OK" or the error name. */
    public String write(String path, String value) {
        byte[] p = XenStoreMessage.nulTerminated(path);
        byte[] v = value.getBytes(StandardCharsets.ISO_8859_1);
        byte[] payload = Arrays.copyOf(p, p.length + v.length);
        System.arraycopy(v, 0, payload, p.length, v.length);
        return request(XenStoreOp.WRITE, 0, payload).text();
    }

    /** Removes a node as the host; returns "OK" or the error name. */
    public String remove(String path) {
        return request(XenStoreOp.RM, 0, XenStoreMessage.nulTerminated(path)).text();
    }

    /** A node's children as the host, or null if there is no such node. */
    public List<String> directory(String path) {
        XenStoreMessage r = request(XenStoreOp.DIRECTORY, 0, XenStoreMessage.nulTerminated(path));
        if (r.type() != XenStoreOp.DIRECTORY) {
            return null;
        }
        List<String> s = XenStoreMessage.splitStrings(r.payload());
        return s == null ? List.of() : s;
    }

    /** A node's permissions, or null if there is no such node. */
    public XenStorePermissions permissions(String path) {
        return locked(() -> {
            Node n = tree.get(path);
            return n == null ? null : n.permissions;
        });
    }

    /** How many nodes domain {@code domid} owns. */
    public int nodesOwnedBy(int domid) {
        return locked(() -> tree.ownedBy(domid));
    }

    /** The number of nodes in the committed tree. */
    public int nodeCount() {
        return locked(() -> tree.ownerCounts().values().stream().mapToInt(Integer::intValue).sum());
    }
}

package org.jxen.hypercalls.xenstore;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A version of the whole XenStore tree: a root {@link Node} (immutable nodes, so a change copies
 * only the path from the root to the changed node) and the number of nodes each domain owns (for
 * the per-domain node quota). {@link #copy()} is cheap: it shares every node. The committed store
 * is one tree; each transaction works on its own copy, taken when it started.
 *
 * <p>Not thread-safe: used only under the {@link XenStore} lock.
 */
final class NodeTree {
    private Node root;
    private final HashMap<Integer, Integer> owned;

    NodeTree(Node root) {
        this.root = root;
        this.owned = new HashMap<>();
        ArrayDeque<Node> todo = new ArrayDeque<>();
        todo.push(root);
        while (!todo.isEmpty()) {
            Node n = todo.pop();
            owned.merge(n.permissions.owner(), 1, Integer::sum);
            for (Node c : n.children) {
                todo.push(c);
            }
        }
    }

    private NodeTree(Node root, HashMap<Integer, Integer> owned) {
        this.root = root;
        this.owned = owned;
    }

    /** An independent tree with the same contents. */
    NodeTree copy() {
        return new NodeTree(root, new HashMap<>(owned));
    }

    Node root() {
        return root;
    }

    /** How many nodes domain {@code domid} owns. */
    int ownedBy(int domid) {
        return owned.getOrDefault(domid, 0);
    }

    /** A snapshot of the node counts by owner. */
    Map<Integer, Integer> ownerCounts() {
        return Map.copyOf(owned);
    }

    /** The node at absolute {@code path}, or null. */
    Node get(String path) {
        Node n = root;
        int length = path.length();
        int from = 1;
        while (n != null && from < length) {
            int to = path.indexOf('/', from);
            if (to < 0) {
                to = length;
            }
            n = n.child(path, from, to);
            from = to + 1;
        }
        return n;
    }

    /**
     * Puts {@code node} at absolute {@code path}, replacing the node there or adding it as its
     * parent's last child; a parent that gains a child takes {@code generation}. The parent must
     * exist. The caller builds {@code node} with the children it should keep.
     */
    void put(String path, Node node, long generation) {
        if (path.equals("/")) {
            count(root, -1);
            root = node;
            count(node, +1);
            return;
        }
        Node[] chain = chainToParent(path);
        Node parent = chain[chain.length - 1];
        int index = parent.indexOf(node.name);
        Node newParent;
        if (index < 0) {
            newParent = parent.withAddedChild(node, generation);
        } else {
            count(parent.children[index], -1);
            newParent = parent.withReplacedChild(index, node);
        }
        count(node, +1);
        rebuild(chain, newParent);
    }

    /** Removes the node at {@code path} and everything below it; its parent takes {@code generation}. */
    void remove(String path, long generation) {
        Node[] chain = chainToParent(path);
        Node parent = chain[chain.length - 1];
        int index = parent.indexOf(XenStorePath.lastComponent(path));
        if (index < 0) {
            return;
        }
        ArrayDeque<Node> todo = new ArrayDeque<>();
        todo.push(parent.children[index]);
        while (!todo.isEmpty()) {
            Node n = todo.pop();
            count(n, -1);
            for (Node c : n.children) {
                todo.push(c);
            }
        }
        rebuild(chain, parent.withoutChild(index, generation));
    }

    private void count(Node n, int delta) {
        owned.merge(n.permissions.owner(), delta, (a, b) -> a + b == 0 ? null : a + b);
    }

    /** The nodes from the root down to the parent of {@code path}; throws if one is missing (a bug). */
    private Node[] chainToParent(String path) {
        int depth = 0;
        for (int i = 0; i < path.length(); i++) {
            if (path.charAt(i) == '/') {
                depth++;
            }
        }
        Node[] chain = new Node[depth];
        Node n = root;
        chain[0] = n;
        int from = 1;
        for (int d = 1; d < depth; d++) {
            int to = path.indexOf('/', from);
            n = n.child(path, from, to);
            if (n == null) {
                throw new IllegalStateException("no parent for " + path);
            }
            chain[d] = n;
            from = to + 1;
        }
        return chain;
    }

    /** Replaces {@code chain}'s last node with {@code newLast} and copies the path up to the root. */
    private void rebuild(Node[] chain, Node newLast) {
        Node changed = newLast;
        for (int d = chain.length - 2; d >= 0; d--) {
            Node up = chain[d];
            changed = up.withReplacedChild(up.indexOf(chain[d + 1].name), changed);
        }
        root = changed;
    }
}

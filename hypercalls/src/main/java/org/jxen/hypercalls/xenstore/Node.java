package org.jxen.hypercalls.xenstore;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One XenStore node, immutable: its name (last path component), value, permissions, children in
 * the order they were created, and generation. The generation changes when the node's value or
 * permissions change or a child is added or removed, not when something below a child changes; a
 * transaction compares generations to find conflicts, and {@code DIRECTORY_PART} reports it so that
 * a client can see that a listing changed between two parts.
 *
 * <p>Immutable (the value array is never written after construction); safe from any thread.
 */
final class Node {
    private static final Node[] NO_CHILDREN = new Node[0];
    static final byte[] EMPTY = new byte[0];

    final String name;
    final byte[] value;
    final XenStorePermissions permissions;
    final Node[] children;
    final long generation;

    private Node(String name, byte[] value, XenStorePermissions permissions, Node[] children, long generation) {
        this.name = name;
        this.value = value;
        this.permissions = permissions;
        this.children = children;
        this.generation = generation;
    }

    /** A node without children. {@code value} is kept, not copied: the caller must not change it. */
    static Node leaf(String name, byte[] value, XenStorePermissions permissions, long generation) {
        return new Node(name, value, permissions, NO_CHILDREN, generation);
    }

    Node withValue(byte[] newValue, long newGeneration) {
        return new Node(name, newValue, permissions, children, newGeneration);
    }

    Node withPermissions(XenStorePermissions newPermissions, long newGeneration) {
        return new Node(name, value, newPermissions, children, newGeneration);
    }

    /** The index of the child called {@code childName}, or -1. */
    int indexOf(String childName) {
        for (int i = 0; i < children.length; i++) {
            if (children[i].name.equals(childName)) {
                return i;
            }
        }
        return -1;
    }

    /** The child whose name is {@code path.substring(from, to)}, or null. */
    Node child(String path, int from, int to) {
        int n = to - from;
        for (Node c : children) {
            if (c.name.length() == n && path.startsWith(c.name, from)) {
                return c;
            }
        }
        return null;
    }

    /** This node with {@code child} added at the end of the list: a new generation. */
    Node withAddedChild(Node child, long newGeneration) {
        Node[] c = Arrays.copyOf(children, children.length + 1);
        c[children.length] = child;
        return new Node(name, value, permissions, c, newGeneration);
    }

    /** This node with child {@code index} replaced: the same generation (the child set is unchanged). */
    Node withReplacedChild(int index, Node child) {
        Node[] c = children.clone();
        c[index] = child;
        return new Node(name, value, permissions, c, generation);
    }

    /** This node without child {@code index}: a new generation. */
    Node withoutChild(int index, long newGeneration) {
        Node[] c = new Node[children.length - 1];
        System.arraycopy(children, 0, c, 0, index);
        System.arraycopy(children, index + 1, c, index, children.length - index - 1);
        return new Node(name, value, permissions, c, newGeneration);
    }

    /** The children's names, each followed by a NUL: the payload of a {@code DIRECTORY} reply. */
    byte[] childList() {
        int n = 0;
        for (Node c : children) {
            n += c.name.length() + 1;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (Node c : children) {
            byte[] b = c.name.getBytes(StandardCharsets.ISO_8859_1);
            System.arraycopy(b, 0, out, at, b.length);
            at += b.length + 1;
        }
        return out;
    }

    @Override
    public String toString() {
        return "node " + name + " gen " + generation + " perms " + permissions + " children " + children.length;
    }
}

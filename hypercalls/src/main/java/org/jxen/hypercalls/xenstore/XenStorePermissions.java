package org.jxen.hypercalls.xenstore;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The permissions of one XenStore node, as xenstored keeps them: a list of (domid, permission)
 * entries whose first entry names the node's owner and the permission of every domain that no
 * later entry names. The owner, and any privileged connection (dom0), may do everything, including
 * changing the permissions. A later entry that names the asking domain (or the domain it is the
 * device model of, see {@code SET_TARGET}) gives that domain exactly the entry's permission; the
 * first matching entry wins.
 *
 * <p>On the wire each entry is a letter and a decimal domid: {@code n} none, {@code r} read,
 * {@code w} write, {@code b} both; {@code "b0"}, {@code "r5"}.
 *
 * <p>Immutable; safe from any thread.
 */
public final class XenStorePermissions {
    /** No access. */
    public static final int NONE = 0;
    /** May read the value and list the children. */
    public static final int READ = 1;
    /** May write the value, create children and remove the node. */
    public static final int WRITE = 2;
    /** Read and write. */
    public static final int BOTH = READ | WRITE;
    /** Only in an access mask: may change the permissions (owner or privileged). */
    public static final int OWNER = 4;

    /** The largest domid a permission entry may name ({@code domid_t} is 16 bits). */
    public static final int MAX_DOMID = 0xFFFF;

    private final int[] domids;
    private final int[] permissions;

    private XenStorePermissions(int[] domids, int[] permissions) {
        this.domids = domids;
        this.permissions = permissions;
    }

    /** A node owned by {@code owner} that every other domain may access with {@code defaultPermission}. */
    public static XenStorePermissions of(int owner, int defaultPermission) {
        checkEntry(owner, defaultPermission);
        return new XenStorePermissions(new int[] {owner}, new int[] {defaultPermission});
    }

    /** This list with one more entry: {@code domid} gets {@code permission}. */
    public XenStorePermissions with(int domid, int permission) {
        checkEntry(domid, permission);
        int[] d = Arrays.copyOf(domids, domids.length + 1);
        int[] p = Arrays.copyOf(permissions, permissions.length + 1);
        d[d.length - 1] = domid;
        p[p.length - 1] = permission;
        return new XenStorePermissions(d, p);
    }

    /** This list with a different owner (the first entry's domid); the default permission stays. */
    public XenStorePermissions withOwner(int owner) {
        if (owner == domids[0]) {
            return this;
        }
        checkEntry(owner, NONE);
        int[] d = domids.clone();
        d[0] = owner;
        return new XenStorePermissions(d, permissions);
    }

    private static void checkEntry(int domid, int permission) {
        if (domid < 0 || domid > MAX_DOMID || permission < NONE || permission > BOTH) {
            throw new IllegalArgumentException("bad permission entry: domid " + domid + ", permission " + permission);
        }
    }

    /**
     * Parses the wire form, one entry per string ({@code ["n0", "r5"]}). Returns null when the list
     * is empty or an entry is not a permission letter followed by a decimal domid up to
     * {@link #MAX_DOMID}.
     */
    public static XenStorePermissions parse(List<String> entries) {
        if (entries.isEmpty()) {
            return null;
        }
        int[] d = new int[entries.size()];
        int[] p = new int[entries.size()];
        for (int i = 0; i < d.length; i++) {
            String e = entries.get(i);
            if (e.length() < 2 || e.length() > 6) {
                return null;
            }
            p[i] = switch (e.charAt(0)) {
                case 'n' -> NONE;
                case 'r' -> READ;
                case 'w' -> WRITE;
                case 'b' -> BOTH;
                default -> -1;
            };
            int id = 0;
            for (int k = 1; k < e.length(); k++) {
                char c = e.charAt(k);
                if (c < '0' || c > '9') {
                    return null;
                }
                id = id * 10 + (c - '0');
            }
            if (p[i] < 0 || id > MAX_DOMID) {
                return null;
            }
            d[i] = id;
        }
        return new XenStorePermissions(d, p);
    }

    /** The wire form, one string per entry, owner first. */
    public List<String> format() {
        List<String> out = new ArrayList<>(domids.length);
        for (int i = 0; i < domids.length; i++) {
            out.add(String.valueOf(letter(permissions[i])) + domids[i]);
        }
        return out;
    }

    private static char letter(int permission) {
        return switch (permission) {
            case READ -> 'r';
            case WRITE -> 'w';
            case BOTH -> 'b';
            default -> 'n';
        };
    }

    /** The owner: the first entry's domid. */
    public int owner() {
        return domids[0];
    }

    /** The permission of domains that no later entry names: the first entry's permission. */
    public int defaultPermission() {
        return permissions[0];
    }

    /** The number of entries, at least one. */
    public int size() {
        return domids.length;
    }

    public int domid(int entry) {
        return domids[entry];
    }

    public int permission(int entry) {
        return permissions[entry];
    }

    /**
     * What an unprivileged domain may do: a mask of {@link #READ}, {@link #WRITE} and
     * {@link #OWNER}. {@code target} is the domain that {@code domid} serves as device model (its
     * {@code SET_TARGET}), or -1: the domain then has the target's rights as well as its own.
     */
    public int accessFor(int domid, int target) {
        if (domids[0] == domid || (target >= 0 && domids[0] == target)) {
            return READ | WRITE | OWNER;
        }
        for (int i = 1; i < domids.length; i++) {
            if (domids[i] == domid || (target >= 0 && domids[i] == target)) {
                return permissions[i];
            }
        }
        return permissions[0];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof XenStorePermissions p && Arrays.equals(domids, p.domids)
                && Arrays.equals(permissions, p.permissions);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(domids) + Arrays.hashCode(permissions);
    }

    @Override
    public String toString() {
        return String.join(",", format());
    }
}

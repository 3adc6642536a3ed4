package org.jxen.hypercalls.xenstore;

import org.jxen.abi.XsdSockmsg;

/**
 * XenStore path rules. A path is absolute ({@code /local/domain/1/name}) or relative to the asking
 * domain's home {@code /local/domain/<domid>}; a relative path is at most
 * {@link XsdSockmsg#REL_PATH_MAX} characters and an absolute one (after the home is prefixed) at
 * most {@link XsdSockmsg#ABS_PATH_MAX}. Characters are {@code [A-Za-z0-9-/_@]}; no empty component
 * ({@code //}) and no trailing slash, except the root {@code /} itself. Watches may also name the
 * special paths {@link #INTRODUCE_DOMAIN} and {@link #RELEASE_DOMAIN}.
 *
 * <p>Pure functions; safe from any thread.
 */
public final class XenStorePath {
    private XenStorePath() {
    }

    /** The special watch path that fires when a domain is introduced. */
    public static final String INTRODUCE_DOMAIN = "@introduceDomain";
    /** The special watch path that fires when a domain is released. */
    public static final String RELEASE_DOMAIN = "@releaseDomain";

    /** The root of every domain's home. */
    public static final String DOMAIN_ROOT = "/local/domain";

    /** {@code /local/domain/<domid>}: the home that a domain's relative paths start from. */
    public static String domainPath(int domid) {
        return DOMAIN_ROOT + "/" + domid;
    }

    /** Whether {@code path} is one of the special watch paths. */
    public static boolean isSpecial(String path) {
        return INTRODUCE_DOMAIN.equals(path) || RELEASE_DOMAIN.equals(path);
    }

    /**
     * The absolute form of {@code path} as domain {@code domid} writes it, or null when it breaks a
     * rule. With {@code allowSpecial} (watches) the special paths are accepted and returned as they
     * are.
     */
    public static String canonical(String path, int domid, boolean allowSpecial) {
        if (path.isEmpty()) {
            return null;
        }
        if (path.charAt(0) == '@') {
            return allowSpecial && isSpecial(path) ? path : null;
        }
        String absolute;
        if (path.charAt(0) == '/') {
            absolute = path;
        } else {
            if (path.length() > XsdSockmsg.REL_PATH_MAX) {
                return null;
            }
            absolute = domainPath(domid) + "/" + path;
        }
        return isValidAbsolute(absolute) ? absolute : null;
    }

    /** Whether {@code path} is a well-formed absolute path within the length limit. */
    public static boolean isValidAbsolute(String path) {
        int n = path.length();
        if (n == 0 || n > XsdSockmsg.ABS_PATH_MAX || path.charAt(0) != '/') {
            return false;
        }
        if (n == 1) {
            return true;
        }
        if (path.charAt(n - 1) == '/') {
            return false;
        }
        char previous = 0;
        for (int i = 0; i < n; i++) {
            char c = path.charAt(i);
            if (!isValidChar(c) || (c == '/' && previous == '/')) {
                return false;
            }
            previous = c;
        }
        return true;
    }

    private static boolean isValidChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '-' || c == '/' || c == '_' || c == '@';
    }

    /** The parent of an absolute path, or null for the root. */
    public static String parent(String path) {
        if (path.equals("/")) {
            return null;
        }
        int i = path.lastIndexOf('/');
        return i == 0 ? "/" : path.substring(0, i);
    }

    /** The last component of an absolute path ("" for the root). */
    public static String lastComponent(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    /** Whether {@code path} is {@code ancestor} or lies below it (both absolute). */
    public static boolean isAncestorOrSelf(String ancestor, String path) {
        if (!path.startsWith(ancestor)) {
            return false;
        }
        return path.length() == ancestor.length() || ancestor.equals("/") || path.charAt(ancestor.length()) == '/';
    }
}

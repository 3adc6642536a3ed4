package org.jxen.hypercalls;

import org.jxen.abi.Gntst;

/**
 * A grant could not be mapped: the {@link Gntst} status Xen would give, and why. Thrown by
 * {@link GrantTable#mapForeign} for conditions the guest controls (its grant entries), so a backend
 * must expect it. Immutable.
 */
public final class GrantException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int status;

    public GrantException(int status, String message) {
        super("GNTST_" + Gntst.name(status) + ": " + message);
        this.status = status;
    }

    /** The {@link Gntst} status. */
    public int status() {
        return status;
    }
}

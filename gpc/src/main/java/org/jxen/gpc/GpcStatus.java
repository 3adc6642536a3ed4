package org.jxen.gpc;

/** The outcome of activating or refreshing a {@link GfnToPfnCache}: a value, never an exception. */
public enum GpcStatus {
    /** The cache is valid: it maps the whole area. */
    OK,
    /** The cache is not active (never activated, or deactivated). */
    NOT_ACTIVE,
    /** Part of the area is not backed by any memslot now; the cache stays active and refreshes later. */
    NOT_BACKED,
    /** Part of the area lies in a read-only memslot; the cache stays active and refreshes later. */
    READ_ONLY,
    /** The length is zero, negative or larger than {@link GfnToPfnCache#MAX_LENGTH}; nothing changed. */
    BAD_LENGTH,
    /** The address is negative or the area wraps around the address space; nothing changed. */
    BAD_ADDRESS,
    /** A refresh could not complete without waiting, and the caller may not wait (nested or tryLock). */
    BUSY
}

package org.jxen.hypercalls.mm;

/**
 * Why a translation by {@link PageWalker} failed. Each becomes {@code -EFAULT} for the guest; the
 * reason (and the level, see {@link PageWalker#faultLevel(long)}) is for logs and tests.
 */
public enum WalkFault {
    /** An entry of the walk had its present bit clear (at the level the result names). */
    NOT_PRESENT,
    /** A present entry had a reserved bit set (at the level the result names). */
    RESERVED_BIT,
    /** A user-mode access (CPL 3) to a page that is not user-accessible at every level. */
    USER_TO_SUPERVISOR_PAGE,
    /** A write to a page that is read-only at some level, by user mode or with CR0.WP set. */
    WRITE_TO_READ_ONLY,
    /** 4-level paging: the address is not canonical. 32-bit modes: the address is above 4 GiB. */
    NON_CANONICAL,
    /** An entry of the walk (or PAE's PDPT at CR3) is not in guest RAM (no memslot backs it). */
    TABLE_NOT_IN_RAM,
    /** CR4.LA57 is set: 5-level paging is not supported by this walker. */
    LA57_UNSUPPORTED
}

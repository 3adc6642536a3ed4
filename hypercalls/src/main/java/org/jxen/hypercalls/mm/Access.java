package org.jxen.hypercalls.mm;

/**
 * The kind of a data access by guest-virtual address. Whether it is a user-mode or a
 * supervisor-mode access comes from the CPL in {@link PagingState} (CPL 3 is user mode), as for
 * the processor. Instruction fetches are not modelled: hypercall arguments are data.
 */
public enum Access {
    READ,
    WRITE
}

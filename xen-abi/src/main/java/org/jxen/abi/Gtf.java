package org.jxen.abi;

/**
 * The {@code flags} of a grant entry ({@code GTF_*} in {@code xen/grant_table.h}, see
 * {@link GrantEntryV1}). The low two bits are the entry's type; the guest sets
 * {@link #READONLY}; the hypervisor sets {@link #READING} and {@link #WRITING} while another
 * domain has the granted frame mapped, and a guest must not end a grant while either is set.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class Gtf {
    private Gtf() {
    }

    public static final int INVALID = 0;
    public static final int PERMIT_ACCESS = 1;
    public static final int ACCEPT_TRANSFER = 2;
    public static final int TRANSITIVE = 3;
    public static final int TYPE_MASK = 3;
    public static final int READONLY = 1 << 2;
    public static final int READING = 1 << 3;
    public static final int WRITING = 1 << 4;
    public static final int SUB_PAGE = 1 << 8;
}

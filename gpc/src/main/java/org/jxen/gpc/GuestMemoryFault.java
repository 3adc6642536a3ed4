package org.jxen.gpc;

/**
 * A guest-physical access that cannot be done: the address is not backed, read-only for a write,
 * or misaligned for an atomic access. A value-like exception without a stack trace (it is cheap, and
 * it reports a guest-caused condition, not a host bug): hypercall handlers turn it into
 * {@code -EFAULT}. Immutable.
 */
public final class GuestMemoryFault extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long gpa;

    public GuestMemoryFault(long gpa, String reason) {
        super(reason + " at gpa 0x" + Long.toHexString(gpa), null, false, false);
        this.gpa = gpa;
    }

    /** The first guest-physical address that could not be accessed. */
    public long gpa() {
        return gpa;
    }
}

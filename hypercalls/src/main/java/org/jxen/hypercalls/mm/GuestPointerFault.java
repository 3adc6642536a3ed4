package org.jxen.hypercalls.mm;

import org.jxen.abi.XenErrno;

/**
 * A bad guest pointer met by one of the typed accessors of {@link GuestVirtualMemory} ({@code
 * readU64} and the like). It is a control-flow signal inside one hypercall handler, never a
 * result: the handler (or, as a safety net, the dispatcher) catches it and returns {@link
 * #errno()}, {@code -EFAULT}. It must not escape to the vCPU loop.
 *
 * <p>Each {@link GuestVirtualMemory} owns one instance, thrown again on every fault, so a fault
 * costs no allocation; it has no stack trace and no suppression. It therefore describes only the
 * most recent fault of its owner, and must not be kept.
 */
public final class GuestPointerFault extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private transient long gva;
    private transient long walkResult;

    GuestPointerFault() {
        super(null, null, false, false);
    }

    GuestPointerFault set(long faultGva, long result) {
        this.gva = faultGva;
        this.walkResult = result;
        return this;
    }

    /** The guest-virtual address of the byte (or the page) at fault. */
    public long gva() {
        return gva;
    }

    /** Why: a {@link WalkFault}, or null when the translation succeeded but the gpa is not in (writable) RAM. */
    public WalkFault walkFault() {
        return PageWalker.fault(walkResult);
    }

    /** What the hypercall returns: {@code -EFAULT}. */
    public long errno() {
        return -XenErrno.EFAULT;
    }

    @Override
    public String getMessage() {
        return "bad guest pointer at gva 0x" + Long.toHexString(gva) + ": "
                + (walkResult < 0 ? PageWalker.describe(walkResult) : "gpa 0x" + Long.toHexString(walkResult)
                        + " is not in guest RAM (or read-only)");
    }
}

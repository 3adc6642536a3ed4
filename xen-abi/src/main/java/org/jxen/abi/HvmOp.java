package org.jxen.abi;

/**
 * Sub-operations of {@link Hypercall#HVM_OP} ({@code HVMOP_*} in {@code xen/hvm/hvm_op.h}).
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class HvmOp {
    private HvmOp() {
    }

    public static final int SET_PARAM = 0;
    public static final int GET_PARAM = 1;
    public static final int PAGETABLE_DYING = 9;
    public static final int GET_TIME = 10;
    public static final int SET_EVTCHN_UPCALL_VECTOR = 23;

    /** The Xen name of a value (e.g. "set_param"), or "hvmop_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case SET_PARAM -> "set_param";
            case GET_PARAM -> "get_param";
            case PAGETABLE_DYING -> "pagetable_dying";
            case GET_TIME -> "get_time";
            case SET_EVTCHN_UPCALL_VECTOR -> "set_evtchn_upcall_vector";
            default -> "hvmop_" + value;
        };
    }
}

package org.jxen.abi;

/**
 * Sub-operations of {@link Hypercall#EVENT_CHANNEL_OP} ({@code EVTCHNOP_*} in
 * {@code xen/event_channel.h}).
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class EvtchnOp {
    private EvtchnOp() {
    }

    public static final int BIND_INTERDOMAIN = 0;
    public static final int BIND_VIRQ = 1;
    public static final int BIND_PIRQ = 2;
    public static final int CLOSE = 3;
    public static final int SEND = 4;
    public static final int STATUS = 5;
    public static final int ALLOC_UNBOUND = 6;
    public static final int BIND_IPI = 7;
    public static final int BIND_VCPU = 8;
    public static final int UNMASK = 9;
    public static final int RESET = 10;
    public static final int INIT_CONTROL = 11;
    public static final int EXPAND_ARRAY = 12;
    public static final int SET_PRIORITY = 13;
    /** Hypervisor-internal (guarded by {@code __XEN__}): the continuation of {@link #RESET}. */
    public static final int RESET_CONT = 14;

    /** The Xen name of a value (e.g. "bind_interdomain"), or "evtchnop_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case BIND_INTERDOMAIN -> "bind_interdomain";
            case BIND_VIRQ -> "bind_virq";
            case BIND_PIRQ -> "bind_pirq";
            case CLOSE -> "close";
            case SEND -> "send";
            case STATUS -> "status";
            case ALLOC_UNBOUND -> "alloc_unbound";
            case BIND_IPI -> "bind_ipi";
            case BIND_VCPU -> "bind_vcpu";
            case UNMASK -> "unmask";
            case RESET -> "reset";
            case INIT_CONTROL -> "init_control";
            case EXPAND_ARRAY -> "expand_array";
            case SET_PRIORITY -> "set_priority";
            case RESET_CONT -> "reset_cont";
            default -> "evtchnop_" + value;
        };
    }
}

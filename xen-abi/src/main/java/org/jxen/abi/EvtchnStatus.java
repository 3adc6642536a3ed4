package org.jxen.abi;

/**
 * Event-channel states reported by {@link EvtchnOp#STATUS} ({@code EVTCHNSTAT_*} in
 * {@code xen/event_channel.h}), the {@code status} of {@link EvtchnStatusArg}.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class EvtchnStatus {
    private EvtchnStatus() {
    }

    public static final int CLOSED = 0;
    public static final int UNBOUND = 1;
    public static final int INTERDOMAIN = 2;
    public static final int PIRQ = 3;
    public static final int VIRQ = 4;
    public static final int IPI = 5;

    /** The Xen name of a value (e.g. "closed"), or "evtchnstat_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case CLOSED -> "closed";
            case UNBOUND -> "unbound";
            case INTERDOMAIN -> "interdomain";
            case PIRQ -> "pirq";
            case VIRQ -> "virq";
            case IPI -> "ipi";
            default -> "evtchnstat_" + value;
        };
    }
}

package org.jxen.abi;

/**
 * Sub-operations of {@link Hypercall#SCHED_OP} ({@code SCHEDOP_*} in {@code xen/sched.h}); the shutdown
 * reasons are in {@link ShutdownReason}.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class SchedOp {
    private SchedOp() {
    }

    public static final int YIELD = 0;
    public static final int BLOCK = 1;
    public static final int SHUTDOWN = 2;
    public static final int POLL = 3;
    public static final int REMOTE_SHUTDOWN = 4;
    public static final int SHUTDOWN_CODE = 5;
    public static final int WATCHDOG = 6;
    public static final int PIN_OVERRIDE = 7;

    /** The Xen name of a value (e.g. "yield"), or "schedop_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case YIELD -> "yield";
            case BLOCK -> "block";
            case SHUTDOWN -> "shutdown";
            case POLL -> "poll";
            case REMOTE_SHUTDOWN -> "remote_shutdown";
            case SHUTDOWN_CODE -> "shutdown_code";
            case WATCHDOG -> "watchdog";
            case PIN_OVERRIDE -> "pin_override";
            default -> "schedop_" + value;
        };
    }
}

package org.jxen.abi;

/**
 * Reasons of {@link SchedOp#SHUTDOWN} ({@code SHUTDOWN_*} in {@code xen/sched.h}), the {@code reason} of
 * {@link SchedShutdown}.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class ShutdownReason {
    private ShutdownReason() {
    }

    public static final int POWEROFF = 0;
    public static final int REBOOT = 1;
    public static final int SUSPEND = 2;
    public static final int CRASH = 3;
    public static final int WATCHDOG = 4;
    public static final int SOFT_RESET = 5;

    /** The Xen name of a value (e.g. "poweroff"), or "shutdown_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case POWEROFF -> "poweroff";
            case REBOOT -> "reboot";
            case SUSPEND -> "suspend";
            case CRASH -> "crash";
            case WATCHDOG -> "watchdog";
            case SOFT_RESET -> "soft_reset";
            default -> "shutdown_" + value;
        };
    }
}

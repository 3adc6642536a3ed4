package org.jxen.abi;

/**
 * Virtual IRQs a guest can bind an event channel to ({@code VIRQ_*} in {@code xen/xen.h}).
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class Virq {
    private Virq() {
    }

    public static final int TIMER = 0;
    public static final int DEBUG = 1;
    public static final int CONSOLE = 2;
    public static final int DOM_EXC = 3;

    /** {@code NR_VIRQS}: the number of VIRQ numbers (valid VIRQs are below it). */
    public static final int NR_VIRQS = 24;

    /** The Xen name of a value (e.g. "TIMER"), or "virq_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case TIMER -> "TIMER";
            case DEBUG -> "DEBUG";
            case CONSOLE -> "CONSOLE";
            case DOM_EXC -> "DOM_EXC";
            default -> "virq_" + value;
        };
    }
}

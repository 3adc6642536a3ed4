package org.jxen.abi;

/**
 * Sub-operations of {@link Hypercall#CONSOLE_IO} ({@code CONSOLEIO_*} in {@code xen/xen.h}).
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class ConsoleIo {
    private ConsoleIo() {
    }

    public static final int WRITE = 0;
    public static final int READ = 1;

    /** The Xen name of a value (e.g. "write"), or "consoleio_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case WRITE -> "write";
            case READ -> "read";
            default -> "consoleio_" + value;
        };
    }
}

package org.jxen.abi;

/**
 * vCPU run states ({@code RUNSTATE_*} in {@code xen/vcpu.h}), the {@code state} of
 * {@link VcpuRunstateInfo} and the index of its {@code time} array.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class Runstate {
    private Runstate() {
    }

    public static final int RUNNING = 0;
    public static final int RUNNABLE = 1;
    public static final int BLOCKED = 2;
    public static final int OFFLINE = 3;

    /**
     * {@code XEN_RUNSTATE_UPDATE}: set in {@code state_entry_time} while the host rewrites a guest's
     * runstate area; the guest retries its read while it sees it.
     */
    public static final long XEN_RUNSTATE_UPDATE = 1L << 63;

    /** The Xen name of a value (e.g. "running"), or "runstate_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case RUNNING -> "running";
            case RUNNABLE -> "runnable";
            case BLOCKED -> "blocked";
            case OFFLINE -> "offline";
            default -> "runstate_" + value;
        };
    }
}

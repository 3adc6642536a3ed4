package org.jxen.abi;

/**
 * Sub-operations of {@link Hypercall#VCPU_OP} ({@code VCPUOP_*} in {@code xen/vcpu.h}) and the flag of
 * {@link VcpuSetSingleshotTimer}.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class VcpuOp {
    private VcpuOp() {
    }

    public static final int INITIALISE = 0;
    public static final int UP = 1;
    public static final int DOWN = 2;
    public static final int IS_UP = 3;
    public static final int GET_RUNSTATE_INFO = 4;
    public static final int REGISTER_RUNSTATE_MEMORY_AREA = 5;
    public static final int SET_PERIODIC_TIMER = 6;
    public static final int STOP_PERIODIC_TIMER = 7;
    public static final int SET_SINGLESHOT_TIMER = 8;
    public static final int STOP_SINGLESHOT_TIMER = 9;
    public static final int REGISTER_VCPU_INFO = 10;
    public static final int SEND_NMI = 11;
    public static final int GET_PHYSID = 12;
    public static final int REGISTER_VCPU_TIME_MEMORY_AREA = 13;

    /** {@code VCPU_SSHOTTMR_future}: fail with {@code -ETIME} if the timeout is already in the past. */
    public static final int VCPU_SSHOTTMR_FUTURE = 1 << 0;

    /** The Xen name of a value (e.g. "initialise"), or "vcpuop_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case INITIALISE -> "initialise";
            case UP -> "up";
            case DOWN -> "down";
            case IS_UP -> "is_up";
            case GET_RUNSTATE_INFO -> "get_runstate_info";
            case REGISTER_RUNSTATE_MEMORY_AREA -> "register_runstate_memory_area";
            case SET_PERIODIC_TIMER -> "set_periodic_timer";
            case STOP_PERIODIC_TIMER -> "stop_periodic_timer";
            case SET_SINGLESHOT_TIMER -> "set_singleshot_timer";
            case STOP_SINGLESHOT_TIMER -> "stop_singleshot_timer";
            case REGISTER_VCPU_INFO -> "register_vcpu_info";
            case SEND_NMI -> "send_nmi";
            case GET_PHYSID -> "get_physid";
            case REGISTER_VCPU_TIME_MEMORY_AREA -> "register_vcpu_time_memory_area";
            default -> "vcpuop_" + value;
        };
    }
}

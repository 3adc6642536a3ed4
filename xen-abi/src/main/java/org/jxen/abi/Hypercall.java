package org.jxen.abi;

/**
 * Xen hypercall numbers ({@code __HYPERVISOR_*} in {@code xen/xen.h}): the value a guest puts in
 * {@code rax}/{@code eax} (or the slot it calls in the {@link HypercallPage}).
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class Hypercall {
    private Hypercall() {
    }

    public static final int SET_TRAP_TABLE = 0;
    public static final int MMU_UPDATE = 1;
    public static final int SET_GDT = 2;
    public static final int STACK_SWITCH = 3;
    public static final int SET_CALLBACKS = 4;
    public static final int FPU_TASKSWITCH = 5;
    public static final int SCHED_OP_COMPAT = 6;
    public static final int PLATFORM_OP = 7;
    public static final int SET_DEBUGREG = 8;
    public static final int GET_DEBUGREG = 9;
    public static final int UPDATE_DESCRIPTOR = 10;
    public static final int MEMORY_OP = 12;
    public static final int MULTICALL = 13;
    public static final int UPDATE_VA_MAPPING = 14;
    public static final int SET_TIMER_OP = 15;
    public static final int EVENT_CHANNEL_OP_COMPAT = 16;
    public static final int XEN_VERSION = 17;
    public static final int CONSOLE_IO = 18;
    public static final int PHYSDEV_OP_COMPAT = 19;
    public static final int GRANT_TABLE_OP = 20;
    public static final int VM_ASSIST = 21;
    public static final int UPDATE_VA_MAPPING_OTHERDOMAIN = 22;
    public static final int IRET = 23;
    public static final int VCPU_OP = 24;
    public static final int SET_SEGMENT_BASE = 25;
    public static final int MMUEXT_OP = 26;
    public static final int XSM_OP = 27;
    public static final int NMI_OP = 28;
    public static final int SCHED_OP = 29;
    public static final int CALLBACK_OP = 30;
    public static final int XENOPROF_OP = 31;
    public static final int EVENT_CHANNEL_OP = 32;
    public static final int PHYSDEV_OP = 33;
    public static final int HVM_OP = 34;
    public static final int SYSCTL = 35;
    public static final int DOMCTL = 36;
    public static final int KEXEC_OP = 37;
    public static final int TMEM_OP = 38;
    public static final int ARGO_OP = 39;
    public static final int XENPMU_OP = 40;
    public static final int DM_OP = 41;
    public static final int HYPFS_OP = 42;
    public static final int ARCH_0 = 48;
    public static final int ARCH_1 = 49;
    public static final int ARCH_2 = 50;
    public static final int ARCH_3 = 51;
    public static final int ARCH_4 = 52;
    public static final int ARCH_5 = 53;
    public static final int ARCH_6 = 54;
    public static final int ARCH_7 = 55;

    /** The Xen name of a value (e.g. "set_trap_table"), or "hypercall_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case SET_TRAP_TABLE -> "set_trap_table";
            case MMU_UPDATE -> "mmu_update";
            case SET_GDT -> "set_gdt";
            case STACK_SWITCH -> "stack_switch";
            case SET_CALLBACKS -> "set_callbacks";
            case FPU_TASKSWITCH -> "fpu_taskswitch";
            case SCHED_OP_COMPAT -> "sched_op_compat";
            case PLATFORM_OP -> "platform_op";
            case SET_DEBUGREG -> "set_debugreg";
            case GET_DEBUGREG -> "get_debugreg";
            case UPDATE_DESCRIPTOR -> "update_descriptor";
            case MEMORY_OP -> "memory_op";
            case MULTICALL -> "multicall";
            case UPDATE_VA_MAPPING -> "update_va_mapping";
            case SET_TIMER_OP -> "set_timer_op";
            case EVENT_CHANNEL_OP_COMPAT -> "event_channel_op_compat";
            case XEN_VERSION -> "xen_version";
            case CONSOLE_IO -> "console_io";
            case PHYSDEV_OP_COMPAT -> "physdev_op_compat";
            case GRANT_TABLE_OP -> "grant_table_op";
            case VM_ASSIST -> "vm_assist";
            case UPDATE_VA_MAPPING_OTHERDOMAIN -> "update_va_mapping_otherdomain";
            case IRET -> "iret";
            case VCPU_OP -> "vcpu_op";
            case SET_SEGMENT_BASE -> "set_segment_base";
            case MMUEXT_OP -> "mmuext_op";
            case XSM_OP -> "xsm_op";
            case NMI_OP -> "nmi_op";
            case SCHED_OP -> "sched_op";
            case CALLBACK_OP -> "callback_op";
            case XENOPROF_OP -> "xenoprof_op";
            case EVENT_CHANNEL_OP -> "event_channel_op";
            case PHYSDEV_OP -> "physdev_op";
            case HVM_OP -> "hvm_op";
            case SYSCTL -> "sysctl";
            case DOMCTL -> "domctl";
            case KEXEC_OP -> "kexec_op";
            case TMEM_OP -> "tmem_op";
            case ARGO_OP -> "argo_op";
            case XENPMU_OP -> "xenpmu_op";
            case DM_OP -> "dm_op";
            case HYPFS_OP -> "hypfs_op";
            case ARCH_0 -> "arch_0";
            case ARCH_1 -> "arch_1";
            case ARCH_2 -> "arch_2";
            case ARCH_3 -> "arch_3";
            case ARCH_4 -> "arch_4";
            case ARCH_5 -> "arch_5";
            case ARCH_6 -> "arch_6";
            case ARCH_7 -> "arch_7";
            default -> "hypercall_" + value;
        };
    }
}

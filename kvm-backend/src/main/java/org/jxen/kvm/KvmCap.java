package org.jxen.kvm;

/** KVM capability numbers ({@code KVM_CAP_*}) that jxen checks or enables. Constants only. */
public final class KvmCap {
    public static final int KVM_CAP_IRQCHIP = 0;
    public static final int KVM_CAP_USER_MEMORY = 3;
    public static final int KVM_CAP_EXT_CPUID = 7;
    public static final int KVM_CAP_NR_MEMSLOTS = 10;
    public static final int KVM_CAP_XEN_HVM = 38;
    public static final int KVM_CAP_GET_TSC_KHZ = 61;
    public static final int KVM_CAP_MAX_VCPUS = 66;
    public static final int KVM_CAP_SYNC_REGS = 74;
    public static final int KVM_CAP_SIGNAL_MSI = 77;
    public static final int KVM_CAP_SPLIT_IRQCHIP = 121;
    public static final int KVM_CAP_VCPU_ATTRIBUTES = 127;
    public static final int KVM_CAP_IMMEDIATE_EXIT = 136;
    public static final int KVM_CAP_X86_USER_SPACE_MSR = 188;
    public static final int KVM_CAP_X86_MSR_FILTER = 189;

    private KvmCap() {
    }
}

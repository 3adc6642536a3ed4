package org.jxen.abi;

/**
 * The Xen CPUID leaves ({@code xen/arch-x86/cpuid.h}): where they start, the signature of the
 * first leaf, the offsets of the other leaves from the base, and the feature bits in EAX of
 * base+4.
 *
 * <p>Constants and pure functions only; immutable and safe from any thread.
 */
public final class XenCpuid {
    private XenCpuid() {
    }

    /** {@code XEN_CPUID_FIRST_LEAF}: the usual base of the Xen leaves. */
    public static final int BASE = 0x40000000;
    /** The leaves move up in steps of 0x100 when another hypervisor's leaves take the base. */
    public static final int BASE_STEP = 0x100;

    /** Base+0 EBX: "XenV". */
    public static final int SIGNATURE_EBX = 0x566e6558;
    /** Base+0 ECX: "MMXe". */
    public static final int SIGNATURE_ECX = 0x65584d4d;
    /** Base+0 EDX: "nVMM". */
    public static final int SIGNATURE_EDX = 0x4d4d566e;

    /** Base+0: EAX = highest Xen leaf, EBX/ECX/EDX = signature. */
    public static final int LEAF_SIGNATURE = 0;
    /** Base+1: EAX = {@code major << 16 | minor}. */
    public static final int LEAF_VERSION = 1;
    /** Base+2: EAX = number of hypercall pages, EBX = the MSR that installs them. */
    public static final int LEAF_HYPERCALL = 2;
    /** Base+3: TSC mode and frequency. */
    public static final int LEAF_TIME = 3;
    /** Base+4: HVM feature bits in EAX, vCPU id in EBX, domid in ECX. */
    public static final int LEAF_HVM = 4;

    /** Base+4 EAX: virtualized APIC registers. */
    public static final int HVM_APIC_ACCESS_VIRT = 1 << 0;
    /** Base+4 EAX: virtualized x2APIC accesses. */
    public static final int HVM_X2APIC_VIRT = 1 << 1;
    /** Base+4 EAX: IOMMU mappings from other domains. */
    public static final int HVM_IOMMU_MAPPINGS = 1 << 2;
    /** Base+4 EAX: EBX holds the vCPU id. */
    public static final int HVM_VCPU_ID_PRESENT = 1 << 3;
    /** Base+4 EAX: ECX holds the domid. */
    public static final int HVM_DOMID_PRESENT = 1 << 4;
    /** Base+4 EAX: MSI extended destination id supported. */
    public static final int HVM_EXT_DEST_ID = 1 << 5;
    /** Base+4 EAX: per-vCPU event-channel upcall vector supported. */
    public static final int HVM_UPCALL_VECTOR = 1 << 6;

    /** The base+1 EAX value: {@code major << 16 | minor}. */
    public static int versionEax(int major, int minor) {
        return (major << 16) | (minor & 0xFFFF);
    }
}

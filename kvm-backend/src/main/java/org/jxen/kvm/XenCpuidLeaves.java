package org.jxen.kvm;

import java.util.ArrayList;
import java.util.List;
import org.jxen.abi.XenCpuid;

/**
 * Builds the CPUID a Xen guest sees: the host's supported leaves without KVM's own paravirtual
 * leaves (0x40000000-0x400000ff), plus Xen's leaves at base 0x40000000: the "XenVMMXenVMM"
 * signature, the version, one hypercall page with its MSR, and the HVM feature leaf (vCPU id
 * present, upcall vector supported). Stateless.
 */
public final class XenCpuidLeaves {
    /** The MSR the guest writes to place the hypercall page. */
    public static final int HYPERCALL_MSR = 0x40000000;
    static final int BASE = 0x40000000;
    /** base+4 EAX bits. */
    static final int FEATURE_VCPU_ID_PRESENT = 1 << 3;
    static final int FEATURE_UPCALL_VECTOR = 1 << 6;

    private XenCpuidLeaves() {
    }

    /** The CPUID table for vCPU {@code vcpuId} of a guest told it runs on Xen {@code major.minor}. */
    public static List<CpuidEntry> forVcpu(List<CpuidEntry> supported, int vcpuId, int major, int minor) {
        List<CpuidEntry> out = new ArrayList<>();
        for (CpuidEntry e : supported) {
            int f = e.function();
            if (Integer.compareUnsigned(f, BASE) >= 0 && Integer.compareUnsigned(f, BASE + 0xff) <= 0) {
                continue; // KVM's paravirtual leaves: the guest must see Xen, not KVM
            }
            if (f == 1) {
                // the initial APIC id in EBX[31:24] must match the vCPU id (KVM's APIC id)
                e = e.withRegisters(e.eax(), (e.ebx() & 0x00ffffff) | (vcpuId << 24), e.ecx(), e.edx());
            }
            out.add(e);
        }
        out.add(new CpuidEntry(BASE, 0, 0, BASE + 4, XenCpuid.SIGNATURE_EBX, XenCpuid.SIGNATURE_ECX,
                XenCpuid.SIGNATURE_EDX));
        out.add(new CpuidEntry(BASE + 1, 0, 0, (major << 16) | minor, 0, 0, 0));
        out.add(new CpuidEntry(BASE + 2, 0, 0, 1, HYPERCALL_MSR, 0, 0));
        out.add(new CpuidEntry(BASE + 3, 0, CpuidEntry.FLAG_SIGNIFICANT_INDEX, 0, 0, 0, 0));
        out.add(new CpuidEntry(BASE + 4, 0, 0, FEATURE_VCPU_ID_PRESENT | FEATURE_UPCALL_VECTOR, vcpuId, 0, 0));
        return out;
    }
}

package org.jxen.kvm;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
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
    /** base+3 sub-leaf 0 EAX bit 1: the host's TSC is known to be reliable. */
    static final int TSC_HOST_RELIABLE = 1 << 1;
    /** base+3 sub-leaf 0 EAX bit 2: RDTSCP is available. */
    static final int TSC_RDTSCP = 1 << 2;
    /** base+3 sub-leaf 0 EBX: TSC mode 2, never emulated (rdtsc runs natively). */
    static final int TSC_MODE_NEVER_EMULATE = 2;
    /** CPUID 0x80000001 EDX bit 27: RDTSCP. */
    static final int CPUID_RDTSCP = 1 << 27;

    private XenCpuidLeaves() {
    }

    /** The CPUID table for vCPU {@code vcpuId} of a guest told it runs on Xen {@code major.minor}. */
    public static List<CpuidEntry> forVcpu(List<CpuidEntry> supported, int vcpuId, int major, int minor) {
        return forVcpu(supported, vcpuId, major, minor, 0);
    }

    /**
     * As {@link #forVcpu(List, int, int, int)}, with the TSC leaf base+3 filled in for a guest TSC of
     * {@code tscKhz} (0: unknown, the leaf stays zero), in the layout of {@code xen/arch-x86/cpuid.h}:
     * <pre>
     * sub-leaf 0  EAX bit 0 emulated (0: rdtsc runs natively), bit 1 host TSC reliable (invariant),
     *                 bit 2 RDTSCP available
     *             EBX TSC mode 2 (never emulate)   ECX guest TSC kHz   EDX incarnation 0
     * sub-leaf 1  EAX, EBX TSC offset 0 (Xen's emulated-TSC offset: none)
     *             ECX tsc_to_system_mul, EDX tsc_shift of the nominal frequency (the pvclock's own
     *             scale is re-calibrated every second and may differ in its last digits)
     * sub-leaf 2  EAX host TSC kHz (the same: jxen never scales the guest's TSC)
     * </pre>
     */
    public static List<CpuidEntry> forVcpu(List<CpuidEntry> supported, int vcpuId, int major, int minor, long tscKhz) {
        return forVcpu(supported, vcpuId, major, minor, tscKhz, Set.of());
    }

    /**
     * As {@link #forVcpu(List, int, int, int, long)}, without the CPUID bits of {@code hidden}: the
     * features whose instructions this host's KVM cannot run in the guest's kernel
     * ({@link SupervisorInstructionProbe.Result#hidden()}). Hiding RDTSCP also clears the RDTSCP bit
     * of Xen's TSC leaf.
     */
    public static List<CpuidEntry> forVcpu(List<CpuidEntry> supported, int vcpuId, int major, int minor, long tscKhz,
            Set<CpuFeature> hidden) {
        if (!hidden.isEmpty()) {
            List<CpuidEntry> visible = new ArrayList<>();
            for (CpuidEntry e : supported) {
                for (CpuFeature f : hidden) {
                    e = f.clearIn(e);
                }
                visible.add(e);
            }
            supported = visible;
        }
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
        if (tscKhz > 0 && tscKhz <= 0xffff_ffffL) {
            int eax = (has(supported, 0x80000007, CpuidRegister.EDX, KvmGuestTsc.CPUID_INVARIANT_TSC) ? TSC_HOST_RELIABLE : 0)
                    | (has(supported, 0x80000001, CpuidRegister.EDX, CPUID_RDTSCP) ? TSC_RDTSCP : 0);
            org.jxen.hypercalls.time.TscScale scale = org.jxen.hypercalls.time.TscScale.forFrequency(tscKhz * 1000);
            int sig = CpuidEntry.FLAG_SIGNIFICANT_INDEX;
            out.add(new CpuidEntry(BASE + 3, 0, sig, eax, TSC_MODE_NEVER_EMULATE, (int) tscKhz, 0));
            out.add(new CpuidEntry(BASE + 3, 1, sig, 0, 0, scale.mul(), scale.shift()));
            out.add(new CpuidEntry(BASE + 3, 2, sig, (int) tscKhz, 0, 0, 0));
        } else {
            out.add(new CpuidEntry(BASE + 3, 0, CpuidEntry.FLAG_SIGNIFICANT_INDEX, 0, 0, 0, 0));
        }
        out.add(new CpuidEntry(BASE + 4, 0, 0, FEATURE_VCPU_ID_PRESENT | FEATURE_UPCALL_VECTOR, vcpuId, 0, 0));
        return out;
    }

    enum CpuidRegister { EAX, EBX, ECX, EDX }

    /** True when the supported leaf {@code function} (sub-leaf 0) has {@code bit} in {@code reg}. */
    static boolean has(List<CpuidEntry> supported, int function, CpuidRegister reg, int bit) {
        for (CpuidEntry e : supported) {
            if (e.function() == function && e.index() == 0) {
                int v = switch (reg) {
                    case EAX -> e.eax();
                    case EBX -> e.ebx();
                    case ECX -> e.ecx();
                    case EDX -> e.edx();
                };
                return (v & bit) != 0;
            }
        }
        return false;
    }
}

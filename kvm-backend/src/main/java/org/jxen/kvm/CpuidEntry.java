package org.jxen.kvm;

/**
 * One CPUID leaf as KVM describes it ({@code struct kvm_cpuid_entry2}). Immutable.
 *
 * @param function the leaf (EAX input)
 * @param index    the sub-leaf (ECX input), meaningful when {@code flags} has SIGNIFCANT_INDEX
 * @param flags    {@code KVM_CPUID_FLAG_*}
 */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
    /** {@code KVM_CPUID_FLAG_SIGNIFCANT_INDEX} (sic, as KVM spells it). */
    public static final int FLAG_SIGNIFICANT_INDEX = 1;

    public CpuidEntry withRegisters(int a, int b, int c, int d) {
        return new CpuidEntry(function, index, flags, a, b, c, d);
    }

    @Override
    public String toString() {
        return String.format("cpuid 0x%08x.%d: eax=%08x ebx=%08x ecx=%08x edx=%08x", function, index, eax, ebx, ecx, edx);
    }
}

package org.jxen.kvm;

import java.util.List;
import org.jxen.hypercalls.time.GuestTsc;

/**
 * The guest TSC of a KVM VM: vCPU {@code i} reads the host's TSC plus the offset KVM applies to it
 * ({@code KVM_VCPU_TSC_OFFSET}), at the host's rate, since jxen never changes a vCPU's TSC
 * frequency ({@code KVM_SET_TSC_KHZ}). Read once, before the vCPUs run (vCPU ioctls wait for
 * {@code KVM_RUN} to return): the frequency from {@code KVM_GET_TSC_KHZ}, each offset from
 * {@code KVM_GET_DEVICE_ATTR}, or, where KVM lacks that attribute, estimated from the vCPU's
 * {@code IA32_TSC} read between two reads of the host's TSC. A guest that writes its TSC MSR
 * later changes KVM's offset, which this does not follow.
 *
 * <p>Measured on the project's machines (docs/kvm-backend.md): the attribute reads 0 and a guest's
 * {@code rdtsc} falls between two host reads around it; the offset is not settable there.
 *
 * <p>Immutable after {@link #read}; any thread.
 */
final class KvmGuestTsc implements GuestTsc {
    /** {@code IA32_TSC}. */
    static final int MSR_IA32_TSC = 0x10;
    /** CPUID 0x80000007 EDX bit 8: the TSC is invariant (constant rate, runs in every C- and P-state). */
    static final int CPUID_INVARIANT_TSC = 1 << 8;

    private final long khz;
    private final long[] offsets;
    private final boolean stable;
    private final boolean offsetsFromKvm;

    private KvmGuestTsc(long khz, long[] offsets, boolean stable, boolean offsetsFromKvm) {
        this.khz = khz;
        this.offsets = offsets;
        this.stable = stable;
        this.offsetsFromKvm = offsetsFromKvm;
    }

    /**
     * Reads the TSC facts of {@code vcpus}, none of which may be running yet. Returns null when the
     * host cannot say (no {@code KVM_CAP_GET_TSC_KHZ}, no way to read the host's TSC, or vCPUs with
     * different frequencies); the VM then has no pvclock.
     */
    static KvmGuestTsc read(Kvm kvm, List<KvmVcpu> vcpus, List<CpuidEntry> supported) {
        if (vcpus.isEmpty() || !HostTsc.isAvailable() || kvm.checkExtension(KvmCap.KVM_CAP_GET_TSC_KHZ) == 0) {
            return null;
        }
        long khz = vcpus.get(0).tscKhz();
        boolean attribute = kvm.checkExtension(KvmCap.KVM_CAP_VCPU_ATTRIBUTES) != 0
                && vcpus.get(0).hasTscOffsetAttribute();
        long[] offsets = new long[vcpus.size()];
        for (int i = 0; i < offsets.length; i++) {
            KvmVcpu v = vcpus.get(i);
            if (v.tscKhz() != khz || khz <= 0) {
                return null;
            }
            offsets[i] = attribute ? v.tscOffset() : estimateOffset(v);
        }
        return new KvmGuestTsc(khz, offsets, invariantTsc(supported), attribute);
    }

    /** True when the supported CPUID says the host's TSC is invariant. */
    static boolean invariantTsc(List<CpuidEntry> supported) {
        return XenCpuidLeaves.has(supported, 0x80000007, XenCpuidLeaves.CpuidRegister.EDX, CPUID_INVARIANT_TSC);
    }

    /**
     * The vCPU's TSC minus the host's, estimated from {@code KVM_GET_MSRS(IA32_TSC)} between two
     * reads of the host's TSC (the tightest of a few): good to the duration of one ioctl.
     */
    static long estimateOffset(KvmVcpu v) {
        long bestWidth = Long.MAX_VALUE;
        long best = 0;
        for (int i = 0; i < 8; i++) {
            long before = HostTsc.read();
            long guest = v.getMsr(MSR_IA32_TSC);
            long after = HostTsc.read();
            if (after - before >= 0 && after - before < bestWidth) {
                bestWidth = after - before;
                best = guest - (before + (after - before) / 2);
            }
        }
        return best;
    }

    @Override
    public long frequencyKhz() {
        return khz;
    }

    @Override
    public Sample sample() {
        return HostTsc.sample();
    }

    @Override
    public long offset(int vcpuId) {
        return offsets[vcpuId];
    }

    @Override
    public boolean stable() {
        return stable;
    }

    /** True when the offsets came from KVM's attribute, false when they were estimated. */
    boolean offsetsFromKvm() {
        return offsetsFromKvm;
    }

    @Override
    public String toString() {
        return "guest TSC " + khz + " kHz, offsets " + java.util.Arrays.toString(offsets)
                + (offsetsFromKvm ? " (KVM_VCPU_TSC_OFFSET)" : " (estimated)") + (stable ? ", invariant" : "");
    }
}

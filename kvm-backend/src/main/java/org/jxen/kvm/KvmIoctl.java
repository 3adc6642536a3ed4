package org.jxen.kvm;

import java.lang.foreign.MemorySegment;
import org.jxen.gpc.HostCallException;
import org.jxen.gpc.Libc;

/**
 * The KVM ioctls jxen uses, with their request numbers computed as Linux's {@code _IO},
 * {@code _IOR}, {@code _IOW} and {@code _IOWR} macros compute them (x86: 8 bits of number, 8 of type,
 * 14 of size, 2 of direction). {@code KvmIoctlTest} checks every number against the kernel's header.
 * Immutable.
 */
enum KvmIoctl {
    /** {@code _IO(KVMIO, 0x00)}. */
    KVM_GET_API_VERSION(Dir.NONE, 0x00, 0),
    /** {@code _IO(KVMIO, 0x01)}. */
    KVM_CREATE_VM(Dir.NONE, 0x01, 0),
    /** {@code _IO(KVMIO, 0x03)}. */
    KVM_CHECK_EXTENSION(Dir.NONE, 0x03, 0),
    /** {@code _IO(KVMIO, 0x04)}. */
    KVM_GET_VCPU_MMAP_SIZE(Dir.NONE, 0x04, 0),
    /** {@code _IOWR(KVMIO, 0x05, struct kvm_cpuid2)}. */
    KVM_GET_SUPPORTED_CPUID(Dir.READ_WRITE, 0x05, 8),
    /** {@code _IO(KVMIO, 0x41)}. */
    KVM_CREATE_VCPU(Dir.NONE, 0x41, 0),
    /** {@code _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)}. */
    KVM_SET_USER_MEMORY_REGION(Dir.WRITE, 0x46, 32),
    /** {@code _IO(KVMIO, 0x47)}. */
    KVM_SET_TSS_ADDR(Dir.NONE, 0x47, 0),
    /** {@code _IOW(KVMIO, 0x48, __u64)}. */
    KVM_SET_IDENTITY_MAP_ADDR(Dir.WRITE, 0x48, 8),
    /** {@code _IO(KVMIO, 0x60)}. */
    KVM_CREATE_IRQCHIP(Dir.NONE, 0x60, 0),
    /** {@code _IO(KVMIO, 0x80)}. */
    KVM_RUN(Dir.NONE, 0x80, 0),
    /** {@code _IOR(KVMIO, 0x81, struct kvm_regs)}. */
    KVM_GET_REGS(Dir.READ, 0x81, 144),
    /** {@code _IOW(KVMIO, 0x82, struct kvm_regs)}. */
    KVM_SET_REGS(Dir.WRITE, 0x82, 144),
    /** {@code _IOR(KVMIO, 0x83, struct kvm_sregs)}. */
    KVM_GET_SREGS(Dir.READ, 0x83, 312),
    /** {@code _IOW(KVMIO, 0x84, struct kvm_sregs)}. */
    KVM_SET_SREGS(Dir.WRITE, 0x84, 312),
    /** {@code _IOWR(KVMIO, 0x85, struct kvm_translation)}. */
    KVM_TRANSLATE(Dir.READ_WRITE, 0x85, 24),
    /** {@code _IOWR(KVMIO, 0x88, struct kvm_msrs)}. */
    KVM_GET_MSRS(Dir.READ_WRITE, 0x88, 8),
    /** {@code _IOW(KVMIO, 0x89, struct kvm_msrs)}. */
    KVM_SET_MSRS(Dir.WRITE, 0x89, 8),
    /** {@code _IOR(KVMIO, 0x98, struct kvm_mp_state)}. */
    KVM_GET_MP_STATE(Dir.READ, 0x98, 4),
    /** {@code _IOW(KVMIO, 0x99, struct kvm_mp_state)}. */
    KVM_SET_MP_STATE(Dir.WRITE, 0x99, 4),
    /** {@code _IOR(KVMIO, 0x8c, struct kvm_fpu)}. */
    KVM_GET_FPU(Dir.READ, 0x8c, 416),
    /** {@code _IOR(KVMIO, 0x9f, struct kvm_vcpu_events)}. */
    KVM_GET_VCPU_EVENTS(Dir.READ, 0x9f, 64),
    /** {@code _IOW(KVMIO, 0xa0, struct kvm_vcpu_events)}. */
    KVM_SET_VCPU_EVENTS(Dir.WRITE, 0xa0, 64),
    /** {@code _IOW(KVMIO, 0x9b, struct kvm_guest_debug)}. */
    KVM_SET_GUEST_DEBUG(Dir.WRITE, 0x9b, 72),
    /** {@code _IOW(KVMIO, 0x90, struct kvm_cpuid2)}. */
    KVM_SET_CPUID2(Dir.WRITE, 0x90, 8),
    /** {@code _IOWR(KVMIO, 0x91, struct kvm_cpuid2)}. */
    KVM_GET_CPUID2(Dir.READ_WRITE, 0x91, 8),
    /** {@code _IOW(KVMIO, 0xa3, struct kvm_enable_cap)}. */
    KVM_ENABLE_CAP(Dir.WRITE, 0xa3, 104),
    /** {@code _IOW(KVMIO, 0xa5, struct kvm_msi)}. */
    KVM_SIGNAL_MSI(Dir.WRITE, 0xa5, 32),
    /** {@code _IOW(KVMIO, 0xc6, struct kvm_msr_filter)}. */
    KVM_X86_SET_MSR_FILTER(Dir.WRITE, 0xc6, 392),
    /** {@code _IO(KVMIO, 0xa3)}: a vCPU's TSC frequency in kHz, as the result. */
    KVM_GET_TSC_KHZ(Dir.NONE, 0xa3, 0),
    /** {@code _IOW(KVMIO, 0xe2, struct kvm_device_attr)}. */
    KVM_GET_DEVICE_ATTR(Dir.WRITE, 0xe2, 24),
    /** {@code _IOW(KVMIO, 0xe3, struct kvm_device_attr)}. */
    KVM_HAS_DEVICE_ATTR(Dir.WRITE, 0xe3, 24);

    /** The ioctl type of every KVM ioctl ({@code KVMIO}). */
    static final int KVMIO = 0xAE;

    enum Dir {
        NONE(0), WRITE(1), READ(2), READ_WRITE(3);

        final int bits;

        Dir(int bits) {
            this.bits = bits;
        }
    }

    private final long request;

    KvmIoctl(Dir dir, int nr, int size) {
        this.request = ioc(dir, KVMIO, nr, size);
    }

    /** Linux's {@code _IOC(dir, type, nr, size)} for x86. */
    static long ioc(Dir dir, int type, int nr, int size) {
        if (nr < 0 || nr > 0xff || type < 0 || type > 0xff || size < 0 || size >= (1 << 14)) {
            throw new IllegalArgumentException("ioctl field out of range");
        }
        return ((long) dir.bits << 30) | ((long) size << 16) | ((long) type << 8) | nr;
    }

    long request() {
        return request;
    }

    /**
     * This ioctl on {@code fd} with an integer argument: its non-negative result; a failure is a
     * {@link HostCallException} that names the ioctl and the errno. Any thread.
     */
    int call(int fd, long arg) {
        return check(Libc.ioctl(fd, request, arg));
    }

    /** This ioctl on {@code fd} with a pointer argument; as {@link #call(int, long)}. */
    int call(int fd, MemorySegment arg) {
        return check(Libc.ioctl(fd, request, arg));
    }

    private int check(int result) {
        if (result < 0) {
            throw new HostCallException(name(), Libc.errno(), "");
        }
        return result;
    }
}

package org.jxen.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.jxen.gpc.HostCallException;
import org.jxen.gpc.Libc;

/**
 * A KVM virtual machine file descriptor: memslots, the in-kernel irqchip, VM capabilities, the
 * MSR filter, MSI delivery, and the factory of vCPUs ({@link #createVcpu(int)}).
 *
 * <p>Thread safety: every method may be called from any thread; KVM serialises the ioctls it must.
 * {@link #signalMsi} in particular is the cross-thread interrupt path: the kernel wakes or kicks the
 * target vCPU itself.
 */
public final class KvmVm implements AutoCloseable {
    /** {@code KVM_MEM_LOG_DIRTY_PAGES}. */
    public static final int KVM_MEM_LOG_DIRTY_PAGES = 1;
    /** {@code KVM_MEM_READONLY}. */
    public static final int KVM_MEM_READONLY = 2;
    /** {@code KVM_MSR_EXIT_REASON_FILTER}: exit to userspace for MSRs the filter denies. */
    public static final long KVM_MSR_EXIT_REASON_FILTER = 4;

    private final Kvm kvm;
    private final int fd;
    private volatile boolean closed;

    KvmVm(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    Kvm kvm() {
        return kvm;
    }

    int fd() {
        return fd;
    }

    /** {@code KVM_CHECK_EXTENSION} on this VM. */
    public int checkExtension(int capability) {
        return KvmIoctl.KVM_CHECK_EXTENSION.call(fd, capability);
    }

    /**
     * {@code KVM_SET_USER_MEMORY_REGION}: maps {@code [gpa, gpa + size)} to host memory at
     * {@code hva}; {@code size == 0} deletes the slot.
     */
    public void setUserMemoryRegion(int slot, int flags, long gpa, long size, long hva) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(32, 8);
            r.set(ValueLayout.JAVA_INT, 0, slot);
            r.set(ValueLayout.JAVA_INT, 4, flags);
            r.set(ValueLayout.JAVA_LONG, 8, gpa);
            r.set(ValueLayout.JAVA_LONG, 16, size);
            r.set(ValueLayout.JAVA_LONG, 24, hva);
            int res = Libc.ioctl(fd, KvmIoctl.KVM_SET_USER_MEMORY_REGION.request(), r);
            if (res < 0) {
                throw new HostCallException("KVM_SET_USER_MEMORY_REGION", Libc.errno(),
                        String.format("slot %d gpa 0x%x size 0x%x", slot, gpa, size));
            }
        }
    }

    /** {@code KVM_SET_TSS_ADDR} (Intel: three pages KVM needs below 4 GiB, outside guest RAM). */
    public void setTssAddr(long gpa) {
        KvmIoctl.KVM_SET_TSS_ADDR.call(fd, gpa);
    }

    /** {@code KVM_SET_IDENTITY_MAP_ADDR} (Intel: one page outside guest RAM). */
    public void setIdentityMapAddr(long gpa) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_LONG);
            v.set(ValueLayout.JAVA_LONG, 0, gpa);
            KvmIoctl.KVM_SET_IDENTITY_MAP_ADDR.call(fd, v);
        }
    }

    /** {@code KVM_CREATE_IRQCHIP}: in-kernel PIC, IOAPIC and local APICs. Before creating vCPUs. */
    public void createIrqchip() {
        KvmIoctl.KVM_CREATE_IRQCHIP.call(fd, 0);
    }

    /** {@code KVM_ENABLE_CAP} on the VM with up to four arguments. */
    public void enableCap(int capability, long... args) {
        if (args.length > 4) {
            throw new IllegalArgumentException("KVM_ENABLE_CAP takes at most 4 arguments");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = arena.allocate(104, 8);
            c.set(ValueLayout.JAVA_INT, 0, capability);
            for (int i = 0; i < args.length; i++) {
                c.set(ValueLayout.JAVA_LONG, 8 + 8L * i, args[i]);
            }
            int res = Libc.ioctl(fd, KvmIoctl.KVM_ENABLE_CAP.request(), c);
            if (res < 0) {
                throw new HostCallException("KVM_ENABLE_CAP", Libc.errno(), "capability " + capability
                        + " args " + Arrays.toString(args));
            }
        }
    }

    /**
     * Makes guest writes to each of {@code msrs} exit to userspace as {@code KVM_EXIT_X86_WRMSR}
     * ({@code KVM_CAP_X86_USER_SPACE_MSR} + {@code KVM_X86_SET_MSR_FILTER}, default allow).
     */
    public void interceptMsrWrites(int... msrs) {
        if (msrs.length == 0 || msrs.length > 16) {
            throw new IllegalArgumentException("between 1 and 16 MSRs");
        }
        enableCap(KvmCap.KVM_CAP_X86_USER_SPACE_MSR, KVM_MSR_EXIT_REASON_FILTER);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment filter = arena.allocate(392, 8); // flags 0 = default allow
            for (int i = 0; i < msrs.length; i++) {
                MemorySegment bitmap = arena.allocate(8, 8); // bit clear = deny = exit to userspace
                long range = 8 + 24L * i;
                filter.set(ValueLayout.JAVA_INT, range, 2); // KVM_MSR_FILTER_WRITE
                filter.set(ValueLayout.JAVA_INT, range + 4, 1); // nmsrs
                filter.set(ValueLayout.JAVA_INT, range + 8, msrs[i]); // base
                filter.set(ValueLayout.ADDRESS, range + 16, bitmap);
            }
            int res = Libc.ioctl(fd, KvmIoctl.KVM_X86_SET_MSR_FILTER.request(), filter);
            if (res < 0) {
                throw new HostCallException("KVM_X86_SET_MSR_FILTER", Libc.errno(), Arrays.toString(msrs));
            }
        }
    }

    /**
     * {@code KVM_SIGNAL_MSI}: delivers {@code vector} to the local APIC whose id is {@code apicId}
     * (fixed delivery, physical destination, edge). Safe from any thread; needs the in-kernel
     * irqchip. Returns false when the interrupt was not delivered (for example the APIC is
     * software-disabled), true otherwise.
     */
    public boolean signalMsi(int apicId, int vector) {
        if (vector < 16 || vector > 255) {
            throw new IllegalArgumentException("vector " + vector + " is not a valid external interrupt vector");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment msi = arena.allocate(32, 8);
            msi.set(ValueLayout.JAVA_INT, 0, 0xfee00000 | ((apicId & 0xff) << 12));
            msi.set(ValueLayout.JAVA_INT, 4, 0);
            msi.set(ValueLayout.JAVA_INT, 8, vector);
            int res = Libc.ioctl(fd, KvmIoctl.KVM_SIGNAL_MSI.request(), msi);
            if (res < 0) {
                throw new HostCallException("KVM_SIGNAL_MSI", Libc.errno(), "apic " + apicId + " vector " + vector);
            }
            return res > 0;
        }
    }

    /** {@code KVM_CREATE_VCPU}: vCPU {@code id} (its APIC id), with its {@code kvm_run} mapped. */
    public KvmVcpu createVcpu(int id) {
        int vcpuFd = KvmIoctl.KVM_CREATE_VCPU.call(fd, id);
        try {
            return new KvmVcpu(this, vcpuFd, id, kvm.vcpuMmapSize());
        } catch (RuntimeException e) {
            Libc.close(vcpuFd);
            throw e;
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }
}

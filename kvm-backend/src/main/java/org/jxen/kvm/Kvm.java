package org.jxen.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.jxen.gpc.HostCallException;
import org.jxen.gpc.Libc;

/**
 * The {@code /dev/kvm} system handle: capability checks, supported CPUID, and the factory of VMs
 * ({@link #createVm()}). Closing it closes only this file descriptor: VMs stay usable, as with the
 * kernel object.
 *
 * <p>Thread safety: every method may be called from any thread.
 */
public final class Kvm implements AutoCloseable {
    public static final String DEVICE = "/dev/kvm";
    /** The only stable KVM API version. */
    public static final int API_VERSION = 12;

    private static volatile String unavailabilityCause;
    private static volatile boolean probed;

    private final int fd;
    private final int vcpuMmapSize;
    private volatile boolean closed;

    private Kvm(int fd) {
        this.fd = fd;
        this.vcpuMmapSize = KvmIoctl.KVM_GET_VCPU_MMAP_SIZE.call(fd, 0);
    }

    /** Opens {@code /dev/kvm} and checks the API version. */
    public static Kvm open() {
        int fd = Libc.open(DEVICE, Libc.O_RDWR | Libc.O_CLOEXEC);
        if (fd < 0) {
            int e = Libc.errno();
            throw new HostCallException("open(" + DEVICE + ")", e, e == Libc.ENOENT ? "no KVM on this host"
                    : e == Libc.EACCES ? "no permission: add the user to the kvm group" : "");
        }
        int version = Libc.ioctl(fd, KvmIoctl.KVM_GET_API_VERSION.request(), 0);
        if (version != API_VERSION) {
            int e = Libc.errno();
            Libc.close(fd);
            throw new HostCallException("KVM_GET_API_VERSION", version < 0 ? e : 0,
                    "API version " + version + ", jxen needs " + API_VERSION);
        }
        try {
            return new Kvm(fd);
        } catch (RuntimeException ex) {
            Libc.close(fd);
            throw ex;
        }
    }

    /** True when {@code /dev/kvm} can be opened and speaks API version 12. Probes once. */
    public static boolean isAvailable() {
        return unavailabilityCause() == null;
    }

    /** Why KVM is not available, or null when it is. */
    public static String unavailabilityCause() {
        if (!probed) {
            synchronized (Kvm.class) {
                if (!probed) {
                    try (Kvm k = open()) {
                        unavailabilityCause = null;
                    } catch (RuntimeException | LinkageError e) {
                        unavailabilityCause = e.getMessage();
                    }
                    probed = true;
                }
            }
        }
        return unavailabilityCause;
    }

    int fd() {
        return fd;
    }

    int vcpuMmapSize() {
        return vcpuMmapSize;
    }

    /** {@code KVM_CHECK_EXTENSION} on the system handle: 0 when absent, else the capability's value. */
    public int checkExtension(int capability) {
        return KvmIoctl.KVM_CHECK_EXTENSION.call(fd, capability);
    }

    /** {@code KVM_GET_SUPPORTED_CPUID}: the leaves this host's KVM can offer a guest. */
    public List<CpuidEntry> supportedCpuid() {
        for (int n = 64; n <= 4096; n *= 2) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(8 + 40L * n, 8);
                buf.set(ValueLayout.JAVA_INT, 0, n);
                int r = Libc.ioctl(fd, KvmIoctl.KVM_GET_SUPPORTED_CPUID.request(), buf);
                if (r < 0) {
                    int e = Libc.errno();
                    if (e == 7) { // E2BIG: try a bigger buffer
                        continue;
                    }
                    throw new HostCallException("KVM_GET_SUPPORTED_CPUID", e, "");
                }
                return CpuidTable.read(buf);
            }
        }
        throw new HostCallException("KVM_GET_SUPPORTED_CPUID", 7, "more than 4096 leaves");
    }

    /** {@code KVM_CREATE_VM}: a new, empty VM. */
    public KvmVm createVm() {
        int vmFd = KvmIoctl.KVM_CREATE_VM.call(fd, 0);
        return new KvmVm(this, vmFd);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }

    /** Reads and writes {@code struct kvm_cpuid2} arrays. */
    static final class CpuidTable {
        private CpuidTable() {
        }

        static List<CpuidEntry> read(MemorySegment buf) {
            int n = buf.get(ValueLayout.JAVA_INT, 0);
            List<CpuidEntry> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                long o = 8 + 40L * i;
                out.add(new CpuidEntry(buf.get(ValueLayout.JAVA_INT, o), buf.get(ValueLayout.JAVA_INT, o + 4),
                        buf.get(ValueLayout.JAVA_INT, o + 8), buf.get(ValueLayout.JAVA_INT, o + 12),
                        buf.get(ValueLayout.JAVA_INT, o + 16), buf.get(ValueLayout.JAVA_INT, o + 20),
                        buf.get(ValueLayout.JAVA_INT, o + 24)));
            }
            return out;
        }

        static MemorySegment write(Arena arena, List<CpuidEntry> entries) {
            MemorySegment buf = arena.allocate(8 + 40L * entries.size(), 8);
            buf.set(ValueLayout.JAVA_INT, 0, entries.size());
            for (int i = 0; i < entries.size(); i++) {
                CpuidEntry e = entries.get(i);
                long o = 8 + 40L * i;
                buf.set(ValueLayout.JAVA_INT, o, e.function());
                buf.set(ValueLayout.JAVA_INT, o + 4, e.index());
                buf.set(ValueLayout.JAVA_INT, o + 8, e.flags());
                buf.set(ValueLayout.JAVA_INT, o + 12, e.eax());
                buf.set(ValueLayout.JAVA_INT, o + 16, e.ebx());
                buf.set(ValueLayout.JAVA_INT, o + 20, e.ecx());
                buf.set(ValueLayout.JAVA_INT, o + 24, e.edx());
            }
            return buf;
        }
    }
}

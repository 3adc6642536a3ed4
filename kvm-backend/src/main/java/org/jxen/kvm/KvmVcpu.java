package org.jxen.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.jxen.gpc.HostCallException;
import org.jxen.gpc.Libc;

/**
 * A KVM vCPU file descriptor and its mapped {@code kvm_run} page.
 *
 * <p>Threads: {@link #run()} and the register accessors belong to the one thread that runs the
 * vCPU (it calls {@link #bindToCurrentThread()} first). {@link #kick()} may be called from any
 * thread: it sets {@code immediate_exit} and sends the kick signal to the vCPU thread, so that a
 * {@code KVM_RUN} in progress (also one halted in the guest) returns {@code EINTR} promptly and one
 * about to start returns at once. {@link #close()} only after the vCPU thread has stopped.
 */
public final class KvmVcpu implements AutoCloseable {
    /** What {@link #run()} returns when {@code KVM_RUN} was interrupted ({@code EINTR}) or must be retried ({@code EAGAIN}). */
    public static final int RUN_INTERRUPTED = -1;

    private final KvmVm vm;
    private final int fd;
    private final int id;
    private final Arena arena = Arena.ofShared();
    private final KvmRun run;
    private final long runAddress;
    private final long runSize;
    private volatile int threadId;
    private volatile boolean closed;

    KvmVcpu(KvmVm vm, int fd, int id, int mmapSize) {
        this.vm = vm;
        this.fd = fd;
        this.id = id;
        this.runSize = mmapSize;
        this.runAddress = Libc.mmap(mmapSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        this.run = new KvmRun(MemorySegment.ofAddress(runAddress).reinterpret(mmapSize, arena, null));
    }

    public int id() {
        return id;
    }

    public KvmVm vm() {
        return vm;
    }

    /** The {@code kvm_run} view. */
    public KvmRun kvmRun() {
        return run;
    }

    /** The kernel's id of the thread bound by {@link #bindToCurrentThread()}, or 0 before (and after close). */
    public int threadId() {
        return threadId;
    }

    /** Records the calling thread as this vCPU's thread (the target of {@link #kick()}). */
    public void bindToCurrentThread() {
        KickSignal.install();
        threadId = Libc.gettid();
    }

    /**
     * {@code KVM_RUN}. Returns the exit reason ({@code KVM_EXIT_*}), or {@link #RUN_INTERRUPTED}
     * when the call was interrupted by a kick or a signal ({@code EINTR}) or must be retried
     * ({@code EAGAIN}): outcomes, not errors. Any other failure is a {@link HostCallException}.
     */
    public int run() {
        int r = Libc.ioctl(fd, KvmIoctl.KVM_RUN.request(), 0L);
        if (r < 0) {
            int e = Libc.errno();
            if (e == Libc.EINTR || e == Libc.EAGAIN) {
                return RUN_INTERRUPTED;
            }
            throw new HostCallException("KVM_RUN", e, "vcpu " + id);
        }
        return run.exitReason();
    }

    /** Any thread: makes the vCPU thread leave (or not enter) {@code KVM_RUN} promptly. */
    public void kick() {
        run.setImmediateExit(true);
        int tid = threadId;
        if (tid != 0) {
            Libc.tgkill(Libc.getpid(), tid, KickSignal.SIGNAL);
        }
    }

    /** {@code KVM_GET_REGS} into a 144-byte segment. */
    public void getRegs(MemorySegment regs) {
        KvmIoctl.KVM_GET_REGS.call(fd, regs);
    }

    /** {@code KVM_SET_REGS} from a 144-byte segment. */
    public void setRegs(MemorySegment regs) {
        KvmIoctl.KVM_SET_REGS.call(fd, regs);
    }

    /** {@code KVM_GET_SREGS} into a 312-byte segment ({@link Sregs}). */
    public void getSregs(MemorySegment sregs) {
        KvmIoctl.KVM_GET_SREGS.call(fd, sregs);
    }

    /** {@code KVM_SET_SREGS} from a 312-byte segment ({@link Sregs}). */
    public void setSregs(MemorySegment sregs) {
        KvmIoctl.KVM_SET_SREGS.call(fd, sregs);
    }

    /** {@code sizeof(struct kvm_vcpu_events)}. */
    static final long VCPU_EVENTS_SIZE = 64;
    /** Offsets in {@code struct kvm_vcpu_events}. */
    static final long EVENTS_EXCEPTION_INJECTED = 0;
    static final long EVENTS_EXCEPTION_NR = 1;
    static final long EVENTS_EXCEPTION_HAS_ERROR_CODE = 2;
    static final long EVENTS_EXCEPTION_PENDING = 3;
    static final long EVENTS_EXCEPTION_ERROR_CODE = 4;
    static final long EVENTS_INTERRUPT_INJECTED = 8;
    static final long EVENTS_NMI_INJECTED = 12;
    static final long EVENTS_FLAGS = 20;
    /** {@code sizeof(struct kvm_fpu)} and the offset of {@code fsw}. */
    static final long FPU_SIZE = 416;
    static final long FPU_FSW = 130;

    /**
     * Makes the vCPU take exception {@code vector} (with {@code errorCode} when it is not negative)
     * when it next enters the guest: {@code KVM_GET_VCPU_EVENTS}, then {@code KVM_SET_VCPU_EVENTS}
     * with the exception marked injected and everything else as it was ({@code flags} 0, so
     * NMI-pending, SIPI, interrupt shadow and SMM state are not touched). The exception is delivered
     * with the RIP the vCPU has at that entry: for a trap (such as {@code #BP} after an
     * {@code int3}), set RIP past the instruction first. Returns false, changing nothing, when an
     * exception, interrupt or NMI is already being delivered. vCPU thread only (or before it runs).
     */
    public boolean injectException(int vector, int errorCode) {
        if (vector < 0 || vector > 31) {
            throw new IllegalArgumentException("not an exception vector: " + vector);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ev = a.allocate(VCPU_EVENTS_SIZE, 8);
            KvmIoctl.KVM_GET_VCPU_EVENTS.call(fd, ev);
            if (ev.get(ValueLayout.JAVA_BYTE, EVENTS_EXCEPTION_INJECTED) != 0
                    || ev.get(ValueLayout.JAVA_BYTE, EVENTS_EXCEPTION_PENDING) != 0
                    || ev.get(ValueLayout.JAVA_BYTE, EVENTS_INTERRUPT_INJECTED) != 0
                    || ev.get(ValueLayout.JAVA_BYTE, EVENTS_NMI_INJECTED) != 0) {
                return false;
            }
            ev.set(ValueLayout.JAVA_BYTE, EVENTS_EXCEPTION_INJECTED, (byte) 1);
            ev.set(ValueLayout.JAVA_BYTE, EVENTS_EXCEPTION_NR, (byte) vector);
            ev.set(ValueLayout.JAVA_BYTE, EVENTS_EXCEPTION_HAS_ERROR_CODE, (byte) (errorCode >= 0 ? 1 : 0));
            ev.set(ValueLayout.JAVA_BYTE, EVENTS_EXCEPTION_PENDING, (byte) 0);
            ev.set(ValueLayout.JAVA_INT, EVENTS_EXCEPTION_ERROR_CODE, Math.max(errorCode, 0));
            ev.set(ValueLayout.JAVA_INT, EVENTS_FLAGS, 0);
            KvmIoctl.KVM_SET_VCPU_EVENTS.call(fd, ev);
            return true;
        }
    }

    /** {@code KVM_GET_FPU}: the x87 status word (FSW). vCPU thread only (or before it runs). */
    public int x87StatusWord() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fpu = a.allocate(FPU_SIZE, 8);
            KvmIoctl.KVM_GET_FPU.call(fd, fpu);
            return Short.toUnsignedInt(fpu.get(ValueLayout.JAVA_SHORT, FPU_FSW));
        }
    }

    /** {@code KVM_SET_CPUID2}. */
    public void setCpuid(List<CpuidEntry> entries) {
        try (Arena a = Arena.ofConfined()) {
            KvmIoctl.KVM_SET_CPUID2.call(fd, Kvm.CpuidTable.write(a, entries));
        }
    }

    /** {@code KVM_GET_CPUID2}: the leaves set on this vCPU. */
    public List<CpuidEntry> cpuid() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(8 + 40L * 512, 8);
            buf.set(ValueLayout.JAVA_INT, 0, 512);
            KvmIoctl.KVM_GET_CPUID2.call(fd, buf);
            return Kvm.CpuidTable.read(buf);
        }
    }

    /** The result of {@code KVM_TRANSLATE}. */
    public record Translation(long gva, long gpa, boolean valid, boolean writeable, boolean usermode) {
    }

    /** {@code KVM_TRANSLATE}: the guest's own translation of {@code gva} under its current page tables. */
    public Translation translate(long gva) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment t = a.allocate(24, 8);
            t.set(ValueLayout.JAVA_LONG, 0, gva);
            KvmIoctl.KVM_TRANSLATE.call(fd, t);
            return new Translation(gva, t.get(ValueLayout.JAVA_LONG, 8), t.get(ValueLayout.JAVA_BYTE, 16) != 0,
                    t.get(ValueLayout.JAVA_BYTE, 17) != 0, t.get(ValueLayout.JAVA_BYTE, 18) != 0);
        }
    }

    /** {@code KVM_MP_STATE_RUNNABLE}: the vCPU runs (an application processor needs no INIT/SIPI). */
    public static final int MP_STATE_RUNNABLE = 0;
    /** {@code KVM_MP_STATE_UNINITIALIZED}: an application processor waiting for INIT. */
    public static final int MP_STATE_UNINITIALIZED = 1;

    /** {@code KVM_SET_MP_STATE}. */
    public void setMpState(int state) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(ValueLayout.JAVA_INT);
            m.set(ValueLayout.JAVA_INT, 0, state);
            KvmIoctl.KVM_SET_MP_STATE.call(fd, m);
        }
    }

    /** {@code KVM_GET_MP_STATE}. */
    public int mpState() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(ValueLayout.JAVA_INT);
            KvmIoctl.KVM_GET_MP_STATE.call(fd, m);
            return m.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** {@code KVM_GUESTDBG_ENABLE}: the other control bits take effect. */
    public static final int GUESTDBG_ENABLE = 0x1;
    /** {@code KVM_GUESTDBG_SINGLESTEP}: exit after each guest instruction. */
    public static final int GUESTDBG_SINGLESTEP = 0x2;
    /** {@code KVM_GUESTDBG_USE_HW_BP}: DR0..DR3 and DR7 of the call are the vCPU's breakpoints. */
    public static final int GUESTDBG_USE_HW_BP = 0x20000;
    static final long GUEST_DEBUG_SIZE = 72;

    /**
     * {@code KVM_SET_GUEST_DEBUG}: {@code control} ({@code GUESTDBG_*}, 0 to turn debugging off) and,
     * with {@link #GUESTDBG_USE_HW_BP}, DR0..DR3 and DR7 ({@code dr} holds up to 8 debug registers,
     * DR0 first). vCPU thread only (or before it runs).
     */
    public void setGuestDebug(int control, long... dr) {
        if (dr.length > 8) {
            throw new IllegalArgumentException("at most 8 debug registers: " + dr.length);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment g = a.allocate(GUEST_DEBUG_SIZE, 8);
            g.set(ValueLayout.JAVA_INT, 0, control);
            for (int i = 0; i < dr.length; i++) {
                g.set(ValueLayout.JAVA_LONG, 8 + 8L * i, dr[i]);
            }
            KvmIoctl.KVM_SET_GUEST_DEBUG.call(fd, g);
        }
    }

    /** {@code KVM_GET_MSRS} for several MSRs in one call; the values in the order of {@code indices}. */
    public long[] getMsrs(int... indices) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(8 + 16L * indices.length, 8);
            m.set(ValueLayout.JAVA_INT, 0, indices.length);
            for (int i = 0; i < indices.length; i++) {
                m.set(ValueLayout.JAVA_INT, 8 + 16L * i, indices[i]);
            }
            int r = Libc.ioctl(fd, KvmIoctl.KVM_GET_MSRS.request(), m);
            if (r != indices.length) {
                throw new HostCallException("KVM_GET_MSRS", r < 0 ? Libc.errno() : 0,
                        String.format("%d of %d msrs read", r, indices.length));
            }
            long[] values = new long[indices.length];
            for (int i = 0; i < indices.length; i++) {
                values[i] = m.get(ValueLayout.JAVA_LONG, 16 + 16L * i);
            }
            return values;
        }
    }

    /** {@code KVM_SET_MSRS} for one MSR. */
    public void setMsr(int index, long value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(8 + 16, 8);
            m.set(ValueLayout.JAVA_INT, 0, 1);
            m.set(ValueLayout.JAVA_INT, 8, index);
            m.set(ValueLayout.JAVA_LONG, 16, value);
            int r = Libc.ioctl(fd, KvmIoctl.KVM_SET_MSRS.request(), m);
            if (r != 1) {
                throw new HostCallException("KVM_SET_MSRS", r < 0 ? Libc.errno() : 0,
                        String.format("msr 0x%x: %d of 1 set", index, r));
            }
        }
    }

    /** {@code KVM_GET_MSRS} for one MSR. */
    public long getMsr(int index) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(8 + 16, 8);
            m.set(ValueLayout.JAVA_INT, 0, 1);
            m.set(ValueLayout.JAVA_INT, 8, index);
            int r = Libc.ioctl(fd, KvmIoctl.KVM_GET_MSRS.request(), m);
            if (r != 1) {
                throw new HostCallException("KVM_GET_MSRS", r < 0 ? Libc.errno() : 0, String.format("msr 0x%x", index));
            }
            return m.get(ValueLayout.JAVA_LONG, 16);
        }
    }

    /** {@code KVM_VCPU_TSC_CTRL}: the {@code kvm_device_attr} group of a vCPU's TSC ({@code asm/kvm.h}). */
    public static final int KVM_VCPU_TSC_CTRL = 0;
    /** {@code KVM_VCPU_TSC_OFFSET}: the attribute of the TSC offset in that group. */
    public static final int KVM_VCPU_TSC_OFFSET = 0;
    /** {@code sizeof(struct kvm_device_attr)}: flags u32, group u32, attr u64, addr u64. */
    static final long DEVICE_ATTR_SIZE = 24;

    /**
     * {@code KVM_GET_TSC_KHZ}: the frequency of this vCPU's TSC in kHz (needs
     * {@code KVM_CAP_GET_TSC_KHZ}). Like every vCPU ioctl it waits while the vCPU is in
     * {@code KVM_RUN}: call it before the vCPU runs or on its thread.
     */
    public long tscKhz() {
        return KvmIoctl.KVM_GET_TSC_KHZ.call(fd, 0L);
    }

    /** {@code KVM_HAS_DEVICE_ATTR} for {@code KVM_VCPU_TSC_OFFSET}: true when KVM can report the offset. */
    public boolean hasTscOffsetAttribute() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = tscOffsetAttribute(a, MemorySegment.NULL);
            return Libc.ioctl(fd, KvmIoctl.KVM_HAS_DEVICE_ATTR.request(), attr) == 0;
        }
    }

    /**
     * {@code KVM_GET_DEVICE_ATTR} of {@code KVM_VCPU_TSC_OFFSET}: the value KVM adds to the host's TSC
     * to give this vCPU's (with the vCPU's TSC frequency equal to the host's, as jxen never scales
     * it). Before the vCPU runs or on its thread.
     */
    public long tscOffset() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment value = a.allocate(ValueLayout.JAVA_LONG);
            KvmIoctl.KVM_GET_DEVICE_ATTR.call(fd, tscOffsetAttribute(a, value));
            return value.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    private static MemorySegment tscOffsetAttribute(Arena a, MemorySegment value) {
        MemorySegment attr = a.allocate(DEVICE_ATTR_SIZE, 8);
        attr.set(ValueLayout.JAVA_INT, 4, KVM_VCPU_TSC_CTRL); // group
        attr.set(ValueLayout.JAVA_LONG, 8, KVM_VCPU_TSC_OFFSET); // attr
        attr.set(ValueLayout.JAVA_LONG, 16, value.address()); // addr
        return attr;
    }

    /** Unmaps {@code kvm_run} and closes the vCPU. Only after the vCPU thread stopped. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            threadId = 0;
            arena.close();
            Libc.munmap(runAddress, runSize);
            Libc.close(fd);
        }
    }
}

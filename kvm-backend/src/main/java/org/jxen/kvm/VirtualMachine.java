package org.jxen.kvm;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import org.jxen.abi.XenAbi;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.gpc.MemoryMapListener;
import org.jxen.gpc.Memslot;
import org.jxen.hypercalls.HypercallDispatcher;

/**
 * A Xen-flavoured KVM virtual machine: guest RAM in shared host memory mirrored into KVM's memslots,
 * the in-kernel irqchip, Xen's CPUID leaves, the hypercall-page MSR intercepted and served with
 * jxen's port-doorbell page, and one {@link Vcpu} thread per vCPU.
 *
 * <p>Threads: building and {@link #close()} from one controlling thread; {@link #signalUpcall},
 * {@link #memory()} and the getters from any thread; handlers run on vCPU threads.
 */
public final class VirtualMachine implements AutoCloseable {
    /** Where KVM's three TSS pages and identity-map page live on Intel: below 4 GiB, outside RAM. */
    static final long TSS_ADDR = 0xfffbd000L;
    static final long IDENTITY_MAP_ADDR = 0xfffbc000L;
    /** RAM above this gpa goes above 4 GiB, leaving the usual hole for MMIO (APIC, IOAPIC, TSS). */
    static final long LOW_RAM_LIMIT = 0xc0000000L;

    private final String name;
    private final Kvm kvm;
    private final KvmVm kvmVm;
    private final GuestMemory memory;
    private final List<HostMemory> ram = new ArrayList<>();
    private final List<Vcpu> vcpus = new ArrayList<>();
    private volatile HypercallDispatcher dispatcher;
    private final Map<Integer, PortHandler> ports = new ConcurrentHashMap<>();
    private final List<BiConsumer<Vcpu, Throwable>> errorListeners = new CopyOnWriteArrayList<>();
    private final int xenMajor;
    private final int xenMinor;
    private volatile long hypercallPageGpa = -1;
    /** What the instruction probe found on this host ({@link SupervisorInstructionProbe.Result#NONE} when not run). */
    private final SupervisorInstructionProbe.Result instructionProbe;
    private static SupervisorInstructionProbe.Result hostProbe;
    /** The guest's TSC (host TSC plus each vCPU's offset), read before the vCPUs run; null if unknown. */
    private final org.jxen.hypercalls.time.GuestTsc guestTsc;
    private volatile boolean closed;

    /** Builder of a {@link VirtualMachine}. */
    public static final class Builder {
        private String name = "jxen";
        private long memoryBytes = 64L << 20;
        private int vcpus = 1;
        private HypercallDispatcher dispatcher = HypercallDispatcher.NONE;
        private int xenMajor = XenAbi.XEN_VERSION_MAJOR;
        private int xenMinor = XenAbi.XEN_VERSION_MINOR;
        private PrintStream console = System.out;
        private boolean probeInstructions = true;
        private boolean completeUserSyscalls = true;

        public Builder name(String n) {
            this.name = n;
            return this;
        }

        public Builder memory(long bytes) {
            if (bytes < (1 << 20) || bytes % HostMemory.PAGE_SIZE != 0) {
                throw new IllegalArgumentException("memory must be at least 1 MiB and a multiple of 4 KiB: " + bytes);
            }
            this.memoryBytes = bytes;
            return this;
        }

        public Builder vcpus(int n) {
            if (n < 1 || n > 255) {
                throw new IllegalArgumentException("vcpus must be between 1 and 255: " + n);
            }
            this.vcpus = n;
            return this;
        }

        public Builder dispatcher(HypercallDispatcher d) {
            this.dispatcher = d;
            return this;
        }

        public Builder xenVersion(int major, int minor) {
            this.xenMajor = major;
            this.xenMinor = minor;
            return this;
        }

        /** Where the debug ports 0xe9 and 0x12 print; null to drop. */
        public Builder console(PrintStream out) {
            this.console = out;
            return this;
        }

        /**
         * Whether to hide from the guest's CPUID the features whose instructions this host's KVM
         * cannot run in the guest's kernel ({@link SupervisorInstructionProbe}, run once per process);
         * default true. False gives the guest KVM's supported CPUID as it is.
         */
        public Builder probeInstructions(boolean on) {
            this.probeInstructions = on;
            return this;
        }

        /**
         * Whether the vCPUs finish the guest's user-mode system calls where this host's KVM leaves
         * them half done ({@link SyscallIntercept}; decided by {@link UserSyscallProbe}, run once per
         * process); default true. A host that runs them itself needs nothing and gets nothing.
         */
        public Builder completeUserSyscalls(boolean on) {
            this.completeUserSyscalls = on;
            return this;
        }

        public VirtualMachine build() {
            return new VirtualMachine(this);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    private VirtualMachine(Builder b) {
        this.name = b.name;
        this.dispatcher = b.dispatcher;
        this.xenMajor = b.xenMajor;
        this.xenMinor = b.xenMinor;
        this.kvm = Kvm.open();
        KvmVm v = null;
        try {
            v = kvm.createVm();
            this.kvmVm = v;
            v.setTssAddr(TSS_ADDR);
            v.setIdentityMapAddr(IDENTITY_MAP_ADDR);
            v.createIrqchip();
            v.interceptMsrWrites(XenCpuidLeaves.HYPERCALL_MSR);
            this.memory = new GuestMemory(name);
            memory.addListener(this::mirrorMemslot);
            long low = Math.min(b.memoryBytes, LOW_RAM_LIMIT);
            HostMemory lowRam = HostMemory.anonymous(name + "-ram-low", low);
            ram.add(lowRam);
            memory.addSlot(0, 0, low, lowRam, 0, 0);
            if (b.memoryBytes > low) {
                HostMemory highRam = HostMemory.anonymous(name + "-ram-high", b.memoryBytes - low);
                ram.add(highRam);
                memory.addSlot(1, 1L << 32, b.memoryBytes - low, highRam, 0, 0);
            }
            List<CpuidEntry> supported = kvm.supportedCpuid();
            this.instructionProbe = b.probeInstructions ? hostProbe(kvm) : SupervisorInstructionProbe.Result.NONE;
            boolean tscKhz = kvm.checkExtension(KvmCap.KVM_CAP_GET_TSC_KHZ) != 0;
            List<KvmVcpu> created = new ArrayList<>();
            for (int i = 0; i < b.vcpus; i++) {
                KvmVcpu kv = v.createVcpu(i);
                created.add(kv);
                kv.setCpuid(XenCpuidLeaves.forVcpu(supported, i, xenMajor, xenMinor, tscKhz ? kv.tscKhz() : 0,
                        instructionProbe.hidden()));
                vcpus.add(new Vcpu(this, kv));
            }
            this.guestTsc = KvmGuestTsc.read(kvm, created, supported);
            this.syscallCompletion = b.completeUserSyscalls && hostNeedsSyscallCompletion(kvm);
            if (syscallCompletion) {
                vcpus.forEach(Vcpu::completeUserSyscalls);
            }
            if (b.console != null) {
                PortHandler debug = new DebugConsole(b.console);
                ports.put(0xe9, debug);
                ports.put(0x12, debug);
            }
        } catch (RuntimeException | Error e) {
            closeQuietly();
            throw e;
        }
    }

    public String name() {
        return name;
    }

    /**
     * What {@link SupervisorInstructionProbe} found on this host: the features whose instructions KVM
     * cannot run in a guest's kernel, those hidden from this VM's CPUID, and those the guest sees
     * anyway. {@link SupervisorInstructionProbe.Result#NONE} when the builder turned the probe off.
     */
    public SupervisorInstructionProbe.Result instructionProbe() {
        return instructionProbe;
    }

    private static UserSyscallProbe.Result hostUserSyscall;
    private static Boolean hostSyscallCompletion;
    /** True when this VM's vCPUs finish the user-mode system calls the host leaves half done. */
    private final boolean syscallCompletion;

    /**
     * Whether this host's KVM takes a guest's user-mode {@code syscall} into the guest's kernel
     * ({@link UserSyscallProbe}), measured on the first call in the process (a few milliseconds).
     */
    public UserSyscallProbe.Result userSyscallProbe() {
        return hostUserSyscall(kvm);
    }

    /** True when this VM's vCPUs finish the user-mode system calls this host leaves half done ({@link SyscallIntercept}). */
    public boolean completesUserSyscalls() {
        return syscallCompletion;
    }

    private static synchronized UserSyscallProbe.Result hostUserSyscall(Kvm kvm) {
        if (hostUserSyscall == null) {
            try {
                hostUserSyscall = UserSyscallProbe.run(kvm);
            } catch (RuntimeException e) {
                hostUserSyscall = new UserSyscallProbe.Result(UserSyscallProbe.Outcome.UNKNOWN, -1, e.toString());
            }
        }
        return hostUserSyscall;
    }

    /**
     * True when a user-mode {@code syscall} faults on the kernel's entry here ({@code #PF}) and the
     * probe's program, run with {@link SyscallIntercept}, makes all its system calls and returns to
     * user mode. Measured once per process.
     */
    private static synchronized boolean hostNeedsSyscallCompletion(Kvm kvm) {
        if (hostSyscallCompletion == null) {
            UserSyscallProbe.Result r = hostUserSyscall(kvm);
            boolean works = false;
            if (r.outcome() == UserSyscallProbe.Outcome.FAULTS && r.vector() == SyscallCompletion.PF) {
                try {
                    UserSyscallProbe.Completed c = UserSyscallProbe.runCompleted(kvm, false);
                    works = c.vector() == 6 && c.completed() == UserSyscallProbe.ROUND_TRIPS
                            && c.kernelEntries() == UserSyscallProbe.ROUND_TRIPS;
                } catch (RuntimeException e) {
                    works = false;
                }
            }
            hostSyscallCompletion = works;
        }
        return hostSyscallCompletion;
    }

    /** The host's probe result, measured once per process (the host does not change under it). */
    private static synchronized SupervisorInstructionProbe.Result hostProbe(Kvm kvm) {
        if (hostProbe == null) {
            try {
                hostProbe = SupervisorInstructionProbe.run(kvm, List.of(CpuFeature.values()));
            } catch (RuntimeException e) {
                hostProbe = SupervisorInstructionProbe.Result.NONE; // a host that cannot run the probe: hide nothing
            }
        }
        return hostProbe;
    }

    public GuestMemory memory() {
        return memory;
    }

    public List<Vcpu> vcpus() {
        return List.copyOf(vcpus);
    }

    public Vcpu vcpu(int id) {
        return vcpus.get(id);
    }

    public KvmVm kvmVm() {
        return kvmVm;
    }

    /**
     * The TSC the guest reads (the host's TSC plus each vCPU's offset, at the host's rate), or null
     * when this host's KVM cannot say; read before the vCPUs ran. Any thread.
     */
    public org.jxen.hypercalls.time.GuestTsc guestTsc() {
        return guestTsc;
    }

    HypercallDispatcher dispatcher() {
        return dispatcher;
    }

    /** Replaces the hypercall dispatcher (for example with a Xen domain built on this VM); before start. */
    public void setDispatcher(HypercallDispatcher d) {
        this.dispatcher = d;
    }

    /** The gpa of the hypercall page the guest asked for, or -1. */
    public long hypercallPageGpa() {
        return hypercallPageGpa;
    }

    /** Registers a handler for guest port I/O on {@code port} (replacing any other). */
    public void setPortHandler(int port, PortHandler handler) {
        ports.put(port, handler);
    }

    PortHandler portHandler(int port) {
        return ports.get(port);
    }

    /** Hears errors that stopped a vCPU. */
    public void addErrorListener(BiConsumer<Vcpu, Throwable> listener) {
        errorListeners.add(listener);
    }

    void reportError(Vcpu vcpu, Throwable t) {
        for (BiConsumer<Vcpu, Throwable> l : errorListeners) {
            l.accept(vcpu, t);
        }
    }

    /** Starts every vCPU thread. */
    public void start() {
        for (Vcpu v : vcpus) {
            v.start();
        }
    }

    /**
     * Delivers {@code vector} to vCPU {@code vcpuId}'s local APIC ({@code KVM_SIGNAL_MSI}); from any
     * thread. The kernel wakes a halted vCPU or kicks a running one. Returns false when the APIC
     * did not accept it (for example not yet software-enabled by the guest).
     */
    public boolean signalUpcall(int vcpuId, int vector) {
        boolean accepted = kvmVm.signalMsi(vcpuId, vector);
        vcpus.get(vcpuId).stats().countUpcall(accepted);
        return accepted;
    }

    /** vCPU thread: a guest {@code wrmsr} that the filter sent to userspace. */
    void wrmsr(Vcpu vcpu, int index, long data) {
        KvmRun run = vcpu.kvmVcpu().kvmRun();
        if (index != XenCpuidLeaves.HYPERCALL_MSR) {
            run.setMsrError(true);
            return;
        }
        long pageIndex = data & 0xfff;
        long gpa = data & ~0xfffL;
        byte[] page = PortHypercallPage.bytes();
        if (pageIndex != 0 || !memory.write(gpa, MemorySegment.ofArray(page))) {
            run.setMsrError(true); // Xen: a page index beyond the one page, or no RAM there: #GP
            return;
        }
        run.setMsrError(false);
        hypercallPageGpa = gpa;
    }

    private void mirrorMemslot(MemoryMapListener.Change c) {
        switch (c.kind()) {
            case ADD -> setRegion(c.newSlot());
            case REMOVE -> kvmVm.setUserMemoryRegion(c.oldSlot().id(), 0, c.oldSlot().gpa(), 0, c.oldSlot().hva());
            case MOVE -> setRegion(c.newSlot());
            case FLAGS -> {
                if ((c.oldSlot().flags() & Memslot.READONLY) != (c.newSlot().flags() & Memslot.READONLY)) {
                    // KVM cannot change KVM_MEM_READONLY in place: delete, then create
                    kvmVm.setUserMemoryRegion(c.oldSlot().id(), 0, c.oldSlot().gpa(), 0, c.oldSlot().hva());
                }
                setRegion(c.newSlot());
            }
        }
    }

    private void setRegion(Memslot s) {
        if (s.memory().kind() == HostMemory.Kind.OFF_HEAP) {
            throw new IllegalArgumentException(s + ": off-heap memory cannot back a KVM memslot; use "
                    + "HostMemory.anonymous or HostMemory.memfd");
        }
        int flags = (s.isReadOnly() ? KvmVm.KVM_MEM_READONLY : 0)
                | ((s.flags() & Memslot.LOG_DIRTY_PAGES) != 0 ? KvmVm.KVM_MEM_LOG_DIRTY_PAGES : 0);
        kvmVm.setUserMemoryRegion(s.id(), flags, s.gpa(), s.size(), s.hva());
    }

    /** Stops every vCPU (waiting up to {@code timeout} each); returns true when all threads ended. */
    public boolean stop(Duration timeout) {
        boolean all = true;
        for (Vcpu v : vcpus) {
            all &= v.stop(timeout);
        }
        return all;
    }

    /** Stops the vCPUs (5 s time-out each) and releases KVM and guest memory. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        boolean ended = stop(Duration.ofSeconds(5));
        if (!ended) {
            // a vCPU thread that did not end may still touch kvm_run and guest memory: leak them
            // rather than unmap memory under a running thread
            kvmVm.close();
            kvm.close();
            throw new IllegalStateException("vcpu threads of " + name + " did not stop within 5 s; memory not released");
        }
        closeQuietly();
    }

    private void closeQuietly() {
        for (Vcpu v : vcpus) {
            try {
                v.kvmVcpu().close();
            } catch (RuntimeException ignored) {
                // best effort on teardown
            }
        }
        if (memory != null) {
            for (Memslot s : memory.currentMap().slots()) {
                try {
                    memory.removeSlot(s.id());
                } catch (RuntimeException ignored) {
                    // best effort on teardown
                }
            }
        }
        if (kvmVm != null) {
            kvmVm.close();
        }
        kvm.close();
        for (HostMemory h : ram) {
            try {
                h.close();
            } catch (RuntimeException ignored) {
                // best effort on teardown
            }
        }
    }

    /** Ports 0xe9 and 0x12: bytes to a print stream, flushed at each newline. */
    static final class DebugConsole implements PortHandler {
        private final PrintStream out;

        DebugConsole(PrintStream out) {
            this.out = out;
        }

        @Override
        public synchronized void out(Vcpu vcpu, int port, int size, int value) {
            out.write(value & 0xff);
            if ((value & 0xff) == '\n') {
                out.flush();
            }
        }
    }
}

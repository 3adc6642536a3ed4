package org.jxen.kvm.harness;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.HypercallDispatcher;
import org.jxen.hypercalls.XenDomain;
import org.jxen.kvm.KvmRun;
import org.jxen.kvm.KvmVcpu;
import org.jxen.kvm.KvmXenPlatform;
import org.jxen.kvm.PortHandler;
import org.jxen.kvm.Sregs;
import org.jxen.kvm.Vcpu;
import org.jxen.kvm.VirtualMachine;
import org.jxen.kvm.boot.ElfFormatException;
import org.jxen.kvm.boot.ElfImage;
import org.jxen.kvm.boot.ElfLoadException;
import org.jxen.kvm.boot.ElfLoader;
import org.jxen.kvm.boot.LoadSegment;
import org.jxen.kvm.boot.LoadedKernel;

/**
 * A VM for one 64-bit test guest, in the manner of KVM selftests' {@code vm_create_with_vcpus}:
 * N vCPUs in one call, the guest image loaded and mapped in the supervisor half, page tables, GDT,
 * TSS, stacks and one ucall slot per vCPU made at creation, every vCPU set up to start in 64-bit
 * mode at the image's entry with {@code rdi} = vCPU id, {@code rsi}/{@code rdx} = its ucall slot's
 * gpa/gva (docs/kvm-backend.md).
 *
 * <p>The guest talks with {@code ucall}: the vCPU stops at each {@code SYNC} until the test calls
 * {@link #resume(int)}; {@code DONE} and {@code ASSERT} stop the vCPU. {@link #awaitUcall} fails the
 * test with the guest's file, line, expression and values on an assert.
 *
 * <p>Threads: the test thread drives the VM; the ucall handler runs on vCPU threads and hands
 * each ucall over through a blocking queue (which orders the guest's writes before the test's reads).
 */
public final class SelftestVm implements AutoCloseable {
    /** The I/O port of the ucall doorbell. */
    public static final int UCALL_PORT = 0xe5;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(20);
    static final int GDT_CODE64 = 0x08;
    static final int GDT_DATA = 0x10;
    static final int GDT_TSS = 0x18;
    static final long STACK_SIZE = 16 * 1024;

    private final VirtualMachine vm;
    private final ElfImage image;
    private final PhysicalAllocator physical;
    private final PageTables tables;
    private final VirtualAllocator virtual;
    private final List<VirtualAllocator.Allocation> ucallSlots = new ArrayList<>();
    private final List<BlockingQueue<Ucall>> ucalls = new ArrayList<>();
    private final List<Semaphore> proceed = new ArrayList<>();
    private volatile XenDomain domain;
    private final KvmXenPlatform platform;

    /** Options of a test VM. */
    public static final class Options {
        int vcpus = 1;
        long memory = 64L << 20;
        HypercallDispatcher dispatcher = HypercallDispatcher.NONE;
        PrintStream console = System.out;
        boolean xenDomain;
        boolean secondariesOffline;
        long runstatePeriodNanos = KvmXenPlatform.RUNSTATE_PERIOD_NANOS;

        public Options vcpus(int n) {
            this.vcpus = n;
            return this;
        }

        public Options memory(long bytes) {
            this.memory = bytes;
            return this;
        }

        public Options dispatcher(HypercallDispatcher d) {
            this.dispatcher = d;
            return this;
        }

        public Options console(PrintStream out) {
            this.console = out;
            return this;
        }

        /** Serve hypercalls with jxen's Xen domain ({@link XenDomain}) on this VM. */
        public Options xenDomain() {
            this.xenDomain = true;
            return this;
        }

        /**
         * vCPUs other than 0 start down: their threads start with {@link #start()} but run no guest
         * code until the guest brings them up with {@code VCPUOP_initialise} and {@code VCPUOP_up}
         * (the registers the harness set are then replaced by the guest's context). Without this,
         * every vCPU starts at the image's entry.
         */
        public Options secondaryVcpusOffline() {
            this.secondariesOffline = true;
            return this;
        }

        /**
         * How often the Xen domain re-accounts each vCPU's runstate from its thread's statistics
         * ({@link KvmXenPlatform#KvmXenPlatform(VirtualMachine, PrintStream, long)}); 0 for only at
         * runstate changes, so that no runstate area is written while its vCPU runs guest code.
         */
        public Options runstatePeriodNanos(long nanos) {
            this.runstatePeriodNanos = nanos;
            return this;
        }
    }

    public static Options options() {
        return new Options();
    }

    /** Creates the VM with the guest image {@code elf} (bytes of a 64-bit harness guest). */
    public static SelftestVm create(byte[] elf, Options options) throws ElfFormatException, ElfLoadException {
        return new SelftestVm(elf, options);
    }

    private SelftestVm(byte[] elf, Options o) throws ElfFormatException, ElfLoadException {
        this.image = ElfImage.parse(elf);
        this.vm = VirtualMachine.builder().name("selftest").memory(o.memory).vcpus(o.vcpus).dispatcher(o.dispatcher)
                .console(o.console).build();
        try {
            LoadedKernel k = ElfLoader.load(image, vm.memory());
            long start = Math.max(align(k.physicalEnd()), 0x400000);
            this.physical = new PhysicalAllocator(vm.memory(), start, Math.min(o.memory, 0xc0000000L));
            this.tables = new PageTables(vm.memory(), physical);
            this.virtual = new VirtualAllocator(tables, physical);
            for (LoadSegment s : image.segments()) {
                long va = s.virtualAddress() & ~(HostMemory.PAGE_SIZE - 1);
                long pa = s.physicalAddress() & ~(HostMemory.PAGE_SIZE - 1);
                long end = align(s.virtualAddress() + s.memorySize());
                tables.map(va, pa, end - va, (s.flags() & LoadSegment.PF_W) != 0, false);
            }
            VirtualAllocator.Allocation gdt = virtual.allocate(HostMemory.PAGE_SIZE, VirtualAllocator.Access.SUPERVISOR);
            VirtualAllocator.Allocation tss = virtual.allocate(HostMemory.PAGE_SIZE, VirtualAllocator.Access.SUPERVISOR);
            writeGdt(gdt.gpa(), tss.gva());
            for (int i = 0; i < o.vcpus; i++) {
                VirtualAllocator.Allocation slot = virtual.allocate(Ucall.SLOT_SIZE, VirtualAllocator.Access.SUPERVISOR);
                if (slot.gpa() >= (1L << 32)) {
                    throw new IllegalStateException("ucall slot above 4 GiB");
                }
                ucallSlots.add(slot);
                ucalls.add(new LinkedBlockingQueue<>());
                proceed.add(new Semaphore(0));
                VirtualAllocator.Allocation stack = virtual.allocate(STACK_SIZE, VirtualAllocator.Access.SUPERVISOR);
                setUpVcpu(vm.vcpu(i).kvmVcpu(), image.entry(), i, slot, stack.gva() + stack.size(), gdt.gva(), tss.gva());
            }
            vm.setPortHandler(UCALL_PORT, new UcallHandler());
            if (o.secondariesOffline) {
                for (int i = 1; i < o.vcpus; i++) {
                    vm.vcpu(i).setOffline(true); // before the domain is built: it asks who starts up
                }
            }
            if (o.xenDomain) {
                this.platform = new KvmXenPlatform(vm, o.console, o.runstatePeriodNanos);
                this.domain = new XenDomain(platform,
                        XenDomain.Config.of(o.vcpus));
                vm.setDispatcher(domain);
            } else {
                this.platform = null;
                this.domain = null;
            }
        } catch (RuntimeException | ElfLoadException e) {
            vm.close();
            throw e;
        }
    }

    private static long align(long a) {
        return (a + HostMemory.PAGE_SIZE - 1) & ~(HostMemory.PAGE_SIZE - 1);
    }

    private void writeGdt(long gdtGpa, long tssGva) {
        vm.memory().putLong(gdtGpa + GDT_CODE64, 0x00209a0000000000L); // P, DPL 0, S, execute/read, L
        vm.memory().putLong(gdtGpa + GDT_DATA, 0x0000920000000000L); // P, DPL 0, S, read/write
        long limit = 0x67;
        long low = (limit & 0xffff) | ((tssGva & 0xffffffL) << 16) | (0x89L << 40) | ((tssGva >>> 24) & 0xff) << 56;
        vm.memory().putLong(gdtGpa + GDT_TSS, low);
        vm.memory().putLong(gdtGpa + GDT_TSS + 8, tssGva >>> 32);
    }

    private void setUpVcpu(KvmVcpu v, long entry, int id, VirtualAllocator.Allocation slot, long stackTop, long gdtGva,
            long tssGva) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sregs = a.allocate(Sregs.SIZE, 8);
            v.getSregs(sregs);
            Sregs.setSegment(sregs, Sregs.CS, Sregs.Segment.flat(GDT_CODE64, 0xb, true));
            Sregs.Segment data = Sregs.Segment.flat(GDT_DATA, 0x3, false);
            for (long seg : new long[] {Sregs.DS, Sregs.ES, Sregs.FS, Sregs.GS, Sregs.SS}) {
                Sregs.setSegment(sregs, seg, data);
            }
            Sregs.setSegment(sregs, Sregs.TR, new Sregs.Segment(tssGva, 0x67, GDT_TSS, 0xb, true, 0, false, false, false,
                    false));
            Sregs.setSegment(sregs, Sregs.LDT, new Sregs.Segment(0, 0, 0, 0x2, false, 0, false, false, false, false));
            Sregs.setTable(sregs, Sregs.GDT, gdtGva, 0x27);
            Sregs.setTable(sregs, Sregs.IDT, 0, 0);
            Sregs.set(sregs, Sregs.CR0, 0x80050033L); // PG, AM, WP, NE, ET, MP, PE
            Sregs.set(sregs, Sregs.CR4, 0x6a0L); // OSXMMEXCPT, OSFXSR, PGE, PAE
            Sregs.set(sregs, Sregs.CR3, tables.root());
            Sregs.set(sregs, Sregs.EFER, Sregs.EFER_LME | Sregs.EFER_LMA);
            v.setSregs(sregs);
            MemorySegment regs = a.allocate(KvmRun.Regs.SIZE, 8);
            regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RIP, entry);
            regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RSP, stackTop);
            regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RDI, id);
            regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RSI, slot.gpa());
            regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RDX, slot.gva());
            regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RFLAGS, 2);
            v.setRegs(regs);
        }
        // with the in-kernel irqchip an application processor waits for INIT/SIPI: the harness
        // starts every vCPU directly
        v.setMpState(KvmVcpu.MP_STATE_RUNNABLE);
    }

    public VirtualMachine vm() {
        return vm;
    }

    /** The Xen domain serving this VM's hypercalls, or null when the options gave a plain dispatcher. */
    public XenDomain domain() {
        return domain;
    }

    /**
     * Saves the Xen domain's state and puts it into a new domain that then serves the VM (the Xen
     * half of a save and restore; guest memory and registers stay as they are). Call it while the
     * vCPUs wait (in a ucall, or paused). Returns the new domain.
     */
    public XenDomain saveAndRestoreDomain() {
        XenDomain old = domain;
        old.suspendTimers();
        org.jxen.hypercalls.DomainState state = old.captureState();
        old.close();
        XenDomain fresh = new XenDomain(platform, old.config());
        int rc = fresh.restoreState(state);
        if (rc != 0) {
            fresh.close();
            throw new IllegalStateException("the domain's state could not be restored: "
                    + org.jxen.abi.XenErrno.nameOfResult(rc));
        }
        vm.setDispatcher(fresh);
        domain = fresh;
        return fresh;
    }

    /** The platform under {@link #domain()}, or null. */
    public KvmXenPlatform platform() {
        return platform;
    }

    public PhysicalAllocator physicalAllocator() {
        return physical;
    }

    public VirtualAllocator virtualAllocator() {
        return virtual;
    }

    public PageTables pageTables() {
        return tables;
    }

    /** The gpa of vCPU {@code id}'s ucall slot. */
    public long ucallSlotGpa(int id) {
        return ucallSlots.get(id).gpa();
    }

    /** Starts all vCPUs. */
    public void start() {
        vm.start();
    }

    /** Starts one vCPU. */
    public void start(int id) {
        vm.vcpu(id).start();
    }

    /**
     * The next ucall of vCPU {@code id}. A guest assert, a time-out or a vCPU that stopped without a
     * ucall fail with an {@link AssertionError} that says what happened.
     */
    public Ucall awaitUcall(int id, Duration timeout) {
        try {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                Ucall u = ucalls.get(id).poll(20, TimeUnit.MILLISECONDS);
                if (u != null) {
                    if (u.command() == Ucall.Command.ASSERT) {
                        throw new AssertionError(u.toString());
                    }
                    return u;
                }
                Vcpu v = vm.vcpu(id);
                if (v.state() == Vcpu.State.STOPPED && ucalls.get(id).isEmpty()) {
                    throw new AssertionError("vcpu " + id + " stopped without a ucall: " + v.stopReason());
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new AssertionError("no ucall from vcpu " + id + " within " + timeout + " (" + v + ", "
                            + v.exitCount() + " exits)");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted");
        }
    }

    /**
     * The next ucall of vCPU {@code id} if one has arrived, else null, without waiting. A guest
     * assert fails with an {@link AssertionError}, as in {@link #awaitUcall}.
     */
    public Ucall pollUcall(int id) {
        Ucall u = ucalls.get(id).poll();
        if (u != null && u.command() == Ucall.Command.ASSERT) {
            throw new AssertionError(u.toString());
        }
        return u;
    }

    public Ucall awaitUcall(int id) {
        return awaitUcall(id, DEFAULT_TIMEOUT);
    }

    /** Lets vCPU {@code id} continue after a SYNC. */
    public void resume(int id) {
        proceed.get(id).release();
    }

    /** Awaits a SYNC ucall with first argument {@code stage}, and returns it (the vCPU waits for {@link #resume}). */
    public Ucall awaitSync(int id, long stage) {
        Ucall u = awaitUcall(id);
        if (u.command() != Ucall.Command.SYNC || u.arg(0) != stage) {
            throw new AssertionError("expected SYNC " + stage + " from vcpu " + id + ", got " + u);
        }
        return u;
    }

    /** Awaits the DONE ucall of vCPU {@code id}. */
    public void awaitDone(int id) {
        Ucall u = awaitUcall(id);
        if (u.command() != Ucall.Command.DONE) {
            throw new AssertionError("expected DONE from vcpu " + id + ", got " + u);
        }
    }

    @Override
    public void close() {
        for (Semaphore s : proceed) {
            s.release(1000);
        }
        vm.close();
        if (domain != null) {
            domain.close();
        }
    }

    private final class UcallHandler implements PortHandler {
        @Override
        public void out(Vcpu vcpu, int port, int size, int value) {
            Ucall u = Ucall.read(vm.memory(), vcpu.id(), value & 0xffffffffL);
            if (u.command() == Ucall.Command.PRINT) {
                System.out.println("[guest vcpu " + vcpu.id() + "] " + u.text());
                return;
            }
            ucalls.get(vcpu.id()).add(u);
            switch (u.command()) {
                case DONE -> vcpu.requestStopFromGuest("the guest is done");
                case ASSERT, UNKNOWN -> vcpu.requestStopFromGuest(u.toString());
                default -> {
                    Semaphore go = proceed.get(vcpu.id());
                    try {
                        while (!go.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                            if (vcpu.stopRequested()) {
                                return;
                            }
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        }
    }
}

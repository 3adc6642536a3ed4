package org.jxen.kvm;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostCallException;
import org.jxen.hypercalls.VcpuContext;
import org.jxen.hypercalls.XenPlatform;
import org.jxen.hypercalls.mm.PagingState;
import org.jxen.hypercalls.time.SchedStat;

/**
 * The Xen domain's platform on a KVM {@link VirtualMachine}: guest memory is the VM's, the calling
 * vCPU's paging state comes from the sync-regs copy of its segment registers (valid during its
 * exit, which is when hypercalls run), upcalls are {@code KVM_SIGNAL_MSI}, console output goes to a
 * print stream, and a shutdown stops every vCPU with the reason. Runstate comes from each vCPU
 * thread's {@code schedstat}, re-accounted every {@link #RUNSTATE_PERIOD_NANOS}; vCPU bring-up
 * takes a {@link Vcpu} off and on ({@link Vcpu#setOffline}) and loads a {@code VCPUOP_initialise}
 * context with {@code KVM_SET_SREGS}/{@code KVM_SET_REGS}; a vCPU that is offline when the domain
 * is built starts down.
 *
 * <p>Threads: as {@link XenPlatform} says; {@link #shutdownReason()} from any thread. The paging
 * state each vCPU was last given is kept for its next hypercall: that slot is only read and written
 * on the vCPU's own thread, as {@link #pagingState(int)} is only called there.
 */
public final class KvmXenPlatform implements XenPlatform {
    /** How often each vCPU's runstate is re-accounted from its thread's schedstat: 10 ms. */
    public static final long RUNSTATE_PERIOD_NANOS = 10_000_000L;

    private final VirtualMachine vm;
    private final PrintStream console;
    private final long runstatePeriodNanos;
    /** Per vCPU, the paging state {@link #pagingState} last returned; each slot only on its vCPU's thread. */
    private final PagingState[] lastPaging;
    private volatile int shutdownReason = -1;

    /** A platform whose runstates are re-accounted every {@link #RUNSTATE_PERIOD_NANOS}. */
    public KvmXenPlatform(VirtualMachine vm, PrintStream console) {
        this(vm, console, RUNSTATE_PERIOD_NANOS);
    }

    /**
     * A platform whose runstates are re-accounted every {@code runstatePeriodNanos}; 0 for only at
     * the vCPUs' own runstate changes (block, poll, up, down, registration), as on Xen when no
     * vCPU is ever preempted: then the domain never writes a runstate area while its vCPU runs
     * guest code (tests that check the bytes around an area rely on it).
     */
    public KvmXenPlatform(VirtualMachine vm, PrintStream console, long runstatePeriodNanos) {
        if (runstatePeriodNanos < 0) {
            throw new IllegalArgumentException("runstate period " + runstatePeriodNanos + " ns");
        }
        this.vm = vm;
        this.console = console;
        this.runstatePeriodNanos = runstatePeriodNanos;
        this.lastPaging = new PagingState[vm.vcpus().size()];
    }

    @Override
    public GuestMemory memory() {
        return vm.memory();
    }

    /**
     * The vCPU's control registers and CPL from kvm_run's sync-regs sregs. The state it returned last
     * time is returned again while they are unchanged (a guest makes most of its hypercalls from one
     * address space), so such a hypercall allocates nothing here.
     */
    @Override
    public PagingState pagingState(int vcpuId) {
        MemorySegment s = vm.vcpu(vcpuId).kvmVcpu().kvmRun().sregs();
        long cr0 = Sregs.get(s, Sregs.CR0);
        long cr3 = Sregs.get(s, Sregs.CR3);
        long cr4 = Sregs.get(s, Sregs.CR4);
        long efer = Sregs.get(s, Sregs.EFER);
        int cpl = Sregs.cpl(s);
        PagingState last = lastPaging[vcpuId];
        if (last != null && last.cr0() == cr0 && last.cr3() == cr3 && last.cr4() == cr4 && last.efer() == efer
                && last.cpl() == cpl) {
            return last;
        }
        PagingState now = PagingState.of(cr0, cr3, cr4, efer, cpl);
        lastPaging[vcpuId] = now;
        return now;
    }

    @Override
    public boolean deliverVector(int vcpuId, int vector) {
        return vm.signalUpcall(vcpuId, vector);
    }

    @Override
    public long monotonicNanos() {
        return System.nanoTime();
    }

    /** The VM's guest TSC: the host's TSC (read with {@link HostTsc}) plus each vCPU's KVM offset. */
    @Override
    public org.jxen.hypercalls.time.GuestTsc guestTsc() {
        return vm.guestTsc();
    }

    @Override
    public void consoleWrite(byte[] bytes, int offset, int length) {
        if (console != null) {
            synchronized (console) {
                console.write(bytes, offset, length);
                console.flush();
            }
        }
    }

    @Override
    public boolean vcpuMustYield(int vcpuId) {
        return vm.vcpu(vcpuId).mustYield();
    }

    @Override
    public boolean vcpuMustStop(int vcpuId) {
        return vm.vcpu(vcpuId).stopRequested();
    }

    @Override
    public void shutdown(int vcpuId, int reason) {
        shutdownReason = reason;
        for (Vcpu v : vm.vcpus()) {
            if (v.id() == vcpuId) {
                v.requestStopFromGuest("SCHEDOP_shutdown reason " + reason);
            } else {
                v.requestStopFromGuest("domain shutdown (reason " + reason + ") from vcpu " + vcpuId);
                v.kvmVcpu().kick();
            }
        }
    }

    @Override
    public SchedStat.Sample vcpuThreadTimes(int vcpuId) {
        return vm.vcpu(vcpuId).threadTimes();
    }

    @Override
    public long runstatePeriodNanos() {
        return runstatePeriodNanos;
    }

    @Override
    public boolean vcpuStartsUp(int vcpuId) {
        return !vm.vcpu(vcpuId).isOffline();
    }

    /**
     * Loads {@code c} into the down vCPU: its segment registers (selectors 0: the context has none),
     * control registers and EFER with {@code KVM_SET_SREGS} (GDTR, IDTR, FS, GS and the LDT stay as
     * they are), its general registers with {@code KVM_SET_REGS} (r8-r15 zero), and makes it runnable
     * for the in-kernel local APIC. {@code -EINVAL} for what VMX cannot enter (a limit that does not
     * fit its granularity) or what KVM refuses (for example CR4 bits this vCPU's CPUID lacks).
     */
    @Override
    public int vcpuInitialise(int vcpuId, VcpuContext c) {
        Vcpu v = vm.vcpu(vcpuId);
        if (!v.isOffline()) {
            return -XenErrno.EINVAL; // the domain only initialises down vCPUs: this is not one
        }
        for (VcpuContext.Segment s : new VcpuContext.Segment[] {c.cs(), c.ds(), c.ss(), c.es(), c.tr()}) {
            if (!s.unusable() && (s.g() ? (s.limit() & 0xfff) != 0xfff : s.limit() > 0xfffff)) {
                return -XenErrno.EINVAL;
            }
        }
        KvmVcpu k = v.kvmVcpu();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sregs = a.allocate(Sregs.SIZE, 8);
            k.getSregs(sregs);
            Sregs.setSegment(sregs, Sregs.CS, segment(c.cs()));
            Sregs.setSegment(sregs, Sregs.DS, segment(c.ds()));
            Sregs.setSegment(sregs, Sregs.SS, segment(c.ss()));
            Sregs.setSegment(sregs, Sregs.ES, segment(c.es()));
            Sregs.setSegment(sregs, Sregs.TR, segment(c.tr()));
            Sregs.set(sregs, Sregs.CR0, c.cr0());
            Sregs.set(sregs, Sregs.CR3, c.cr3());
            Sregs.set(sregs, Sregs.CR4, c.cr4());
            Sregs.set(sregs, Sregs.EFER, c.efer());
            MemorySegment regs = a.allocate(KvmRun.Regs.SIZE, 8);
            long[] values = new long[(int) (KvmRun.Regs.SIZE / 8)];
            values[KvmRun.Regs.RAX] = c.rax();
            values[KvmRun.Regs.RBX] = c.rbx();
            values[KvmRun.Regs.RCX] = c.rcx();
            values[KvmRun.Regs.RDX] = c.rdx();
            values[KvmRun.Regs.RSI] = c.rsi();
            values[KvmRun.Regs.RDI] = c.rdi();
            values[KvmRun.Regs.RSP] = c.rsp();
            values[KvmRun.Regs.RBP] = c.rbp();
            values[KvmRun.Regs.RIP] = c.rip();
            values[KvmRun.Regs.RFLAGS] = c.rflags();
            MemorySegment.copy(values, 0, regs, ValueLayout.JAVA_LONG, 0, values.length);
            k.setSregs(sregs);
            k.setRegs(regs);
            k.setMpState(KvmVcpu.MP_STATE_RUNNABLE);
            return 0;
        } catch (HostCallException e) {
            return -XenErrno.EINVAL; // KVM refused the state: the guest's context, not the VMM, is at fault
        }
    }

    private static Sregs.Segment segment(VcpuContext.Segment s) {
        return new Sregs.Segment(s.base(), (int) s.limit(), 0, s.type(), s.present(), s.dpl(), s.db(), s.s(), s.l(),
                s.g());
    }

    @Override
    public void vcpuUp(int vcpuId) {
        vm.vcpu(vcpuId).setOffline(false);
    }

    @Override
    public void vcpuDown(int vcpuId) {
        vm.vcpu(vcpuId).setOffline(true);
    }

    /** The {@code SHUTDOWN_*} reason the guest gave, or -1. */
    public int shutdownReason() {
        return shutdownReason;
    }
}

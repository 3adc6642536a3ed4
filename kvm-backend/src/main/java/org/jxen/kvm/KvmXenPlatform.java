package org.jxen.kvm;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import org.jxen.gpc.GuestMemory;
import org.jxen.hypercalls.XenPlatform;
import org.jxen.hypercalls.mm.PagingState;

/**
 * The Xen domain's platform on a KVM {@link VirtualMachine}: guest memory is the VM's, the calling
 * vCPU's paging state comes from the sync-regs copy of its segment registers (valid during its
 * exit, which is when hypercalls run), upcalls are {@code KVM_SIGNAL_MSI}, console output goes to a
 * print stream, and a shutdown stops every vCPU with the reason.
 *
 * <p>Threads: as {@link XenPlatform} says; {@link #shutdownReason()} from any thread.
 */
public final class KvmXenPlatform implements XenPlatform {
    private final VirtualMachine vm;
    private final PrintStream console;
    private volatile int shutdownReason = -1;

    public KvmXenPlatform(VirtualMachine vm, PrintStream console) {
        this.vm = vm;
        this.console = console;
    }

    @Override
    public GuestMemory memory() {
        return vm.memory();
    }

    @Override
    public PagingState pagingState(int vcpuId) {
        MemorySegment s = vm.vcpu(vcpuId).kvmVcpu().kvmRun().sregs();
        return PagingState.of(Sregs.get(s, Sregs.CR0), Sregs.get(s, Sregs.CR3), Sregs.get(s, Sregs.CR4),
                Sregs.get(s, Sregs.EFER), Sregs.cpl(s));
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

    /** The {@code SHUTDOWN_*} reason the guest gave, or -1. */
    public int shutdownReason() {
        return shutdownReason;
    }
}

package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jxen.gpc.HostMemory;
import org.junit.jupiter.api.Test;

/**
 * Where {@link SyscallIntercept} puts its breakpoint, on the probe's VM (its IDT has a {@code #PF}
 * gate whose handler is at a kernel-half address): on the handler while the guest has
 * {@code EFER.SCE} set, and nowhere while it is clear (a guest that cannot make a {@code syscall}
 * gets no breakpoint, which on this host changes where kernel code takes interrupts).
 */
class SyscallInterceptArmingTest {
    private static final long MEMORY = 2L << 20;

    @Test
    void theBreakpointIsOnThePageFaultHandlerOnlyWithEferSce() {
        KvmRequired.assumeKvm();
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(); HostMemory ram = HostMemory.anonymous("arming", MEMORY)) {
            ProbeVms.prepare(vm, ram);
            try (KvmVcpu cpu = vm.createVcpu(0); Arena a = Arena.ofConfined()) {
                cpu.setCpuid(kvm.supportedCpuid());
                MemorySegment m = ram.segment();
                UserSyscallProbe.layout(m);
                UserSyscallProbe.enter(cpu, UserSyscallProbe.USER_CODE);
                SyscallIntercept.PhysicalMemory memory = (gpa, dst) -> {
                    if (gpa < 0 || gpa > MEMORY - dst.byteSize()) {
                        return false;
                    }
                    MemorySegment.copy(m, gpa, dst, 0, dst.byteSize());
                    return true;
                };
                SyscallIntercept with = new SyscallIntercept(cpu, memory);
                with.track();
                assertEquals(UserSyscallProbe.HANDLERS_HIGH + 16L * SyscallCompletion.PF, with.armedAt(),
                        "EFER.SCE set: on the #PF handler of IDT gate 14");

                MemorySegment s = a.allocate(Sregs.SIZE, 8);
                cpu.getSregs(s);
                Sregs.set(s, Sregs.EFER, Sregs.get(s, Sregs.EFER) & ~Sregs.EFER_SCE);
                cpu.setSregs(s);
                SyscallIntercept without = new SyscallIntercept(cpu, memory);
                without.track();
                assertEquals(SyscallCompletion.NO_ADDRESS, without.armedAt(), "EFER.SCE clear: no breakpoint");
            }
        }
    }
}

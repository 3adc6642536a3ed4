package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.gpc.HostCallException;
import org.jxen.gpc.HostMemory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The raw bindings on a real VM: a real-mode guest, port I/O, HLT, kicks, errors. */
class KvmSmokeTest {

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    /** A VM with 64 KiB of RAM at gpa 0 holding {@code code} at 0x1000, one vCPU in real mode at 0x1000. */
    record RealModeVm(Kvm kvm, KvmVm vm, HostMemory ram, KvmVcpu vcpu) implements AutoCloseable {
        static RealModeVm start(byte... code) {
            Kvm kvm = Kvm.open();
            KvmVm vm = kvm.createVm();
            vm.setTssAddr(0xfffbd000L);
            HostMemory ram = HostMemory.anonymous("smoke", 0x10000);
            vm.setUserMemoryRegion(0, 0, 0, ram.size(), ram.address());
            MemorySegment.copy(MemorySegment.ofArray(code), 0, ram.segment(), 0x1000, code.length);
            KvmVcpu vcpu = vm.createVcpu(0);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment sregs = a.allocate(Sregs.SIZE, 8);
                vcpu.getSregs(sregs);
                Sregs.Segment cs = Sregs.segment(sregs, Sregs.CS);
                Sregs.setSegment(sregs, Sregs.CS, new Sregs.Segment(0, 0xffff, 0, cs.type(), true, 0, false, true, false,
                        false));
                vcpu.setSregs(sregs);
                MemorySegment regs = a.allocate(KvmRun.Regs.SIZE, 8);
                regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RIP, 0x1000);
                regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RFLAGS, 2);
                vcpu.setRegs(regs);
            }
            return new RealModeVm(kvm, vm, ram, vcpu);
        }

        @Override
        public void close() {
            vcpu.close();
            vm.close();
            kvm.close();
            ram.close();
        }
    }

    @Test
    void portIoThenHalt() {
        // mov $0x12345678, %eax ; out %eax, $0xe4 ; mov $0x9abc, %ax ; hlt
        try (RealModeVm v = RealModeVm.start((byte) 0x66, (byte) 0xb8, (byte) 0x78, (byte) 0x56, (byte) 0x34,
                (byte) 0x12, (byte) 0x66, (byte) 0xe7, (byte) 0xe4, (byte) 0xb8, (byte) 0xbc, (byte) 0x9a,
                (byte) 0xf4)) {
            KvmRun run = v.vcpu().kvmRun();
            run.setValidRegs(KvmRun.SYNC_X86_REGS | KvmRun.SYNC_X86_SREGS);
            assertEquals(KvmExit.KVM_EXIT_IO, v.vcpu().run());
            assertEquals(0xe4, run.ioPort());
            assertEquals(KvmRun.IO_OUT, run.ioDirection());
            assertEquals(4, run.ioSize());
            assertEquals(1, run.ioCount());
            assertEquals(0x12345678, run.ioData().get(ValueLayout.JAVA_INT, 0));
            assertEquals(0x12345678L, run.reg(KvmRun.Regs.RAX), "sync regs hold the guest's registers");
            assertEquals(KvmExit.KVM_EXIT_HLT, v.vcpu().run());
            assertEquals(0x12349abcL, run.reg(KvmRun.Regs.RAX));
        }
    }

    @Test
    void anotherThreadKicksASpinningVcpuOutOfKvmRun() throws Exception {
        try (RealModeVm v = RealModeVm.start((byte) 0xeb, (byte) 0xfe)) { // jmp .
            CompletableFuture<Integer> runner = new CompletableFuture<>();
            CompletableFuture<Void> bound = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                v.vcpu().bindToCurrentThread();
                bound.complete(null);
                runner.complete(v.vcpu().run());
            }, "vcpu0");
            t.start();
            bound.get(5, TimeUnit.SECONDS);
            Thread.sleep(100); // let it spin inside KVM_RUN
            assertTrue(t.isAlive());
            v.vcpu().kick();
            assertEquals(KvmVcpu.RUN_INTERRUPTED, runner.get(5, TimeUnit.SECONDS));
            t.join(5000);
        }
    }

    @Test
    void failuresNameTheIoctlAndErrno() {
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm()) {
            // a memslot that is not page-aligned
            HostCallException e = org.junit.jupiter.api.Assertions.assertThrows(HostCallException.class,
                    () -> vm.setUserMemoryRegion(0, 0, 0x123, 0x1000, 0x1000));
            assertEquals("KVM_SET_USER_MEMORY_REGION", e.call());
            assertEquals(22, e.errno());
            assertTrue(e.getMessage().contains("EINVAL"), e.getMessage());
        }
    }

    @Test
    void capabilitiesThatJxenRelliesOn() {
        try (Kvm kvm = Kvm.open()) {
            assertTrue(kvm.checkExtension(KvmCap.KVM_CAP_SYNC_REGS) != 0);
            assertTrue(kvm.checkExtension(KvmCap.KVM_CAP_X86_USER_SPACE_MSR) != 0);
            assertTrue(kvm.checkExtension(KvmCap.KVM_CAP_SIGNAL_MSI) != 0);
            assertTrue(kvm.checkExtension(KvmCap.KVM_CAP_IMMEDIATE_EXIT) != 0);
            assertTrue(kvm.supportedCpuid().size() > 10);
        }
    }
}

package org.jxen.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jxen.gpc.HostMemory;
import org.jxen.kvm.Kvm;
import org.jxen.kvm.KvmExit;
import org.jxen.kvm.KvmRun;
import org.jxen.kvm.KvmVcpu;
import org.jxen.kvm.KvmVm;
import org.jxen.kvm.Sregs;

/**
 * An experiment that isolates the cost of {@code KVM_RUN} called from Java: a real-mode guest
 * loops on {@code out %eax, $0xe4}, and the host does nothing but re-enter. Compare with the native
 * floor ({@code bench/native/pio_floor}) and with {@link HypercallRoundTrip}.
 * Usage: {@code java -cp benchmarks.jar org.jxen.bench.RawRunLoop [exits] [syncRegs 0|1]}.
 */
public final class RawRunLoop {
    private RawRunLoop() {
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        boolean sync = args.length <= 1 || !args[1].equals("0");
        String extras = args.length > 2 ? args[2] : "";
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(); HostMemory ram = HostMemory.anonymous("raw", 0x10000)) {
            vm.setTssAddr(0xfffbd000L);
            if (extras.contains("irqchip")) {
                vm.createIrqchip();
            }
            if (extras.contains("msrfilter")) {
                vm.interceptMsrWrites(0x40000000);
            }
            vm.setUserMemoryRegion(0, 0, 0, ram.size(), ram.address());
            byte[] code = {(byte) 0x66, (byte) 0xe7, (byte) 0xe4, (byte) 0xeb, (byte) 0xfb}; // out %eax,$0xe4; jmp -5
            MemorySegment.copy(MemorySegment.ofArray(code), 0, ram.segment(), 0x1000, code.length);
            try (KvmVcpu v = vm.createVcpu(0); Arena a = Arena.ofConfined()) {
                if (extras.contains("cpuid")) {
                    v.setCpuid(org.jxen.kvm.XenCpuidLeaves.forVcpu(kvm.supportedCpuid(), 0, 4, 17));
                }
                MemorySegment sregs = a.allocate(Sregs.SIZE, 8);
                v.getSregs(sregs);
                Sregs.Segment cs = Sregs.segment(sregs, Sregs.CS);
                Sregs.setSegment(sregs, Sregs.CS, new Sregs.Segment(0, 0xffff, 0, cs.type(), true, 0, false, true, false, false));
                v.setSregs(sregs);
                MemorySegment regs = a.allocate(KvmRun.Regs.SIZE, 8);
                regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RIP, 0x1000);
                regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RFLAGS, 2);
                v.setRegs(regs);
                v.kvmRun().setValidRegs(sync ? KvmRun.SYNC_X86_REGS | KvmRun.SYNC_X86_SREGS : 0);
                boolean dirty = extras.contains("dirty");
                for (int round = 0; round < 5; round++) {
                    long t0 = System.nanoTime();
                    for (int i = 0; i < n; i++) {
                        int exit = v.run();
                        if (dirty) {
                            v.kvmRun().setReg(KvmRun.Regs.RAX, i);
                        }
                        if (exit != KvmExit.KVM_EXIT_IO) {
                            throw new IllegalStateException("exit " + KvmExit.name(exit));
                        }
                    }
                    System.out.printf("raw KVM_RUN from Java: %.0f ns per exit (sync regs %s)%n",
                            (double) (System.nanoTime() - t0) / n, sync + " " + extras);
                }
            }
        }
    }
}

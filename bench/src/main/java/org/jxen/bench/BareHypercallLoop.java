package org.jxen.bench;

import java.io.OutputStream;
import java.io.PrintStream;
import org.jxen.guests.Guests;
import org.jxen.kvm.KvmExit;
import org.jxen.kvm.KvmRun;
import org.jxen.kvm.KvmVcpu;
import org.jxen.kvm.harness.SelftestVm;

/**
 * An experiment: the {@code bench-hypercall} guest driven by a bare loop on this thread (no
 * {@code Vcpu} state machine, no dispatcher), to split the cost of a jxen hypercall between the
 * guest side (long mode, the page) and jxen's exit handling. Usage: {@code [calls]}.
 */
public final class BareHypercallLoop {
    private BareHypercallLoop() {
    }

    public static void main(String[] args) throws Exception {
        long n = args.length > 0 ? Long.parseLong(args[0]) : 200_000;
        try (SelftestVm vm = SelftestVm.create(Guests.image("bench-hypercall"),
                SelftestVm.options().console(new PrintStream(OutputStream.nullOutputStream())))) {
            KvmVcpu v = vm.vm().vcpu(0).kvmVcpu();
            KvmRun run = v.kvmRun();
            run.setValidRegs(KvmRun.SYNC_X86_REGS | KvmRun.SYNC_X86_SREGS);
            long slot = vm.ucallSlotGpa(0);
            int rounds = 0;
            long calls = 0;
            long t0 = 0;
            while (rounds < 6) {
                int exit = v.run();
                if (exit != KvmExit.KVM_EXIT_IO) {
                    if (exit == KvmExit.KVM_EXIT_X86_WRMSR) {
                        vm.vm().memory().write(run.msrData() & ~0xfffL, java.lang.foreign.MemorySegment.ofArray(
                                org.jxen.kvm.PortHypercallPage.bytes()));
                        continue;
                    }
                    throw new IllegalStateException(KvmExit.name(exit));
                }
                int port = run.ioPort();
                if (port == 0xe4) {
                    calls++;
                    run.setReg(KvmRun.Regs.RAX, -38);
                } else if (port == 0xe5) {
                    long cmd = vm.vm().memory().getLong(slot);
                    long stage = vm.vm().memory().getLong(slot + 8);
                    if (cmd == 2 && stage == 1) {
                        vm.vm().memory().putLong(slot + 8, n);
                        vm.vm().memory().putLong(slot + 16, Long.getLong("jxen.mode", 0));
                        calls = 0;
                        t0 = System.nanoTime();
                    } else if (cmd == 2 && stage == 2) {
                        double ns = (double) (System.nanoTime() - t0) / calls;
                        System.out.printf("bare loop: %d calls, %.0f ns per hypercall%n", calls, ns);
                        rounds++;
                    }
                }
            }
        }
    }
}

package org.jxen.bench;

import java.io.PrintStream;
import java.io.OutputStream;
import org.jxen.guests.Guests;
import org.jxen.kvm.harness.SelftestVm;
import org.jxen.kvm.harness.Ucall;

/**
 * Measures one hypercall round trip through jxen's port doorbell: the guest {@code bench-hypercall}
 * loops on hypercall 47, which the dispatcher answers with -ENOSYS at once, so the time per call is
 * the transport: exit to userspace, decode from sync regs, dispatch, result into rax, re-entry.
 *
 * <p>Usage: {@code java -jar benchmarks.jar ... } is for JMH; run this one with
 * {@code java -cp bench/target/benchmarks.jar org.jxen.bench.HypercallRoundTrip [calls] [rounds]}.
 * Prints one {@code jxen_ns_per_hypercall <median>} line. Runs on the main thread.
 */
public final class HypercallRoundTrip {
    private HypercallRoundTrip() {
    }

    public static void main(String[] args) throws Exception {
        long calls = args.length > 0 ? Long.parseLong(args[0]) : 200_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        try (SelftestVm vm = SelftestVm.create(Guests.image("bench-hypercall"), SelftestVm.options().console(quiet))) {
            vm.start();
            long slot = vm.ucallSlotGpa(0);
            double[] nsPerCall = new double[rounds];
            for (int r = -2; r < rounds; r++) { // two warm-up rounds
                vm.awaitSync(0, 1);
                long n = r < 0 ? calls / 4 : calls;
                vm.vm().memory().putLong(slot + 8, n);
                long t0 = System.nanoTime();
                vm.resume(0);
                Ucall u = vm.awaitSync(0, 2);
                long elapsed = System.nanoTime() - t0;
                if (u.arg(3) != 0) {
                    throw new IllegalStateException(u.arg(3) + " calls did not return -ENOSYS");
                }
                if (r >= 0) {
                    nsPerCall[r] = (double) elapsed / n;
                    System.out.printf("round %d: %d calls, %.0f ns per hypercall%n", r, n, nsPerCall[r]);
                }
                vm.resume(0);
            }
            vm.awaitSync(0, 1);
            vm.vm().memory().putLong(slot + 8, 0x57095709L);
            vm.resume(0);
            vm.awaitDone(0);
            java.util.Arrays.sort(nsPerCall);
            System.out.printf("jxen_ns_per_hypercall %.0f%n", nsPerCall[rounds / 2]);
        }
    }
}

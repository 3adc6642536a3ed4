package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jxen.guests.Guests;
import org.jxen.kvm.harness.SelftestVm;
import org.jxen.kvm.harness.Ucall;
import org.junit.jupiter.api.Test;

/** The run loop's counts: exits by reason, interrupted runs, hypercalls; in memory and under KVM. */
class VcpuStatsTest {

    @Test
    void countsByReasonAndNumberWithHighValuesTogetherAndUpcalls() {
        VcpuStats s = new VcpuStats();
        s.countExit(KvmExit.KVM_EXIT_IO);
        s.countExit(KvmExit.KVM_EXIT_IO);
        s.countExit(KvmExit.KVM_EXIT_HLT);
        s.countExit(100);
        s.countExit(-3);
        s.countInterrupted();
        s.countHypercall(17, 100);
        s.countHypercall(17, 50);
        s.countHypercall(200, 7);
        s.countHypercall(-1, -5); // a clock that went back counts no time
        s.countUpcall(true);
        s.countUpcall(true);
        s.countUpcall(false);
        assertEquals(2, s.upcalls());
        assertEquals(1, s.upcallsRefused());
        assertEquals(2, s.exits(KvmExit.KVM_EXIT_IO));
        assertEquals(1, s.exits(KvmExit.KVM_EXIT_HLT));
        assertEquals(2, s.exits(VcpuStats.OTHER_REASONS));
        assertEquals(5, s.exits());
        assertEquals(1, s.interrupted());
        assertEquals(4, s.hypercalls());
        assertEquals(2, s.hypercalls(17));
        assertEquals(150, s.hypercallNanos(17));
        assertEquals(2, s.hypercalls(VcpuStats.OTHER_HYPERCALLS), "numbers outside 0..63 together");
        assertEquals(7, s.hypercallNanos(VcpuStats.OTHER_HYPERCALLS));
        assertEquals(0, s.hypercalls(18));
        assertThrows(IndexOutOfBoundsException.class, () -> s.hypercalls(VcpuStats.OTHER_HYPERCALLS + 1));
        assertThrows(IndexOutOfBoundsException.class, () -> s.exits(VcpuStats.OTHER_REASONS + 1));
    }

    @Test
    void aGuestsHypercallsAreIoExitsAndItsHypercallPageAWrmsrExit() throws Exception {
        KvmRequired.assumeKvm();
        try (SelftestVm vm = SelftestVm.create(Guests.image("bench-hypercall"), SelftestVm.options())) {
            vm.start();
            long slot = vm.ucallSlotGpa(0);
            vm.awaitSync(0, 1);
            vm.vm().memory().putLong(slot + 8, 500);
            vm.resume(0);
            Ucall u = vm.awaitSync(0, 2);
            assertEquals(500, u.arg(1));
            VcpuStats s = vm.vm().vcpu(0).stats();
            assertTrue(s.hypercalls() >= 500, "hypercalls " + s.hypercalls());
            assertEquals(s.hypercalls(), s.hypercalls(47), "the benchmark guest calls hypercall 47 only");
            assertTrue(s.hypercallNanos(47) > 0, "every call is timed");
            assertTrue(s.exits(KvmExit.KVM_EXIT_IO) >= s.hypercalls(), "each hypercall is a port-I/O exit");
            assertTrue(s.exits(KvmExit.KVM_EXIT_X86_WRMSR) >= 1, "the hypercall page MSR");
            assertEquals(s.exits(), vm.vm().vcpu(0).exitCount());
            assertEquals(s.hypercalls(), vm.vm().vcpu(0).hypercallCount());
            vm.resume(0);
            vm.awaitSync(0, 1);
            vm.vm().memory().putLong(slot + 8, 0x57095709L);
            vm.resume(0);
            vm.awaitDone(0);
        }
    }
}

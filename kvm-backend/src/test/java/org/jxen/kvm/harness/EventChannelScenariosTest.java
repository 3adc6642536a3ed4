package org.jxen.kvm.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.guests.Guests;
import org.jxen.kvm.KvmRequired;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** SCENARIOS.md 1, 5, 6, 8 and 9 with a real guest under KVM and jxen's Xen domain. */
class EventChannelScenariosTest {

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    static void fromAnotherThread(Runnable r) throws Exception {
        CompletableFuture.runAsync(r, x -> new Thread(x, "host-event-source").start()).get(5, TimeUnit.SECONDS);
    }

    @Test
    void eventChannelsEndToEnd() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-evtchn"), SelftestVm.options().xenDomain())) {
            vm.start();
            Ucall u = vm.awaitSync(0, 1);
            int ipi = (int) u.arg(1);
            assertEquals(u.arg(2) >> 12, vm.domain().sharedInfoGfn(), "shared_info where the guest put it");
            vm.resume(0);
            Thread.sleep(20); // the guest halts waiting for it
            fromAnotherThread(() -> vm.domain().raise(ipi)); // scenarios 1 and 8
            u = vm.awaitSync(0, 2);
            assertTrue(u.arg(1) >= 1, "an upcall ran");
            assertEquals(1, u.arg(2), "the guest's handler found the port");
            vm.resume(0);

            u = vm.awaitSync(0, 3); // scenario 9: loopback interdomain
            long unbound = u.arg(1);
            vm.resume(0);
            u = vm.awaitSync(0, 4);
            assertEquals(1, u.arg(2), "the peer port " + unbound + " arrived");
            vm.resume(0);

            u = vm.awaitSync(0, 5); // the guest masked the IPI port
            fromAnotherThread(() -> vm.domain().raise(ipi));
            vm.resume(0);
            u = vm.awaitSync(0, 6);
            assertEquals(1, u.arg(1), "scenario 5: pending");
            assertEquals(0, u.arg(2), "scenario 5: no upcall while masked");
            vm.resume(0);
            u = vm.awaitSync(0, 7);
            assertEquals(2, u.arg(2), "scenario 6: unmask re-delivered the pending port");
            vm.resume(0);
            vm.awaitDone(0);
        }
    }
}

package org.jxen.kvm.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.abi.EvtchnFifo;
import org.jxen.abi.XenErrno;
import org.jxen.guests.Guests;
import org.jxen.kvm.KvmRequired;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The FIFO event-channel ABI with a real guest under KVM ({@code test-evtchn-fifo}):
 * EVTCHNOP_init_control and expand_array, an IPI sent by the guest and delivered through its FIFO
 * queue, priority order, a raise from another host thread, and a masked port that unmask links.
 */
class FifoEventChannelTest {

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    static void fromAnotherThread(Runnable r) throws Exception {
        CompletableFuture.runAsync(r, x -> new Thread(x, "host-event-source").start()).get(5, TimeUnit.SECONDS);
    }

    @Test
    void fifoEventChannelsEndToEnd() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-evtchn-fifo"), SelftestVm.options().xenDomain())) {
            vm.start();
            Ucall u = vm.awaitSync(0, 1);
            int ipi = (int) u.arg(1);
            assertEquals(EvtchnFifo.LINK_BITS, u.arg(2), "init_control returned link_bits");
            assertEquals(-XenErrno.EINVAL, u.arg(3), "a control block crossing the page is refused");
            assertEquals(0, u.arg(4), "expand_array");
            assertTrue(vm.domain().eventChannels().isFifo(), "the domain switched to FIFO");
            vm.resume(0);

            u = vm.awaitSync(0, 2); // EVTCHNOP_send on the IPI
            assertEquals(1, u.arg(1), "one upcall");
            assertEquals(1, u.arg(2), "the guest's queue walk found the IPI");
            vm.resume(0);

            u = vm.awaitSync(0, 3); // priorities 9, 7, 3 sent in that order
            assertEquals(1, u.arg(1), "priority 3 first");
            assertEquals(1, u.arg(2), "priority 7 second");
            assertEquals(1, u.arg(3), "priority 9 last");
            assertEquals(3, u.arg(4), "three events handled");
            vm.resume(0);

            vm.awaitSync(0, 4);
            vm.resume(0);
            Thread.sleep(20); // the guest halts waiting for it
            fromAnotherThread(() -> vm.domain().raise(ipi));
            u = vm.awaitSync(0, 5);
            assertEquals(2, u.arg(1), "the host's raise from another thread arrived");
            vm.resume(0);

            vm.awaitSync(0, 6); // the guest masked the IPI
            fromAnotherThread(() -> vm.domain().raise(ipi));
            vm.resume(0);
            u = vm.awaitSync(0, 7);
            assertEquals(1, u.arg(1), "masked: PENDING set");
            assertEquals(0, u.arg(2), "masked: no upcall");
            assertEquals(-XenErrno.EINVAL, u.arg(3), "set_priority(16)");
            vm.resume(0);
            u = vm.awaitSync(0, 8);
            assertEquals(3, u.arg(1), "unmask linked the pending port and the upcall came");
            assertEquals(1, u.arg(2), "the guest saw PENDING and asked the hypervisor to unmask");
            vm.resume(0);
            vm.awaitDone(0);
        }
    }
}

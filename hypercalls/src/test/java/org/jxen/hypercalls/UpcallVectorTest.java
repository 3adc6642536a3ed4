package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * HVMOP_set_evtchn_upcall_vector asserts the new vector at once when the vCPU already has an upcall
 * pending (Xen's hvm_set_evtchn_upcall_vector does), so an event raised before the guest chose its
 * vector (a host backend's, typically) is not stranded behind an evtchn_upcall_pending that no
 * later raise re-delivers.
 */
class UpcallVectorTest extends DomainTestBase {

    @Test
    void anEventRaisedBeforeTheVectorIsDeliveredWhenTheVectorIsSet() {
        mapSharedInfo();
        int port = domain.eventChannels().bindBackend(0, p -> { });
        domain.raise(port); // the guest has no vector yet: upcall_pending is set, nothing delivered
        assertTrue(upcalls().isEmpty());
        assertTrue(domain.vcpu(0).upcallPending());
        setUpcallVector(0);
        assertEquals(List.of("0:" + VECTOR), upcalls());
    }

    @Test
    void nothingPendingNothingDelivered() {
        mapSharedInfo();
        setUpcallVector(0);
        assertTrue(upcalls().isEmpty());
    }
}

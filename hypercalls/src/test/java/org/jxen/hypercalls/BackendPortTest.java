package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.EvtchnStatus;
import org.jxen.abi.Hypercall;
import org.jxen.abi.XenErrno;
import org.junit.jupiter.api.Test;

/** A host backend at the remote end of a guest's interdomain port (the console, the XenStore). */
class BackendPortTest extends DomainTestBase {

    @Test
    void theGuestsSendReachesTheBackendAndTheBackendsRaiseReachesTheGuest() {
        mapSharedInfo();
        setUpcallVector(0);
        List<Integer> heard = new ArrayList<>();
        int port = domain.eventChannels().bindBackend(0, heard::add);
        assertTrue(port > 0, "port " + port);

        assertEquals(0, send(port));
        assertEquals(0, send(port));
        assertEquals(List.of(port, port), heard, "each send calls the backend, nothing else");
        assertTrue(upcalls().isEmpty(), "a send to the backend raises nothing in the guest");

        domain.raise(port);
        assertEquals(List.of("0:" + VECTOR), upcalls(), "the backend notifies the guest");
        assertTrue(domain.eventChannels().isPending(port));

        platform.memory().putShort(ARGS, (short) 0x7ff0);
        platform.memory().putInt(ARGS + 4, port);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.STATUS, ARGS, 0));
        assertEquals(EvtchnStatus.INTERDOMAIN, platform.memory().getInt(ARGS + 8));
        assertEquals(0, platform.memory().getInt(ARGS + 16) & 0xffff, "remote domain 0: the host");
    }

    @Test
    void afterTheGuestClosesThePortTheBackendHearsNothing() {
        List<Integer> heard = new ArrayList<>();
        int port = domain.eventChannels().bindBackend(0, heard::add);
        platform.memory().putInt(ARGS, port);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.CLOSE, ARGS, 0));
        assertEquals(-XenErrno.EINVAL, send(port));
        assertTrue(heard.isEmpty());
        int again = domain.eventChannels().bindBackend(0, heard::add);
        assertEquals(port, again, "the closed port is free again");
    }

    @Test
    void badBackendDomainsAreRefused() {
        assertEquals(-XenErrno.EINVAL, domain.eventChannels().bindBackend(domain.domid(), p -> { }));
        assertEquals(-XenErrno.EINVAL, domain.eventChannels().bindBackend(0x7ff0, p -> { }));
        assertEquals(-XenErrno.EINVAL, domain.eventChannels().bindBackend(-1, p -> { }));
        assertEquals(-XenErrno.EINVAL, domain.eventChannels().bindBackend(0, null));
    }
}

package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jxen.abi.Evtchn;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.EvtchnStatus;
import org.jxen.abi.Hypercall;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.junit.jupiter.api.Test;

/**
 * Host backends at the remote end of an interdomain channel (the XenStore and console backends'
 * API): a channel the host creates ({@code bindBackend}), a port a backend offers that the guest
 * binds to ({@code offerBackendPort} + {@code EVTCHNOP_bind_interdomain} to domain 0), a backend
 * binding the guest's unbound port ({@code bindBackendToGuestPort}); the guest's send reaches the
 * backend's callback, the host's raise reaches the guest, EVTCHNOP_status reports the channel, and
 * either side's close leaves the other unbound.
 */
class BackendEventChannelsTest extends FifoTestBase {
    static final int DOM0 = 0;

    /** The guest ports whose EVTCHNOP_send reached the backend, and on which threads. */
    final List<Integer> sends = new ArrayList<>();
    final List<Thread> sendThreads = new ArrayList<>();

    void onGuestSend(int guestPort) {
        sends.add(guestPort);
        sendThreads.add(Thread.currentThread());
    }

    /** EVTCHNOP_status of {@code port} from the guest: {status, vcpu, u.dom, u.port}, or the errno as {rc}. */
    int[] status(int port) {
        mem().putShort(FIFO_ARGS + 128, (short) Evtchn.DOMID_SELF);
        mem().putInt(FIFO_ARGS + 132, port);
        long rc = call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.STATUS, FIFO_ARGS + 128, 0);
        if (rc != 0) {
            return new int[] {(int) rc};
        }
        return new int[] {mem().getInt(FIFO_ARGS + 136), mem().getInt(FIFO_ARGS + 140),
                mem().getShort(FIFO_ARGS + 144) & 0xffff, mem().getInt(FIFO_ARGS + 148)};
    }

    /** EVTCHNOP_bind_interdomain from the guest: the local port, or the negative errno. */
    long bindInterdomain(int remoteDom, int remotePort) {
        mem().putShort(FIFO_ARGS + 160, (short) remoteDom);
        mem().putInt(FIFO_ARGS + 164, remotePort);
        long rc = call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_INTERDOMAIN, FIFO_ARGS + 160, 0);
        return rc != 0 ? rc : mem().getInt(FIFO_ARGS + 168);
    }

    long allocUnbound(int remoteDom) {
        mem().putShort(FIFO_ARGS + 176, (short) Evtchn.DOMID_SELF);
        mem().putShort(FIFO_ARGS + 178, (short) remoteDom);
        long rc = call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.ALLOC_UNBOUND, FIFO_ARGS + 176, 0);
        return rc != 0 ? rc : mem().getInt(FIFO_ARGS + 180);
    }

    long pendingWord0() {
        return mem().getLong(sharedInfoGpa() + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_64));
    }

    @Test
    void theHostCreatesAChannelTheGuestSendsOnAndTheHostRaises() {
        mapSharedInfo();
        setUpcallVector(0);
        EventChannels ec = domain.eventChannels();
        int guestPort = ec.bindBackend(DOM0, this::onGuestSend);
        assertTrue(guestPort > 0);
        assertEquals(List.of(EvtchnStatus.INTERDOMAIN, 0, DOM0, 1), List.of(box(status(guestPort))),
                "interdomain to (dom0, backend port 1)");
        assertEquals(guestPort, ec.backendPeer(1));

        assertEquals(0, send(guestPort));
        assertEquals(List.of(guestPort), sends, "(a) the guest's send calls the backend");
        assertEquals(List.of(Thread.currentThread()), sendThreads, "on the vCPU thread, inside the hypercall");
        assertEquals(0, pendingWord0(), "a send to the backend makes nothing pending in the guest");

        domain.raise(guestPort); // (b) the backend notifies the guest
        assertEquals(1L << guestPort, pendingWord0());
        assertEquals(List.of("0:" + VECTOR), upcalls());
    }

    @Test
    void theGuestBindsToAPortTheBackendOffers() {
        mapSharedInfo();
        setUpcallVector(0);
        EventChannels ec = domain.eventChannels();
        int backendPort = ec.offerBackendPort(DOM0, this::onGuestSend);
        assertEquals(1, backendPort);
        assertEquals(0, ec.backendPeer(backendPort), "unbound until the guest binds");

        assertEquals(-XenErrno.ESRCH, bindInterdomain(5, backendPort), "no domain 5");
        assertEquals(-XenErrno.EINVAL, bindInterdomain(DOM0, 99), "dom0 offers no port 99");
        long local = bindInterdomain(DOM0, backendPort); // (c)
        assertTrue(local > 0, "bind_interdomain to dom0 returned " + local);
        int port = (int) local;
        assertEquals(port, ec.backendPeer(backendPort));
        assertEquals(List.of(EvtchnStatus.INTERDOMAIN, 0, DOM0, backendPort), List.of(box(status(port))), "(d)");
        assertEquals(-XenErrno.EINVAL, bindInterdomain(DOM0, backendPort), "already bound");

        assertEquals(0, send(port));
        assertEquals(List.of(port), sends);
        domain.raise(port);
        assertEquals(1L << port, pendingWord0());

        // the guest closes: the backend's end is unbound again, and may be bound again
        assertEquals(0, close(port));
        assertEquals(0, ec.backendPeer(backendPort));
        assertEquals(List.of(EvtchnStatus.CLOSED, 0, 0, 0), List.of(box(status(port))));
        assertEquals(-XenErrno.EINVAL, send(port), "send on a closed port fails");
        assertEquals(List.of(port), sends, "and reaches no backend");
        long again = bindInterdomain(DOM0, backendPort);
        assertTrue(again > 0);
        assertEquals((int) again, ec.backendPeer(backendPort));
    }

    @Test
    void theBackendBindsThePortTheGuestAllocatedForIt() {
        mapSharedInfo();
        EventChannels ec = domain.eventChannels();
        int guestPort = (int) allocUnbound(DOM0);
        assertEquals(List.of(EvtchnStatus.UNBOUND, 0, DOM0, 0), List.of(box(status(guestPort))));
        assertEquals(0, send(guestPort), "nobody listens yet: dropped, as in Xen");
        assertEquals(List.of(), sends);
        assertEquals(-XenErrno.EINVAL, ec.bindBackendToGuestPort(7, guestPort, this::onGuestSend),
                "the port is for dom0, not dom7");
        int backendPort = ec.bindBackendToGuestPort(DOM0, guestPort, this::onGuestSend);
        assertTrue(backendPort > 0);
        assertEquals(List.of(EvtchnStatus.INTERDOMAIN, 0, DOM0, backendPort), List.of(box(status(guestPort))));
        assertEquals(-XenErrno.EINVAL, ec.bindBackendToGuestPort(DOM0, guestPort, this::onGuestSend), "bound already");
        assertEquals(0, send(guestPort));
        assertEquals(List.of(guestPort), sends);
    }

    @Test
    void theBackendClosesItsEndAndTheGuestPortIsUnboundForIt() {
        mapSharedInfo();
        EventChannels ec = domain.eventChannels();
        int guestPort = ec.bindBackend(DOM0, this::onGuestSend);
        int backendPort = 1; // the first backend port
        assertEquals(guestPort, ec.backendPeer(backendPort));
        assertEquals(0, ec.closeBackendPort(backendPort));
        assertEquals(-XenErrno.EINVAL, ec.closeBackendPort(backendPort), "closed already");
        assertEquals(-XenErrno.EINVAL, ec.backendPeer(backendPort));
        assertEquals(List.of(EvtchnStatus.UNBOUND, 0, DOM0, 0), List.of(box(status(guestPort))),
                "the guest's port waits, unbound, for dom0");
        assertEquals(0, send(guestPort));
        assertEquals(List.of(), sends);
        domain.raise(guestPort);
        assertEquals(0, pendingWord0(), "an unbound port never becomes pending");
        assertEquals(-XenErrno.EINVAL, bindInterdomain(DOM0, backendPort), "the closed backend port is gone");
    }

    @Test
    void badBackendDomainsAreRejected() {
        EventChannels ec = domain.eventChannels();
        assertEquals(-XenErrno.EINVAL, ec.bindBackend(domain.domid(), this::onGuestSend), "the guest itself");
        assertEquals(-XenErrno.EINVAL, ec.bindBackend(Evtchn.DOMID_SELF, this::onGuestSend));
        assertEquals(-XenErrno.EINVAL, ec.bindBackend(-1, this::onGuestSend));
        assertEquals(-XenErrno.EINVAL, ec.offerBackendPort(0x7ff5, this::onGuestSend));
        assertEquals(-XenErrno.EINVAL, ec.bindBackend(DOM0, null));
        assertEquals(-XenErrno.EINVAL, ec.backendPeer(0));
        assertEquals(-XenErrno.EINVAL, ec.closeBackendPort(3));
    }

    @Test
    void resetLeavesTheBackendEndUnboundAndTheGuestMayBindAgain() {
        mapSharedInfo();
        EventChannels ec = domain.eventChannels();
        int backendPort = ec.offerBackendPort(DOM0, this::onGuestSend);
        int port = (int) bindInterdomain(DOM0, backendPort);
        assertEquals(0, reset());
        assertEquals(0, ec.backendPeer(backendPort));
        assertEquals(port, (int) bindInterdomain(DOM0, backendPort));
    }

    @Test
    void backendsWorkWithFifoToo() {
        setUpFifo(1);
        EventChannels ec = domain.eventChannels();
        int guestPort = ec.bindBackend(DOM0, this::onGuestSend);
        assertEquals(0, send(guestPort));
        assertEquals(List.of(guestPort), sends);
        domain.raise(guestPort);
        assertEquals(EventFifo.PENDING | EventFifo.LINKED, word(guestPort));
        guest.drain(0);
        assertEquals(List.of(guestPort), handled);
    }

    private static Integer[] box(int[] a) {
        Integer[] b = new Integer[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = a[i];
        }
        return b;
    }
}

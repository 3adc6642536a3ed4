package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jxen.abi.Evtchn;
import org.jxen.abi.EvtchnFifo;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.Hypercall;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.Memslot;
import org.junit.jupiter.api.Test;

/**
 * EVTCHNOP_init_control, expand_array and set_priority with good and bad input, and the FIFO
 * delivery protocol in-process: linking on the head and onto a tail, READY and the upcall,
 * priority order, masking and unmask, closing a linked port, ports without an event-array page or
 * without a control block, a port moving queues, deferral while a page is unmapped, and reset back
 * to 2-level.
 */
class FifoEventChannelsTest extends FifoTestBase {
    static final int PENDING = EventFifo.PENDING;
    static final int MASKED = EventFifo.MASKED;
    static final int LINKED = EventFifo.LINKED;
    static final int DEFAULT_READY = 1 << EvtchnFifo.PRIORITY_DEFAULT;
    static final String UPCALL0 = "0:" + VECTOR;
    static final String UPCALL1 = "1:" + VECTOR;

    // ------------------------------------------------------------------ init_control

    @Test
    void initControlSwitchesTheDomainToFifoAndReturnsLinkBits() {
        assertFalse(domain.eventChannels().isFifo());
        assertEquals(0, initControl(0, CB_GFN, CB_OFFSET[0]));
        assertEquals(EvtchnFifo.LINK_BITS, linkBitsOut());
        assertTrue(domain.eventChannels().isFifo());
        assertEquals(EvtchnFifo.NR_CHANNELS, domain.eventChannels().portCount());
        assertEquals(0, initControl(1, CB_GFN, 4096 - 72), "the last offset where 72 bytes fit");
    }

    @Test
    void initControlRejectsBadInputAndWritesNothingBack() {
        assertEquals(-XenErrno.ENOENT, initControl(2, CB_GFN, 0), "vCPU 2 of 2");
        assertEquals(-XenErrno.ENOENT, initControl(-1, CB_GFN, 0), "vCPU 0xffffffff");
        assertEquals(-XenErrno.EINVAL, initControl(0, CB_GFN, 4096 - 72 + 8), "block crosses the page");
        assertEquals(-XenErrno.EINVAL, initControl(0, CB_GFN, 0xfffffff8L), "offset far outside the page");
        assertEquals(-XenErrno.EINVAL, initControl(0, CB_GFN, 4), "offset not 8-byte aligned");
        assertEquals(-XenErrno.EINVAL, initControl(0, 0x100, 0), "frame 0x100 is past the 1 MiB of RAM");
        assertEquals(-XenErrno.EINVAL, initControl(0, 1L << 60, 0), "frame beyond any address");
        assertEquals(-XenErrno.EINVAL, initControl(0, -1L, 0), "frame 2^64-1");
        assertEquals(0x5a, linkBitsOut(), "link_bits is only written on success");
        assertFalse(domain.eventChannels().isFifo(), "failed calls leave the domain 2-level");
        assertEquals(0, platform.memory().cacheCount(), "and no cache behind");

        assertEquals(0, initControl(0, CB_GFN, CB_OFFSET[0]));
        assertEquals(-XenErrno.EINVAL, initControl(0, CB_GFN, CB_OFFSET[1]), "vCPU 0 has its control block");
        assertEquals(-XenErrno.EINVAL, initControl(1, CB_GFN, 3), "misaligned, also once FIFO is on");
        assertEquals(0, initControl(1, CB_GFN, CB_OFFSET[1]));
    }

    @Test
    void initControlOnAReadOnlyFrameFails() {
        GuestMemory m = platform.memory();
        m.removeSlot(0);
        m.addSlot(0, 0, 0x30000, platform.ram(), 0, 0);
        m.addSlot(1, 0x30000, 0x1000, platform.ram(), 0x30000, Memslot.READONLY);
        m.addSlot(2, 0x31000, platform.ram().size() - 0x31000, platform.ram(), 0x31000, 0);
        try {
            assertEquals(-XenErrno.EINVAL, initControl(0, 0x30, 0));
            assertEquals(0, initControl(0, 0x31, 0));
            assertEquals(-XenErrno.EINVAL, expandArray(0x30), "event-array pages must be writable too");
        } finally {
            m.removeSlot(1);
            m.removeSlot(2);
            m.removeSlot(0);
            m.addSlot(0, 0, platform.ram().size(), platform.ram(), 0, 0);
        }
    }

    @Test
    void thirtyTwoBitGuestsUseTheSameLayout() {
        GuestMemory m = platform.memory();
        m.putLong(FIFO_ARGS, CB_GFN);
        m.putInt(FIFO_ARGS + 8, (int) CB_OFFSET[0]);
        m.putInt(FIFO_ARGS + 12, 0);
        assertEquals(0, call32(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.INIT_CONTROL, FIFO_ARGS, 0));
        assertEquals(EvtchnFifo.LINK_BITS, linkBitsOut());
        m.putLong(FIFO_ARGS + 32, ARRAY_GFN);
        assertEquals(0, call32(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.EXPAND_ARRAY, FIFO_ARGS + 32, 0));
        assertEquals(1, domain.eventChannels().fifo().arrayPageCount());
        assertEquals(EvtchnFifo.NR_CHANNELS, domain.eventChannels().portCount(), "2^17 ports for 32-bit guests too");
    }

    // ------------------------------------------------------------------ expand_array, set_priority

    @Test
    void expandArrayNeedsFifoAWritableFrameAndStopsAt128Pages() {
        assertEquals(-XenErrno.EOPNOTSUPP, expandArray(ARRAY_GFN), "2-level");
        assertEquals(0, initControl(0, CB_GFN, CB_OFFSET[0]));
        assertEquals(-XenErrno.EINVAL, expandArray(0x100), "not guest RAM");
        assertEquals(-XenErrno.EINVAL, expandArray(-1L), "frame 2^64-1");
        for (int i = 0; i < EvtchnFifo.MAX_EVENT_ARRAY_PAGES; i++) {
            assertEquals(0, expandArray(ARRAY_GFN + (i % 4)), "page " + i);
        }
        assertEquals(-XenErrno.ENOSPC, expandArray(ARRAY_GFN), "128 pages cover all 2^17 ports");
        assertEquals(EvtchnFifo.MAX_EVENT_ARRAY_PAGES, domain.eventChannels().fifo().arrayPageCount());
    }

    @Test
    void setPriorityNeedsFifoAValidPortAndAPriorityUpTo15() {
        mapSharedInfo();
        int port = bindIpi(0);
        assertEquals(-XenErrno.ENOSYS, setPriority(port, 3), "2-level has no priorities");
        assertEquals(-XenErrno.EINVAL, setPriority(3000, 3), "a bad port is -EINVAL first, as in Xen");
        assertEquals(0, initControl(0, CB_GFN, CB_OFFSET[0]));
        assertEquals(EvtchnFifo.PRIORITY_DEFAULT, domain.eventChannels().priority(port));
        assertEquals(-XenErrno.EINVAL, setPriority(port, 16));
        assertEquals(-XenErrno.EINVAL, setPriority(port, 0xffffffffL));
        assertEquals(-XenErrno.EINVAL, setPriority(0, 3), "port 0");
        assertEquals(-XenErrno.EINVAL, setPriority(EvtchnFifo.NR_CHANNELS, 3), "past the last port");
        assertEquals(-XenErrno.EINVAL, setPriority(5000, 3), "a port in no allocated bucket");
        assertEquals(0, setPriority(port, 0));
        assertEquals(0, setPriority(port, 15));
        assertEquals(15, domain.eventChannels().priority(port));
        assertEquals(0, close(port));
        assertEquals(port, bindIpi(0));
        assertEquals(EvtchnFifo.PRIORITY_DEFAULT, domain.eventChannels().priority(port), "a new binding starts at 7");
    }

    // ------------------------------------------------------------------ delivery

    @Test
    void raiseLinksOnTheHeadSetsReadyAndDeliversOneUpcall() {
        setUpFifo(1);
        int a = bindIpi(0);
        int b = bindIpi(0);
        domain.raise(a);
        assertEquals(PENDING | LINKED, word(a));
        assertEquals(a, guest.headWord(0, EvtchnFifo.PRIORITY_DEFAULT));
        assertEquals(DEFAULT_READY, guest.readyWord(0));
        assertEquals(1, guest.upcallPending(0));
        assertEquals(List.of(UPCALL0), upcalls());

        domain.raise(b);
        assertEquals(b, link(word(a)), "b is linked after a");
        assertEquals(PENDING | LINKED, word(b));
        assertEquals(a, guest.headWord(0, EvtchnFifo.PRIORITY_DEFAULT), "the head stays");
        assertEquals(List.of(UPCALL0), upcalls(), "no second upcall for a non-empty queue");

        domain.raise(a); // pending and linked: nothing to do
        assertEquals(PENDING | LINKED | b, word(a));
        assertEquals(0, send(b), "EVTCHNOP_send on an IPI raises it");
        assertEquals(PENDING | LINKED, word(b));

        assertEquals(1, guest.drain(0));
        assertEquals(List.of(a, b), handled);
        assertEquals(0, word(a));
        assertEquals(0, word(b));
        assertEquals(0, guest.readyWord(0));
        assertEquals(List.of(UPCALL0), upcalls());
    }

    @Test
    void eventsGoToTheirVcpusQueue() {
        setUpFifo(1);
        int p1 = bindIpi(1);
        domain.raise(p1);
        assertEquals(p1, guest.headWord(1, EvtchnFifo.PRIORITY_DEFAULT));
        assertEquals(DEFAULT_READY, guest.readyWord(1));
        assertEquals(0, guest.readyWord(0));
        assertEquals(List.of(UPCALL1), upcalls());
        assertEquals(0, guest.drain(0));
        assertEquals(1, guest.drain(1));
        assertEquals(List.of(p1), handled);
    }

    @Test
    void higherPrioritiesAreConsumedFirstAndEachQueueInOrder() {
        setUpFifo(1);
        int low = bindIpi(0);
        int mid1 = bindIpi(0);
        int high = bindIpi(0);
        int mid2 = bindIpi(0);
        assertEquals(0, setPriority(low, 9));
        assertEquals(0, setPriority(high, 3));
        domain.raise(low);
        domain.raise(mid1);
        domain.raise(high);
        domain.raise(mid2);
        assertEquals((1 << 9) | (1 << 7) | (1 << 3), guest.readyWord(0));
        assertEquals(List.of(mid1, mid2), guest.queueFromHead(0, 7));
        assertEquals(List.of(UPCALL0), upcalls(), "one upcall: the first raise found READY clear");
        guest.drain(0);
        assertEquals(List.of(high, mid1, mid2, low), handled);
    }

    @Test
    void aHigherPriorityEventRaisedDuringTheWalkIsTakenNext() {
        setUpFifo(1);
        int a = bindIpi(0);
        int b = bindIpi(0);
        int urgent = bindIpi(0);
        assertEquals(0, setPriority(urgent, 0));
        domain.raise(a);
        domain.raise(b);
        guest.beginUpcall(0);
        while (handled.isEmpty()) {
            guest.step(0);
        }
        domain.raise(urgent); // READY bit 0: the guest re-reads READY after each event
        while (guest.step(0)) {
            // run to the end
        }
        assertEquals(List.of(a, urgent, b), handled);
    }

    @Test
    void aMaskedPortIsPendingWithoutLinkAndUnmaskLinksIt() {
        setUpFifo(1);
        int port = bindIpi(0);
        guest.mask(port);
        domain.raise(port);
        assertEquals(PENDING | MASKED, word(port));
        assertEquals(0, guest.readyWord(0));
        assertEquals(List.of(), upcalls(), "masked: no upcall");
        assertTrue(domain.eventChannels().isPending(port), "pending for SCHEDOP_poll");
        assertTrue(guest.unmask(port), "pending: the guest asks the hypervisor");
        assertEquals(PENDING | LINKED, word(port));
        assertEquals(List.of(UPCALL0), upcalls(), "unmask delivers");
        guest.drain(0);
        assertEquals(List.of(port), handled);

        guest.mask(port);
        assertFalse(guest.unmask(port), "not pending: the guest clears MASKED itself");
        assertEquals(0, word(port));
    }

    @Test
    void unmaskOfAPortThatIsNotPendingLinksNothing() {
        setUpFifo(1);
        int port = bindIpi(0);
        guest.mask(port);
        assertEquals(0, unmaskHypercall(port));
        assertEquals(0, word(port));
        assertEquals(List.of(), upcalls());
    }

    @Test
    void aPendingUnlinkedPortIsLinkedAgainByTheNextRaise() {
        setUpFifo(1);
        int port = bindIpi(0);
        domain.raise(port);
        // the guest unlinked the port but has not acknowledged it yet (still PENDING)
        guest.beginUpcall(0);
        while (guest.state(0) != FifoGuestModel.State.CHECK) {
            guest.step(0);
        }
        assertEquals(PENDING, word(port));
        domain.raise(port); // Xen links a pending, unmasked, unlinked port again
        assertEquals(PENDING | LINKED, word(port));
        while (guest.step(0)) {
            // the guest handles it now
        }
        assertEquals(List.of(port), handled);
        guest.drain(0); // and finds the second link, not pending any more: skipped
        assertEquals(List.of(port), handled);
        assertEquals(0, word(port));
    }

    @Test
    void closingALinkedPortClearsPendingAndTheGuestSkipsIt() {
        setUpFifo(1);
        int a = bindIpi(0);
        int b = bindIpi(0);
        domain.raise(a);
        domain.raise(b);
        assertEquals(0, close(a));
        assertEquals(LINKED | b, word(a), "PENDING cleared; LINKED and LINK stay for the guest to unlink");
        guest.drain(0);
        assertEquals(List.of(b), handled);
        assertEquals(0, word(a));
        domain.raise(a);
        assertEquals(0, word(a), "a closed port never becomes pending");
    }

    @Test
    void aPortThatMovesQueueLeavesItsOldQueueEmpty() {
        setUpFifo(1);
        int p = bindIpi(0);
        int q = bindIpi(0);
        domain.raise(p); // p is the tail of queue 7
        guest.drain(0);
        assertEquals(0, setPriority(p, 3));
        domain.raise(p); // p moves to queue 3: queue 7 must forget its tail p
        assertEquals(p, guest.headWord(0, 3));
        domain.raise(q); // queue 7 is empty: q is its new head, not a link after p (now in queue 3)
        assertEquals(q, guest.headWord(0, 7));
        assertEquals(0, link(word(p)), "nothing linked after p");
        guest.drain(0);
        assertEquals(List.of(p, p, q), handled);
    }

    @Test
    void aPortRaisedBeforeItsEventArrayPageExistsIsRaisedWhenThePageIsAdded() {
        setUpFifo(1);
        int port = -1;
        for (int i = 0; i < EvtchnFifo.EVENT_WORDS_PER_PAGE + 5; i++) {
            port = bindIpi(0); // up to port 1028, on page 1
        }
        assertEquals(EvtchnFifo.EVENT_WORDS_PER_PAGE + 5, port);
        domain.raise(port);
        assertTrue(domain.eventChannels().isPending(port), "remembered without a word");
        assertEquals(List.of(), upcalls());
        assertEquals(0, expandArray(ARRAY_GFN + 1));
        assertEquals(PENDING | LINKED, word(port));
        assertEquals(List.of(UPCALL0), upcalls());
        guest.drain(0);
        assertEquals(List.of(port), handled);
    }

    @Test
    void twoLevelPendingStateIsKeptAcrossInitControl() {
        mapSharedInfo();
        setUpcallVector(0);
        int port = bindIpi(0);
        platform.memory().putLong(sharedInfoGpa() + SharedInfo.offsetOfEvtchnMask(WordSize.BITS_64), 1L << port);
        domain.raise(port); // 2-level, masked: pending, no upcall
        assertEquals(List.of(), upcalls());
        assertEquals(0, initControl(0, CB_GFN, CB_OFFSET[0]));
        assertEquals(0, initControl(1, CB_GFN, CB_OFFSET[1]));
        assertTrue(domain.eventChannels().isPending(port));
        assertEquals(0, expandArray(ARRAY_GFN));
        newGuestModel();
        assertEquals(PENDING | LINKED, word(port));
        guest.drain(0);
        assertEquals(List.of(port), handled);
    }

    @Test
    void anEventForAVcpuWithoutControlBlockIsLinkedWhenItGetsOne() {
        mapSharedInfo();
        setUpcallVector(0);
        setUpcallVector(1);
        assertEquals(0, initControl(0, CB_GFN, CB_OFFSET[0]));
        assertEquals(0, expandArray(ARRAY_GFN));
        newGuestModel();
        int port = bindIpi(1);
        domain.raise(port);
        assertEquals(PENDING, word(port), "pending, not linked: vCPU 1 has no queues yet");
        assertEquals(List.of(), upcalls());
        assertEquals(0, initControl(1, CB_GFN, CB_OFFSET[1]));
        assertEquals(PENDING | LINKED, word(port));
        assertEquals(List.of(UPCALL1), upcalls());
        guest.drain(1);
        assertEquals(List.of(port), handled);
    }

    @Test
    void bindVcpuMovesLaterEventsToTheOtherVcpu() {
        setUpFifo(1);
        int[] pair = loopbackPair();
        int port = pair[0];
        domain.raise(port);
        guest.drain(0);
        assertEquals(0, bindVcpu(port, 1));
        domain.raise(port);
        assertEquals(port, guest.headWord(1, EvtchnFifo.PRIORITY_DEFAULT));
        assertEquals(List.of(UPCALL0, UPCALL1), upcalls());
        guest.drain(1);
        assertEquals(List.of(port, port), handled);
    }

    @Test
    void anEventWhoseArrayPageIsUnmappedIsDeferredAndDeliveredLater() {
        GuestMemory m = platform.memory();
        m.removeSlot(0);
        long arrayGpa = ARRAY_GFN << 12;
        m.addSlot(0, 0, arrayGpa, platform.ram(), 0, 0);
        m.addSlot(1, arrayGpa, 0x1000, platform.ram(), arrayGpa, 0);
        m.addSlot(2, arrayGpa + 0x1000, platform.ram().size() - arrayGpa - 0x1000, platform.ram(), arrayGpa + 0x1000, 0);
        try {
            setUpFifo(1);
            int port = bindIpi(0);
            m.removeSlot(1);
            domain.raise(port);
            // kept, not written: the page cannot be locked (the domain's thread retries every ms meanwhile)
            assertEquals(0, platform.ram().segment().get(java.lang.foreign.ValueLayout.JAVA_INT, arrayGpa + 4L * port));
            assertEquals(List.of(), upcalls());
            m.addSlot(1, arrayGpa, 0x1000, platform.ram(), arrayGpa, 0);
            domain.eventChannels().flushDeferred(); // the domain's thread does this too, about 1 ms later
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (upcalls().isEmpty() && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(PENDING | LINKED, word(port));
            assertEquals(List.of(UPCALL0), upcalls());
        } finally {
            m.removeSlot(2);
            m.removeSlot(0);
            if (m.currentMap().find(arrayGpa) != null) {
                m.removeSlot(1);
            }
            m.addSlot(0, 0, platform.ram().size(), platform.ram(), 0, 0);
        }
    }

    @Test
    void aLinkWhoseTailPageIsUnmappedIsDeferredAndLinkedLater() {
        GuestMemory m = platform.memory();
        m.removeSlot(0);
        long page0 = ARRAY_GFN << 12;
        m.addSlot(0, 0, page0, platform.ram(), 0, 0);
        m.addSlot(1, page0, 0x1000, platform.ram(), page0, 0);
        m.addSlot(2, page0 + 0x1000, platform.ram().size() - page0 - 0x1000, platform.ram(), page0 + 0x1000, 0);
        try {
            setUpFifo(2);
            int a = bindIpi(0);
            int b = -1;
            for (int i = 0; i < EvtchnFifo.EVENT_WORDS_PER_PAGE; i++) {
                b = bindIpi(0); // up to port 1025, on page 1
            }
            domain.raise(a); // the tail of queue 7, on page 0
            m.removeSlot(1);
            domain.raise(b); // its word (page 1) is there, its tail's (page 0) is not: nothing linked
            assertEquals(PENDING, word(b));
            m.addSlot(1, page0, 0x1000, platform.ram(), page0, 0);
            domain.eventChannels().flushDeferred(); // the domain's thread does this too, about 1 ms later
            long deadline = System.nanoTime() + 10_000_000_000L;
            while ((word(b) & LINKED) == 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(b, link(word(a)), "b linked behind the tail a once page 0 was back");
            guest.drain(0);
            assertEquals(List.of(a, b), handled);
        } finally {
            m.removeSlot(2);
            m.removeSlot(0);
            if (m.currentMap().find(page0) != null) {
                m.removeSlot(1);
            }
            m.addSlot(0, 0, platform.ram().size(), platform.ram(), 0, 0);
        }
    }

    @Test
    void resetGoesBackToTwoLevel() {
        setUpFifo(2);
        int cachesWithFifo = platform.memory().cacheCount();
        int port = bindIpi(0);
        domain.raise(port);
        guest.drain(0);
        assertEquals(List.of(port), handled);
        assertEquals(0, reset());
        assertFalse(domain.eventChannels().isFifo());
        assertEquals(cachesWithFifo - 4, platform.memory().cacheCount(), "2 control blocks and 2 pages released");
        assertEquals(Evtchn.nrChannels2Level(WordSize.BITS_64), domain.eventChannels().portCount());
        assertEquals(-XenErrno.ENOSYS, setPriority(port, 1));
        assertEquals(-XenErrno.EOPNOTSUPP, expandArray(ARRAY_GFN));
        int again = bindIpi(0);
        assertEquals(port, again, "every port was closed");
        upcalls.clear();
        domain.raise(again);
        long pending = platform.memory().getLong(sharedInfoGpa() + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_64));
        assertEquals(1L << again, pending, "2-level delivery again");
        assertEquals(List.of(UPCALL0), upcalls());
        assertEquals(0, initControl(0, CB_GFN, CB_OFFSET[0]), "FIFO may be set up again");
    }
}

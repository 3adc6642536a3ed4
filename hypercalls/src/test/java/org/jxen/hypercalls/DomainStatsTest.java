package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.Hypercall;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuOp;
import org.jxen.abi.Virq;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenVersion;
import org.junit.jupiter.api.Test;

/** The domain's counts behind the metrics (events, timers), driven as a guest drives it; and the port snapshot. */
class DomainStatsTest extends DomainTestBase {

    int bindVirq(int virq, int vcpu) {
        platform.memory().putInt(ARGS, virq);
        platform.memory().putInt(ARGS + 4, vcpu);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_VIRQ, ARGS, 0));
        return platform.memory().getInt(ARGS + 8);
    }

    /** Waits up to 5 s for {@code condition}; timers run on the domain's thread. */
    static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(1);
        }
    }

    @Test
    void eventsSentAndDeferredAreCounted() throws Exception {
        assertTrue(DomainStats.COUNTING, "tests run with counting on");
        DomainStats s = domain.stats();
        setUpcallVector(0);
        int ipi = bindIpi(0);
        domain.raise(ipi); // shared_info not mapped yet: deferred
        assertEquals(1, s.eventsDeferred());
        assertEquals(0, s.eventsSent());
        mapSharedInfo(); // the deferred event is sent now, or by the domain thread's retry
        await(() -> s.eventsSent(EventChannels.Kind.IPI) == 1, "the deferred event");
        assertEquals(1, upcalls().size());

        assertEquals(0, send(ipi)); // already pending: sent again (counted), no second upcall
        assertEquals(2, s.eventsSent(EventChannels.Kind.IPI));
        assertEquals(1, upcalls().size());
        assertEquals(1, s.eventsDeferred(), "sent later, not deferred again");

        int virq = bindVirq(Virq.DEBUG, 0);
        Thread host = new Thread(() -> domain.raiseVirq(0, Virq.DEBUG), "backend");
        host.start();
        host.join(); // a thread that ended: its counts are kept
        assertEquals(1, s.eventsSent(EventChannels.Kind.VIRQ));
        assertEquals(3, s.eventsSent());
        assertTrue(virq > 0);
    }

    @Test
    void timerFiringsAreCountedPerVcpuAndKind() throws Exception {
        DomainStats s = domain.stats();
        mapSharedInfo();
        setUpcallVector(0);
        bindVirq(Virq.TIMER, 0);
        assertEquals(0, call(Hypercall.SET_TIMER_OP, domain.systemTime() - 1_000_000L, 0, 0)); // in the past: fires now
        await(() -> s.singleShotTimerFirings(0) == 1, "the single-shot timer");
        platform.memory().putLong(ARGS, 1_000_000L);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.SET_PERIODIC_TIMER, 0, ARGS));
        await(() -> s.periodicTimerFirings(0) >= 3, "three periodic firings");
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.STOP_PERIODIC_TIMER, 0, 0));
        assertEquals(1, s.singleShotTimerFirings(0));
        assertEquals(0, s.periodicTimerFirings(1));
    }

    @Test
    void portSnapshotShowsBindingsAndBits() {
        EventChannelSnapshot before = EventChannelSnapshot.of(domain);
        assertFalse(before.sharedInfoMapped());
        assertEquals(List.of(), before.ports());

        mapSharedInfo();
        setUpcallVector(0);
        int ipi = bindIpi(1);
        int timer = bindVirq(Virq.TIMER, 0);
        platform.memory().putShort(ARGS, (short) 0x7ff0);
        platform.memory().putShort(ARGS + 2, (short) 0x7ff0);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.ALLOC_UNBOUND, ARGS, 0));
        int unbound = platform.memory().getInt(ARGS + 4);
        long maskOff = sharedInfoGpa() + SharedInfo.offsetOfEvtchnMask(WordSize.BITS_64);
        platform.memory().putLong(maskOff, 1L << timer);
        domain.raise(timer);

        EventChannelSnapshot snap = EventChannelSnapshot.of(domain);
        assertTrue(snap.sharedInfoMapped());
        Map<Integer, EventChannelSnapshot.Port> byPort = snap.ports().stream()
                .collect(Collectors.toMap(EventChannelSnapshot.Port::port, Function.identity()));
        assertEquals(3, byPort.size(), snap.toString());
        assertEquals(new EventChannelSnapshot.Port(ipi, EventChannels.Kind.IPI, 1, -1, -1, -1, false, false),
                byPort.get(ipi));
        assertEquals(new EventChannelSnapshot.Port(timer, EventChannels.Kind.VIRQ, 0, Virq.TIMER, -1, -1, true, true),
                byPort.get(timer));
        assertEquals(new EventChannelSnapshot.Port(unbound, EventChannels.Kind.UNBOUND, 0, -1, domain.domid(), -1,
                false, false), byPort.get(unbound));
        List<Integer> order = new ArrayList<>(byPort.keySet());
        assertEquals(order.stream().sorted().toList(), snap.ports().stream().map(EventChannelSnapshot.Port::port).toList(),
                "by port number");
    }

    @Test
    void threadCountersSumEveryThreadsIncrementsAndKeepThoseOfEndedThreads() throws Exception {
        ThreadCounters c = new ThreadCounters(3);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int counter = t % 3;
            threads.add(Thread.ofPlatform().name("counter-" + t).start(() -> {
                for (int i = 0; i < 10_000; i++) {
                    c.increment(counter);
                }
            }));
        }
        c.increment(2);
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(20_000, c.sum(0));
        assertEquals(10_000, c.sum(1));
        assertEquals(10_001, c.sum(2));
        // a new thread registers after the others ended: their counts were folded, not lost
        Thread.ofPlatform().start(() -> c.increment(1)).join();
        assertEquals(10_001, c.sum(1));
        assertEquals(20_000, c.sum(0));
    }
}

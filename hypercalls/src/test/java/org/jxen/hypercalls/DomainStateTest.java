package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.UUID;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.HvmOp;
import org.jxen.abi.HvmParam;
import org.jxen.abi.Hypercall;
import org.jxen.abi.Runstate;
import org.jxen.abi.SchedOp;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuOp;
import org.jxen.abi.Virq;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GuestMemory;
import org.junit.jupiter.api.Test;

/** Capture of a domain's Xen state as plain values and restore into a new domain (scenario 11 host side). */
class DomainStateTest extends DomainTestBase {
    static final long VCPU_INFO = 0x31040;
    static final long RUNSTATE_AREA = 0x33000 - 20; // split across two pages
    static final long TIME_AREA = 0x34020;

    private int bindVirqTimer(int vcpu) {
        GuestMemory m = platform.memory();
        m.putInt(ARGS, Virq.TIMER);
        m.putInt(ARGS + 4, vcpu);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_VIRQ, ARGS, 0));
        return m.getInt(ARGS + 8);
    }

    /** A guest that did everything a Xen guest sets up, with a timer due in {@code timerNs}. */
    private void setUpGuest(long timerNs) {
        GuestMemory m = platform.memory();
        mapSharedInfo();
        setUpcallVector(0);
        m.putLong(ARGS, VCPU_INFO >>> 12);
        m.putInt(ARGS + 8, (int) (VCPU_INFO & 0xfff));
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_INFO, 0, ARGS));
        m.putLong(ARGS, RUNSTATE_AREA);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_RUNSTATE_MEMORY_AREA, 0, ARGS));
        m.putLong(ARGS, TIME_AREA);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA, 1, ARGS));
        m.putShort(ARGS, (short) 0x7ff0);
        m.putInt(ARGS + 4, HvmParam.CALLBACK_IRQ);
        m.putLong(ARGS + 8, (2L << 56) | 0xf1);
        assertEquals(0, call(Hypercall.HVM_OP, HvmOp.SET_PARAM, ARGS, 0));
        m.putInt(ARGS, 3);
        assertEquals(0, call(Hypercall.SCHED_OP, SchedOp.SHUTDOWN_CODE, ARGS, 0));
        m.putInt(ARGS, 0);
        m.putInt(ARGS + 4, 3600);
        assertEquals(1, call(Hypercall.SCHED_OP, SchedOp.WATCHDOG, ARGS, 0));
        domain.setHandle(UUID.fromString("00000000-0000-0000-0000-00000000abcd"));
        domain.setHvmParam(HvmParam.STORE_PFN, 0xfeffc);
        bindIpi(1);
        bindVirqTimer(0);
        m.putShort(ARGS, (short) 0x7ff0);
        m.putShort(ARGS + 2, (short) 0x7ff0);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.ALLOC_UNBOUND, ARGS, 0));
        int unbound = m.getInt(ARGS + 4);
        m.putShort(ARGS, (short) 0x7ff0);
        m.putInt(ARGS + 4, unbound);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_INTERDOMAIN, ARGS, 0));
        m.putLong(ARGS, 50_000_000L);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.SET_PERIODIC_TIMER, 0, ARGS));
        assertEquals(0, call(Hypercall.SET_TIMER_OP, domain.systemTime() + timerNs, 0, 0));
    }

    private XenDomain restoredFrom(DomainState s) {
        domain.close();
        domain = new XenDomain(platform, XenDomain.Config.of(2));
        assertEquals(0, domain.restoreState(s));
        return domain;
    }

    @Test
    void captureRestoreAndCaptureAgainGiveTheSameState() {
        setUpGuest(3_600_000_000_000L);
        DomainState a = domain.captureState();
        assertEquals(SHARED_INFO_GFN, a.sharedInfoGfn());
        assertEquals(VCPU_INFO, a.vcpus().get(0).vcpuInfoGpa());
        assertEquals(-1, a.vcpus().get(1).vcpuInfoGpa());
        assertEquals(RUNSTATE_AREA, a.vcpus().get(0).runstateAreaGva());
        assertEquals(TIME_AREA, a.vcpus().get(1).timeAreaGpa());
        assertEquals(4, a.ports().size(), "IPI, VIRQ_TIMER and the two ends of the loopback channel: " + a.ports());
        restoredFrom(a);
        DomainState b = domain.captureState();
        assertEquals(a.sharedInfoGfn(), b.sharedInfoGfn());
        assertEquals(a.wordSize(), b.wordSize());
        assertArrayEquals(a.hvmParams(), b.hvmParams());
        assertArrayEquals(a.handle(), b.handle());
        assertEquals(a.shutdownCode(), b.shutdownCode());
        assertArrayEquals(a.watchdogTimeouts(), b.watchdogTimeouts());
        assertEquals(a.ports(), b.ports());
        for (int i = 0; i < 2; i++) {
            DomainState.Vcpu x = a.vcpus().get(i);
            DomainState.Vcpu y = b.vcpus().get(i);
            assertEquals(x.vcpuInfoGpa(), y.vcpuInfoGpa());
            assertEquals(x.upcallVector(), y.upcallVector());
            assertEquals(x.runstateAreaGva(), y.runstateAreaGva());
            assertEquals(x.runstateAreaGpa(), y.runstateAreaGpa());
            assertEquals(x.runstateAreaSecondGpa(), y.runstateAreaSecondGpa());
            assertEquals(x.timeAreaGpa(), y.timeAreaGpa());
            assertEquals(x.singleShotDeadline(), y.singleShotDeadline(), "absolute deadline kept");
            assertEquals(x.periodNs(), y.periodNs());
            assertEquals(x.up(), y.up());
            assertTrue(y.runstate().stateEntryTime() >= x.runstate().stateEntryTime());
            assertTrue(y.runstate().running() >= x.runstate().running());
            assertEquals(y.runstate().sum(), y.runstate().stateEntryTime());
        }
        assertTrue(Math.abs(b.vcpus().get(0).periodicNextDeadline() - a.vcpus().get(0).periodicNextDeadline())
                % 50_000_000L == 0, "the periodic timer keeps its phase");
    }

    @Test
    void aRestoredDomainDeliversEventsWhereTheGuestRegistered() {
        setUpGuest(3_600_000_000_000L);
        DomainState s = domain.captureState();
        int ipi = s.ports().stream().filter(p -> p.kind() == EventChannels.Kind.IPI).findFirst().orElseThrow().port();
        upcalls.clear();
        restoredFrom(s);
        request = new HypercallRequest(1);
        assertEquals(0, send(ipi));
        assertEquals(List.of("1:" + 0xf1), upcalls(), "vCPU 1 by the callback vector");
        long pending = sharedInfoGpa() + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_64);
        assertTrue((platform.memory().getLong(pending) & (1L << ipi)) != 0);
    }

    @Test
    void aTimerSavedMidWaitFiresOnceAfterTheRestore() throws Exception {
        setUpGuest(300_000_000L);
        // stop the periodic timer so that only the single-shot one raises VIRQ_TIMER
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.STOP_PERIODIC_TIMER, 0, 0));
        DomainState s = domain.captureState();
        long deadline = s.vcpus().get(0).singleShotDeadline();
        int timerPort = s.ports().stream().filter(p -> p.kind() == EventChannels.Kind.VIRQ).findFirst().orElseThrow()
                .port();
        restoredFrom(s); // the old domain is closed: its timer is gone with it
        long pending = sharedInfoGpa() + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_64);
        long end = System.nanoTime() + 20_000_000_000L;
        while ((platform.memory().getLong(pending) & (1L << timerPort)) == 0 && System.nanoTime() < end) {
            Thread.sleep(2);
        }
        assertTrue(domain.systemTime() >= deadline, "not before the deadline");
        assertTrue((platform.memory().getLong(pending) & (1L << timerPort)) != 0, "VIRQ_TIMER after the restore");
        long t0 = System.nanoTime();
        while (upcalls().isEmpty() && System.nanoTime() - t0 < 5_000_000_000L) {
            Thread.sleep(1);
        }
        Thread.sleep(400);
        assertEquals(1, upcalls().size(), "once: " + upcalls());
        assertEquals(0, domain.timers(0).singleShotDeadline(), "a single-shot timer is spent");
    }

    @Test
    void fifoStateComesAcrossAndTheNextEventLinksAfterTheCapturedTail() {
        GuestMemory m = platform.memory();
        mapSharedInfo();
        setUpcallVector(0);
        long cbGfn = 0x36, arrayGfn = 0x37;
        m.putLong(ARGS + 0x200, cbGfn);
        m.putInt(ARGS + 0x208, 0x40);
        m.putInt(ARGS + 0x20c, 0);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.INIT_CONTROL, ARGS + 0x200, 0));
        m.putLong(ARGS + 0x220, arrayGfn);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.EXPAND_ARRAY, ARGS + 0x220, 0));
        int first = bindIpi(0);
        int second = bindIpi(0);
        m.putInt(ARGS + 0x240, second);
        m.putInt(ARGS + 0x244, 3);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.SET_PRIORITY, ARGS + 0x240, 0));
        int third = bindIpi(0);
        assertEquals(0, send(first)); // linked: head of queue 7, the tail is `first`
        DomainState s = domain.captureState();
        assertEquals(arrayGfn, s.fifo().eventArrayGfns()[0]);
        assertEquals((cbGfn << 12) + 0x40, s.fifo().controlBlockGpas()[0]);
        assertEquals(first, s.fifo().queueTails()[7]);
        assertEquals(3, s.ports().stream().filter(p -> p.port() == second).findFirst().orElseThrow().priority());
        restoredFrom(s);
        assertEquals(s.ports(), domain.captureState().ports(), "priorities too");
        assertEquals(0, send(third));
        long firstWord = m.getInt((arrayGfn << 12) + 4L * first) & 0xffffffffL;
        assertEquals(third, firstWord & org.jxen.abi.EvtchnFifo.LINK_MASK, "linked after the restored tail");
        assertTrue((firstWord & (1L << org.jxen.abi.EvtchnFifo.LINKED)) != 0);
    }

    @Test
    void stateOfAnotherShapeIsRefused() {
        DomainState s = domain.captureState();
        domain.close();
        domain = new XenDomain(platform, XenDomain.Config.of(3));
        assertThrows(IllegalArgumentException.class, () -> domain.restoreState(s));
    }

    @Test
    void aBlockedRunstateIsPutBack() {
        setUpGuest(3_600_000_000_000L);
        DomainState s = domain.captureState();
        var r = s.vcpus().get(0).runstate();
        restoredFrom(s);
        var after = domain.vcpu(0).runstate();
        assertEquals(Runstate.RUNNING, r.state());
        assertTrue(after.running() + after.runnable() + after.blocked() + after.offline() >= r.sum());
    }
}

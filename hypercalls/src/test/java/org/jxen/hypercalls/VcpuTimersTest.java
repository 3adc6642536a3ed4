package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jxen.abi.EvtchnOp;
import org.jxen.abi.Hypercall;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuOp;
import org.jxen.abi.Virq;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.junit.jupiter.api.Test;

/** Timers in-process (SCENARIOS 10 and 15 on the host side): VIRQ_TIMER after the deadline, never before. */
class VcpuTimersTest extends DomainTestBase {

    /** Binds VIRQ_TIMER on vCPU 0 and returns a latch counted down by each of its upcalls with the time. */
    int bindTimer() {
        mapSharedInfo();
        setUpcallVector(0);
        platform.memory().putInt(ARGS, Virq.TIMER);
        platform.memory().putInt(ARGS + 4, 0);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_VIRQ, ARGS, 0));
        return platform.memory().getInt(ARGS + 8);
    }

    boolean timerPending(int port) {
        long si = sharedInfoGpa();
        return (platform.memory().getLong(si + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_64)) & (1L << port)) != 0;
    }

    long waitForPending(int port, long timeoutMs) throws InterruptedException {
        long t0 = System.nanoTime();
        while (!timerPending(port)) {
            if (System.nanoTime() - t0 > timeoutMs * 1_000_000) {
                return -1;
            }
            Thread.sleep(1);
        }
        return System.nanoTime();
    }

    @Test
    void setTimerOp100msAheadFiresAfterTheDeadlineNotBefore() throws Exception {
        int port = bindTimer();
        long deadline = domain.systemTime() + 100_000_000L;
        assertEquals(0, call(Hypercall.SET_TIMER_OP, deadline, 0, 0));
        Thread.sleep(50);
        boolean early = timerPending(port);
        if (domain.systemTime() < deadline) { // a loaded host may oversleep past the deadline
            assertTrue(!early, "not before the deadline");
        }
        long fired = waitForPending(port, 2000);
        assertTrue(fired > 0, "VIRQ_TIMER arrived");
        assertTrue(fired >= deadline, "not before the deadline");
        // the pending bit is visible before the raising thread delivers the upcall: wait for it
        long t0 = System.nanoTime();
        while (upcalls().isEmpty() && System.nanoTime() - t0 < 2_000_000_000L) {
            Thread.sleep(1);
        }
        assertEquals(1, upcalls().size());
    }

    @Test
    void timerInThePastFiresAtOnce() throws Exception {
        int port = bindTimer();
        assertEquals(0, call(Hypercall.SET_TIMER_OP, domain.systemTime() - 1_000_000_000L, 0, 0));
        assertTrue(waitForPending(port, 500) > 0, "scenario 15");
    }

    @Test
    void farFutureDeadlineFiresAfter100ms() throws Exception {
        int port = bindTimer();
        long t0 = domain.systemTime();
        assertEquals(0, call(Hypercall.SET_TIMER_OP, t0 + (1L << 52), 0, 0));
        long deadline = domain.timers(0).singleShotDeadline();
        if (deadline != 0) { // 0: a loaded host let it fire already
            assertEquals(t0 + 100_000_000L, deadline, 1_000_000_000L, "100 ms from the call, not 2^52 ns");
        }
        long fired = waitForPending(port, 60_000);
        assertTrue(fired > 0, "it fired");
        assertTrue(fired - t0 >= 100_000_000L, "not before 100 ms");
    }

    @Test
    void singleShotWithFutureFlagRefusesThePastAndZeroStops() {
        bindTimer();
        platform.memory().putLong(ARGS, domain.systemTime() - 1000);
        platform.memory().putInt(ARGS + 8, VcpuOp.VCPU_SSHOTTMR_FUTURE);
        assertEquals(-XenErrno.ETIME, call(Hypercall.VCPU_OP, VcpuOp.SET_SINGLESHOT_TIMER, 0, ARGS));
        platform.memory().putLong(ARGS, domain.systemTime() + 10_000_000_000L);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.SET_SINGLESHOT_TIMER, 0, ARGS));
        assertTrue(domain.timers(0).singleShotDeadline() > 0);
        assertEquals(0, call(Hypercall.SET_TIMER_OP, 0, 0, 0));
        assertEquals(0, domain.timers(0).singleShotDeadline());
        assertEquals(-XenErrno.EINVAL, call(Hypercall.VCPU_OP, VcpuOp.SET_SINGLESHOT_TIMER, 1, ARGS),
                "only the calling vCPU's timers");
    }

    @Test
    void periodicTimerRaisesRepeatedly() throws Exception {
        int port = bindTimer();
        platform.memory().putLong(ARGS, 500_000L);
        assertEquals(-XenErrno.EINVAL, call(Hypercall.VCPU_OP, VcpuOp.SET_PERIODIC_TIMER, 0, ARGS), "under 1 ms");
        platform.memory().putLong(ARGS, 5_000_000L);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.SET_PERIODIC_TIMER, 0, ARGS));
        for (int i = 0; i < 3; i++) {
            // the guest handles each upcall as a guest does: only once it has arrived, clearing
            // upcall_pending first, then the selector, then the port's pending bit
            long t0 = System.nanoTime();
            while (upcalls().size() <= i && System.nanoTime() - t0 < 5_000_000_000L) {
                Thread.sleep(1);
            }
            assertEquals(i + 1, upcalls().size(), "upcall " + (i + 1) + " of the periodic timer");
            long si = sharedInfoGpa();
            long vi = si + SharedInfo.offsetOfVcpuInfo(WordSize.BITS_64, 0);
            platform.memory().putByte(vi, (byte) 0);
            platform.memory().putLong(vi + org.jxen.abi.VcpuInfo.offsetOfEvtchnPendingSel(WordSize.BITS_64), 0);
            platform.memory().putLong(si + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_64), 0);
        }
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.STOP_PERIODIC_TIMER, 0, 0));
    }
}

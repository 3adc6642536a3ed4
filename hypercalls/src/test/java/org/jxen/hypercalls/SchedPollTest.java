package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.abi.Hypercall;
import org.jxen.abi.SchedOp;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.junit.jupiter.api.Test;

/** SCHEDOP_poll and SCHEDOP_block in-process (SCENARIOS 12, 13, 14, 17 on the host side). */
class SchedPollTest extends DomainTestBase {
    static final long PORTS = ARGS + 0x200;

    long poll(int[] ports, long timeout) {
        for (int i = 0; i < ports.length; i++) {
            platform.memory().putInt(PORTS + 4L * i, ports[i]);
        }
        platform.memory().putLong(ARGS + 0x100, PORTS);
        platform.memory().putInt(ARGS + 0x108, ports.length);
        platform.memory().putLong(ARGS + 0x110, timeout);
        return call(Hypercall.SCHED_OP, SchedOp.POLL, ARGS + 0x100, 0);
    }

    void mask(int port) {
        long si = sharedInfoGpa() + SharedInfo.offsetOfEvtchnMask(WordSize.BITS_64);
        platform.memory().putLong(si, platform.memory().getLong(si) | (1L << port));
    }

    @Test
    void pollOnAnAlreadyPendingMaskedPortWithTimeoutZeroReturnsAtOnce() {
        mapSharedInfo();
        int port = bindIpi(0);
        mask(port);
        domain.raise(port);
        long t0 = System.nanoTime();
        assertEquals(0, poll(new int[] {port}, 0));
        assertTrue(System.nanoTime() - t0 < 50_000_000L, "scenario 12: at once");
    }

    @Test
    void pollWithATimeoutAndNothingPendingReturnsAfterTheTimeout() {
        mapSharedInfo();
        int port = bindIpi(0);
        long deadline = domain.systemTime() + 60_000_000L;
        assertEquals(0, poll(new int[] {port}, deadline));
        assertTrue(domain.systemTime() >= deadline, "scenario 13: not before the timeout");
    }

    @Test
    void pollWithoutTimeoutWakesWhenATimerRaisesTheMaskedPort() throws Exception {
        mapSharedInfo();
        platform.memory().putInt(ARGS, org.jxen.abi.Virq.TIMER);
        platform.memory().putInt(ARGS + 4, 0);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, org.jxen.abi.EvtchnOp.BIND_VIRQ, ARGS, 0));
        int timerPort = platform.memory().getInt(ARGS + 8);
        mask(timerPort);
        assertEquals(0, call(Hypercall.SET_TIMER_OP, domain.systemTime() + 30_000_000L, 0, 0));
        CompletableFuture<Long> poller = CompletableFuture.supplyAsync(() -> poll(new int[] {timerPort}, 0),
                r -> new Thread(r, "vcpu0").start());
        assertEquals(0, poller.get(5, TimeUnit.SECONDS), "scenario 14: the poller woke");
    }

    @Test
    void pollRacingATimerNeverLosesTheWakeUp() throws Exception {
        mapSharedInfo();
        platform.memory().putInt(ARGS, org.jxen.abi.Virq.TIMER);
        platform.memory().putInt(ARGS + 4, 0);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, org.jxen.abi.EvtchnOp.BIND_VIRQ, ARGS, 0));
        int timerPort = platform.memory().getInt(ARGS + 8);
        mask(timerPort);
        long pendingOff = sharedInfoGpa() + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_64);
        for (int i = 0; i < 200; i++) {
            platform.memory().putLong(pendingOff, 0);
            // a timer that fires at about the moment the poll starts
            assertEquals(0, call(Hypercall.SET_TIMER_OP, domain.systemTime() + (i % 5) * 100_000L, 0, 0));
            long t0 = System.nanoTime();
            assertEquals(0, poll(new int[] {timerPort}, 0));
            assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "round " + i + ": woke within a second");
        }
    }

    @Test
    void badPollArgumentsAreErrors() {
        mapSharedInfo();
        assertEquals(-XenErrno.EINVAL, poll(new int[] {5000}, 0), "port out of range");
        platform.memory().putLong(ARGS + 0x100, 0x7fff_0000_0000L);
        platform.memory().putInt(ARGS + 0x108, 1);
        assertEquals(-XenErrno.EFAULT, call(Hypercall.SCHED_OP, SchedOp.POLL, ARGS + 0x100, 0));
        platform.memory().putInt(ARGS + 0x108, 129);
        assertEquals(-XenErrno.EINVAL, call(Hypercall.SCHED_OP, SchedOp.POLL, ARGS + 0x100, 0));
    }

    @Test
    void blockReturnsWhenAnEventIsPendingForTheVcpu() throws Exception {
        mapSharedInfo();
        setUpcallVector(0);
        int port = bindIpi(0);
        CompletableFuture<Long> blocker = CompletableFuture.supplyAsync(
                () -> domain.dispatch(new HypercallRequest(0).set(Hypercall.SCHED_OP, SchedOp.BLOCK, 0, 0, 0, 0, 0,
                        WordSize.BITS_64, 0)), r -> new Thread(r, "vcpu0").start());
        Thread.sleep(30);
        assertTrue(!blocker.isDone(), "blocked while nothing is pending");
        domain.raise(port);
        assertEquals(0, blocker.get(5, TimeUnit.SECONDS));
    }
}

package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.jxen.abi.Hypercall;
import org.jxen.abi.Runstate;
import org.jxen.abi.VcpuOp;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.GuestMemory;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;
import org.jxen.hypercalls.time.RunstateAccount;
import org.jxen.hypercalls.time.SchedStat;
import org.junit.jupiter.api.Test;

/**
 * Runstate through the domain: the platform's thread statistics and period, the domain's own
 * thread re-accounting a vCPU that makes no hypercall, the per-exit hook, get_runstate_info, the
 * host's set and adjust, and a pause. The platform's clock and statistics are the test's.
 */
class DomainRunstateTest extends DomainTestBase {
    static final long MS = 1_000_000L;
    static final long AREA0 = 0x30000 - 20;
    static final long AREA1 = 0x32000 + 8;

    /** The in-memory platform with a hand-moved clock, per-vCPU thread times and a 1 ms period. */
    static final class TimedPlatform extends InMemoryXenPlatform {
        final AtomicLong clock = new AtomicLong(5_000 * MS);
        final AtomicLong[] onCpu = {new AtomicLong(), new AtomicLong()};
        final AtomicLong[] runDelay = {new AtomicLong(), new AtomicLong()};
        final long period;

        TimedPlatform(UpcallSink upcalls, long period) {
            super("test", upcalls, Console.KEEP);
            addRam(0, RAM);
            this.period = period;
        }

        @Override
        public long monotonicNanos() {
            return clock.get();
        }

        @Override
        public SchedStat.Sample vcpuThreadTimes(int vcpuId) {
            return new SchedStat.Sample(onCpu[vcpuId].get(), runDelay[vcpuId].get());
        }

        @Override
        public long runstatePeriodNanos() {
            return period;
        }
    }

    TimedPlatform timed;

    @Override
    InMemoryXenPlatform newPlatform() {
        timed = new TimedPlatform(upcalls, 1 * MS);
        return timed;
    }

    long vcpuOp(int caller, int cmd, int vcpu, long arg) {
        return domain.dispatch(new HypercallRequest(caller).set(Hypercall.VCPU_OP, cmd, vcpu, arg, 0, 0, 0,
                WordSize.BITS_64, 0));
    }

    void registerArea(int caller, int vcpu, long gva) {
        platform.memory().putLong(ARGS, gva);
        assertEquals(0, vcpuOp(caller, VcpuOp.REGISTER_RUNSTATE_MEMORY_AREA, vcpu, ARGS));
    }

    /** Reads a record as a guest does: again while the domain's thread is updating it. */
    RunstateAccount.Snapshot area(long gva) {
        GuestMemory m = platform.memory();
        for (int attempt = 0; attempt < 1_000_000; attempt++) {
            long entry = m.getLong(gva + 8);
            java.lang.invoke.VarHandle.acquireFence();
            RunstateAccount.Snapshot s = new RunstateAccount.Snapshot(m.getInt(gva), m.getLong(gva + 8),
                    m.getLong(gva + 16), m.getLong(gva + 24), m.getLong(gva + 32), m.getLong(gva + 40));
            java.lang.invoke.VarHandle.acquireFence();
            if ((entry & Runstate.XEN_RUNSTATE_UPDATE) == 0 && m.getLong(gva + 8) == entry) {
                return s;
            }
            Thread.onSpinWait();
        }
        throw new AssertionError("the record at 0x" + Long.toHexString(gva) + " stays in XEN_RUNSTATE_UPDATE");
    }

    RunstateAccount.Snapshot runstateInfo(int caller, int vcpu) {
        assertEquals(0, vcpuOp(caller, VcpuOp.GET_RUNSTATE_INFO, vcpu, ARGS + 0x100));
        RunstateAccount.Snapshot s = area(ARGS + 0x100);
        assertEquals(s.sum(), s.stateEntryTime());
        return s;
    }

    @Test
    void theDomainsThreadAccountsAVcpuThatStaysInTheGuest() throws Exception {
        registerArea(0, 1, AREA1);
        RunstateAccount.Snapshot before = area(AREA1);
        // vCPU 1 is halted inside KVM_RUN: its thread neither runs nor waits; time passes
        timed.clock.addAndGet(50 * MS);
        long deadline = System.nanoTime() + 60_000 * MS;
        RunstateAccount.Snapshot after = before;
        while (after.stateEntryTime() == before.stateEntryTime()) {
            assertTrue(System.nanoTime() < deadline, "the domain's thread never re-accounted vCPU 1");
            Thread.sleep(2);
            after = area(AREA1);
        }
        assertEquals(after.sum(), after.stateEntryTime());
        assertTrue(after.blocked() >= before.blocked(), "halted: blocked");
        assertEquals(Runstate.BLOCKED, after.state(), "most of the interval halted, from another thread: blocked");
        assertEquals(timed.clock.get(), after.stateEntryTime(), "accounted up to the step");
    }

    @Test
    void anExitStepsWhenThePeriodHasPassedAndOnlyThen() {
        registerArea(0, 0, AREA0);
        RunstateAccount.Snapshot s0 = area(AREA0);
        domain.vcpuExited(0); // no time passed: nothing
        assertEquals(s0, area(AREA0));
        timed.clock.addAndGet(2 * MS);
        timed.onCpu[0].addAndGet(2 * MS);
        domain.vcpuExited(0);
        RunstateAccount.Snapshot s1 = area(AREA0);
        assertEquals(s0.stateEntryTime() + 2 * MS, s1.stateEntryTime());
        assertEquals(Runstate.RUNNING, s1.state());
        domain.vcpuExited(7); // no such vCPU: ignored
    }

    @Test
    void getRunstateInfoIsAccountedUpToTheCallAndNeverBehindTheArea() {
        registerArea(0, 0, AREA0);
        registerArea(0, 1, AREA1);
        timed.clock.addAndGet(30 * MS);
        timed.onCpu[0].addAndGet(20 * MS);
        timed.runDelay[0].addAndGet(5 * MS);
        RunstateAccount.Snapshot mine = runstateInfo(0, 0);
        assertEquals(timed.clock.get(), mine.stateEntryTime());
        assertEquals(Runstate.RUNNING, mine.state(), "the caller is running");
        assertEquals(mine, area(AREA0), "the area was written with it");
        RunstateAccount.Snapshot other = runstateInfo(0, 1);
        assertEquals(timed.clock.get(), other.stateEntryTime());
        assertEquals(other, area(AREA1));
        assertEquals(-XenErrno.ENOENT, vcpuOp(0, VcpuOp.GET_RUNSTATE_INFO, 2, ARGS));
        assertEquals(-XenErrno.EFAULT, vcpuOp(0, VcpuOp.GET_RUNSTATE_INFO, 0, -8L));
    }

    @Test
    void theHostSetsAndAdjustsThroughTheVcpu() {
        registerArea(0, 1, AREA1);
        XenVcpu v = domain.vcpu(1);
        assertTrue(v.setRunstateData(Runstate.RUNNABLE, 100, 10, 20, 30, 40));
        assertEquals(new RunstateAccount.Snapshot(Runstate.RUNNABLE, 100, 10, 20, 30, 40), area(AREA1));
        assertEquals(new RunstateAccount.Snapshot(Runstate.RUNNABLE, 100, 10, 20, 30, 40), v.runstate());
        assertFalse(v.setRunstateData(Runstate.RUNNABLE, 99, 10, 20, 30, 40));
        assertTrue(v.adjustRunstateData(-1, 5, 5, 0, 0, 0));
        assertEquals(new RunstateAccount.Snapshot(Runstate.RUNNABLE, 105, 15, 20, 30, 40), area(AREA1));
        assertFalse(v.adjustRunstateData(-1, 0, 0, -21, 21, 0));
        assertEquals(new RunstateAccount.Snapshot(Runstate.RUNNABLE, 105, 15, 20, 30, 40), area(AREA1));
        assertTrue(v.runstateAccounting().area().isRegistered());
    }

    @Test
    void blockAndPollAreBlockedAndAPauseIsOffline() {
        registerArea(0, 0, AREA0);
        domain.vcpu(0).setRunstate(Runstate.BLOCKED, -1, true); // as SCHEDOP_block enters its wait
        timed.clock.addAndGet(10 * MS);
        domain.vcpu(0).setRunstate(Runstate.RUNNING, -1, true);
        RunstateAccount.Snapshot s = area(AREA0);
        assertEquals(10 * MS, s.blocked(), "asleep in the VMM the whole time");
        domain.vcpuPaused(0, true);
        RunstateAccount.Snapshot paused = area(AREA0);
        assertEquals(Runstate.OFFLINE, paused.state());
        timed.clock.addAndGet(10 * MS);
        timed.onCpu[0].addAndGet(3 * MS); // the paused thread's own work is not guest time
        domain.vcpuPaused(0, false);
        s = area(AREA0);
        assertEquals(Runstate.RUNNABLE, s.state());
        assertEquals(paused.offline() + 10 * MS, s.offline());
        assertEquals(paused.running(), s.running());
    }
}

package org.jxen.kvm.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.jxen.abi.Runstate;
import org.jxen.guests.Guests;
import org.jxen.hypercalls.XenVcpu;
import org.jxen.hypercalls.time.RunstateAccount;
import org.jxen.kvm.KvmRequired;
import org.jxen.kvm.Vcpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * SCENARIOS.md 2, 3 and 4 with the test-runstate guest under KVM and jxen's Xen domain: runstate
 * accounted from what the vCPU threads really do (a halted vCPU sleeps inside {@code KVM_RUN} and
 * still shows blocked), the host setting and adjusting runstate data, and steal time from a vCPU
 * thread crowded off its CPU. The guest checks that the entry time is the sum of the times and
 * that no time goes down at every read of an area; the waits are for amounts of accounted time
 * with generous limits, never for wall-clock deadlines.
 */
class RunstateScenariosTest {
    /** Steps that wait for time to be accounted (with the machine loaded by other builds). */
    static final Duration LONG = Duration.ofSeconds(90);
    static final int CROWD = 3;

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    static SelftestVm start(int scenario) throws Exception {
        SelftestVm vm = SelftestVm.create(Guests.image("test-runstate"),
                SelftestVm.options().vcpus(2).xenDomain().secondaryVcpusOffline());
        try {
            vm.start();
            vm.awaitSync(0, 0);
            reply(vm, 1, scenario);
            vm.resume(0);
            return vm;
        } catch (RuntimeException | Error e) {
            vm.close();
            throw e;
        }
    }

    /** Writes {@code value} into args[{@code i}] of vCPU 0's ucall slot: the guest reads it after its SYNC. */
    static void reply(SelftestVm vm, int i, long value) {
        vm.vm().memory().putLong(vm.ucallSlotGpa(0) + 8 + 8L * i, value);
    }

    static Ucall sync(SelftestVm vm, long stage) {
        Ucall u = vm.awaitUcall(0, LONG);
        if (u.command() != Ucall.Command.SYNC || u.arg(0) != stage) {
            throw new AssertionError("expected SYNC " + stage + " from vcpu 0, got " + u);
        }
        return u;
    }

    static void awaitState(Vcpu v, Vcpu.State state) throws InterruptedException {
        long deadline = System.nanoTime() + LONG.toNanos();
        while (v.state() != state) {
            assertTrue(System.nanoTime() < deadline, v + " never became " + state);
            Thread.sleep(5);
        }
    }

    @Test
    void scenario2EachStateShowsInTheAreaWithTimeAccounted() throws Exception {
        try (SelftestVm vm = start(2)) {
            XenVcpu v1 = vm.domain().vcpu(1);
            sync(vm, 21); // vCPU 1 halted, shown blocked; now crowd its thread off its CPU
            int tid = vm.vm().vcpu(1).kvmVcpu().threadId();
            assertTrue(tid > 0, "vCPU 1's thread runs");
            long runnableBefore = v1.runstate().runnable();
            Ucall u;
            try (CpuAffinity.Crowd crowd = new CpuAffinity.Crowd(tid, CROWD)) {
                vm.resume(0);
                u = sync(vm, 22);
            }
            assertTrue(u.arg(1) >= 30_000_000L, "the guest saw runnable grow by " + u.arg(1));
            assertTrue(v1.runstate().runnable() - runnableBefore >= u.arg(1));
            vm.resume(0);
            u = sync(vm, 29);
            awaitState(vm.vm().vcpu(1), Vcpu.State.OFFLINE);
            RunstateAccount.Snapshot s = v1.runstate();
            System.out.printf("scenario 2: %d reads checked by the guest; vCPU 1 %s; running shown by the sampler: %s;"
                    + " %d wake-ups%n", u.arg(1), s, u.arg(2) == 1, u.arg(3));
            assertTrue(u.arg(1) > 10, "the guest checked " + u.arg(1) + " reads");
            assertEquals(Runstate.OFFLINE, s.state());
            for (int state = Runstate.RUNNING; state <= Runstate.OFFLINE; state++) {
                assertTrue(s.time(state) > 0, "vCPU 1 has no " + Runstate.name(state) + " time: " + s);
            }
            assertEquals(s.sum(), s.stateEntryTime());
            RunstateAccount.Snapshot area = v1.runstateAccounting().area().readAsGuest(100);
            assertEquals(area.sum(), area.stateEntryTime(), "the area: " + area);
            assertTrue(area.stateEntryTime() >= s.stateEntryTime() && area.state() == Runstate.OFFLINE,
                    "the area is never behind the account read before it: " + area);
            assertFalse(vm.domain().vcpuIsUp(1));
            vm.resume(0);
            vm.awaitDone(0);
        }
    }

    @Test
    void scenario3TheHostSetsAndAdjustsRunstateDataAndTheGuestSeesExactlyIt() throws Exception {
        try (SelftestVm vm = start(3)) {
            XenVcpu v0 = vm.domain().vcpu(0);
            XenVcpu v1 = vm.domain().vcpu(1);
            sync(vm, 30);
            long r = 0x6b6b;
            long q = 0x5a5a;
            long b = 0x1234;
            long o = 0x4321;
            assertFalse(v1.setRunstateData(Runstate.OFFLINE, r + q + b + o + 1, r, q, b, o), "entry is not the sum");
            assertFalse(v1.setRunstateData(Runstate.OFFLINE, Long.MAX_VALUE, Long.MAX_VALUE, 0, 0, 0), "in the future");
            assertTrue(v1.setRunstateData(Runstate.OFFLINE, r + q + b + o, r, q, b, o));
            RunstateAccount.Snapshot area = v1.runstateAccounting().area().readAsGuest(100);
            assertEquals(Runstate.OFFLINE, area.state());
            assertEquals(r, area.running());
            assertEquals(q, area.runnable());
            assertEquals(b, area.blocked());
            assertTrue(area.offline() >= o);
            reply(vm, 1, r);
            reply(vm, 2, q);
            reply(vm, 3, b);
            reply(vm, 4, o);
            vm.resume(0);

            sync(vm, 31);
            long dr = 0x100;
            long dq = -0x200;
            long db = 0x300;
            assertFalse(v1.adjustRunstateData(-1, 0, dr, dq, db, 0), "the entry delta is not the sum");
            assertFalse(v1.adjustRunstateData(-1, -q - 1, 0, -q - 1, 0, 0), "runnable would go negative");
            assertTrue(v1.adjustRunstateData(-1, dr + dq + db, dr, dq, db, 0));
            reply(vm, 1, dr);
            reply(vm, 2, dq);
            reply(vm, 3, db);
            reply(vm, 4, 0);
            vm.resume(0);

            sync(vm, 32); // vCPU 0's own record, set while vCPU 0 waits in this exit
            long[] mine = {0x1000, 0x2000, 0x3000, 0x4000};
            assertTrue(v0.setRunstateData(Runstate.RUNNING, 0xa000, mine[0], mine[1], mine[2], mine[3]));
            for (int i = 0; i < 4; i++) {
                reply(vm, i + 1, mine[i]);
            }
            vm.resume(0);
            Ucall u = sync(vm, 39);
            RunstateAccount.Snapshot s1 = v1.runstate();
            assertEquals(r + dr, s1.running());
            assertEquals(q + dq, s1.runnable());
            assertEquals(b + db, s1.blocked());
            System.out.printf("scenario 3: %d reads checked by the guest; vCPU 1 %s%n", u.arg(1), s1);
            vm.resume(0);
            vm.awaitDone(0);
        }
    }

    @Test
    void scenario4StealTimeGrowsWhileTheVcpuThreadWaitsForACpu() throws Exception {
        try (SelftestVm vm = start(4)) {
            XenVcpu v0 = vm.domain().vcpu(0);
            sync(vm, 40);
            int tid = vm.vm().vcpu(0).kvmVcpu().threadId();
            long before = v0.runstate().runnable();
            Ucall u;
            try (CpuAffinity.Crowd crowd = new CpuAffinity.Crowd(tid, CROWD)) {
                vm.resume(0);
                u = sync(vm, 41);
            }
            long steal = u.arg(1);
            long running = u.arg(2);
            System.out.printf("scenario 4: time[runnable] +%.1f ms, time[running] +%.1f ms while crowded%n",
                    steal / 1e6, running / 1e6);
            assertTrue(steal >= 50_000_000L, "the guest saw steal grow by " + steal);
            assertTrue(v0.runstate().runnable() - before >= steal);
            vm.resume(0);
            u = sync(vm, 49);
            assertTrue(u.arg(1) >= 3, "the guest checked " + u.arg(1) + " reads");
            vm.resume(0);
            vm.awaitDone(0);
        }
    }
}

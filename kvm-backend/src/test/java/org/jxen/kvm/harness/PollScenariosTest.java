package org.jxen.kvm.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.jxen.kvm.KvmRequired;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** SCENARIOS.md 12, 13, 14 and 17 with a real guest under KVM (guest test-poll-scenarios). */
class PollScenariosTest {
    static final String GUEST = "test-poll-scenarios";
    static final long MS = 1_000_000L;

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    @Test
    void scenario12_pollOnAnAlreadyPendingMaskedPortReturnsAtOnce() throws Exception {
        try (SelftestVm vm = ScenarioGuest.create(GUEST)) {
            vm.start();
            ScenarioGuest.choose(vm, 12);
            // timeout 0 means no timeout: had the poll not seen the pending bit, it would never return
            Ucall u = vm.awaitSync(0, 12);
            assertEquals(0, u.arg(1), "poll returns 0");
            assertEquals(1, u.arg(2), "the port is still pending: a poll does not consume it");
            assertEquals(0, u.arg(3), "masked: no upcall handled it");
            assertEquals(0, u.arg(4), "no upcall at all");
            vm.resume(0);
            vm.awaitDone(0);
        }
    }

    @Test
    void scenario13_pollWithATimeoutAndNothingPendingReturnsAfterTheTimeout() throws Exception {
        try (SelftestVm vm = ScenarioGuest.create(GUEST)) {
            vm.start();
            ScenarioGuest.choose(vm, 13);
            Ucall u = vm.awaitSync(0, 13);
            assertEquals(0, u.arg(1), "a timed-out poll returns 0, as in Xen");
            assertTrue(u.arg(3) >= u.arg(2), "returned at " + u.arg(3) + ", not before the timeout " + u.arg(2));
            System.out.printf("scenario 13: the poll returned %.3f ms after its timeout%n", (u.arg(3) - u.arg(2)) / 1e6);
            assertEquals(0, u.arg(4), "nothing became pending");
            vm.resume(0);
            vm.awaitDone(0);
        }
    }

    @Test
    void scenario14_aTimerRaisingThePolledMaskedPortWakesThePoller() throws Exception {
        try (SelftestVm vm = ScenarioGuest.create(GUEST)) {
            vm.start();
            ScenarioGuest.choose(vm, 14);
            Ucall u = vm.awaitSync(0, 14);
            assertEquals(0, u.arg(1));
            assertTrue(u.arg(3) >= u.arg(2), "woke at " + u.arg(3) + ", after the timer's deadline " + u.arg(2));
            assertEquals(1, u.arg(4), "the timer port is pending");
            assertEquals(0, u.arg(5), "and masked: no upcall");
            vm.resume(0);
            vm.awaitDone(0);
        }
    }

    /** Seeds of the rounds' deadlines; each run prints its seed. */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {0x5eed17L, 0x2545f4914f6cdd1dL})
    void scenario17_pollRacingATimerLosesNoWakeUp(long seed) throws Exception {
        int rounds = 3000;
        System.out.printf("scenario 17: seed 0x%x, %d rounds%n", seed, rounds);
        try (SelftestVm vm = ScenarioGuest.create(GUEST)) {
            vm.start();
            ScenarioGuest.choose(vm, 17, seed, rounds);
            long done = 0;
            Ucall u = null;
            while (done < rounds) {
                // a lost wake-up leaves the guest in its poll forever: each batch of 500 rounds gets
                // a generous minute
                u = vm.awaitUcall(0, Duration.ofSeconds(60));
                assertEquals(Ucall.Command.SYNC, u.command(), () -> "seed " + Long.toHexString(seed));
                assertEquals(17, u.arg(0));
                assertTrue(u.arg(1) > done);
                done = u.arg(1);
                vm.resume(0);
            }
            System.out.printf("scenario 17: seed 0x%x: %d rounds, %d with the deadline already passed at the "
                    + "poll, longest wait %.3f ms%n", seed, done, u.arg(2), u.arg(3) / 1e6);
            u = vm.awaitSync(0, 18);
            assertEquals(0, u.arg(1), "masked timer port: never handled by an upcall");
            assertEquals(0, u.arg(2), "no upcall");
            assertEquals(0, vm.domain().timers(0).singleShotDeadline(), "every armed timer fired");
            vm.resume(0);
            vm.awaitDone(0);
        }
    }
}

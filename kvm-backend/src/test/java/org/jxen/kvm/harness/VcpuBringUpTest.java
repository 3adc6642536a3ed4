package org.jxen.kvm.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.jxen.abi.Runstate;
import org.jxen.guests.Guests;
import org.jxen.kvm.KvmRequired;
import org.jxen.kvm.Vcpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * VCPUOP_initialise, up, down and is_up end to end with the test-vcpu-up guest: secondaries start
 * down (their threads run no guest code), vCPU 1 starts in 64-bit mode from the guest's context,
 * goes down and comes back where it stopped, vCPU 2 starts in 32-bit flat mode with paging off, and
 * vCPU 0 takes itself down until vCPU 1 brings it back.
 */
class VcpuBringUpTest {
    static final Duration LONG = Duration.ofSeconds(60);

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    static void awaitState(Vcpu v, Vcpu.State state) throws InterruptedException {
        long deadline = System.nanoTime() + LONG.toNanos();
        while (v.state() != state) {
            assertTrue(System.nanoTime() < deadline, v + " never became " + state);
            Thread.sleep(5);
        }
    }

    static Ucall sync(SelftestVm vm, int vcpu, long stage) {
        Ucall u = vm.awaitUcall(vcpu, LONG);
        if (u.command() != Ucall.Command.SYNC || u.arg(0) != stage) {
            throw new AssertionError("expected SYNC " + stage + " from vcpu " + vcpu + ", got " + u);
        }
        return u;
    }

    @Test
    void secondariesComeUpFromTheGuestsContextAndGoDownAndUpAgain() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-vcpu-up"),
                SelftestVm.options().vcpus(3).xenDomain().secondaryVcpusOffline())) {
            vm.start();
            Vcpu v1 = vm.vm().vcpu(1);
            Vcpu v2 = vm.vm().vcpu(2);
            sync(vm, 0, 1); // vCPU 1 initialised, not up
            assertEquals(Vcpu.State.OFFLINE, v1.state());
            assertEquals(Vcpu.State.OFFLINE, v2.state());
            assertEquals(0, v1.exitCount(), "a down vCPU runs no guest code");
            assertEquals(Runstate.OFFLINE, vm.domain().vcpu(1).runstate().state());
            assertFalse(vm.domain().vcpuIsUp(1));
            vm.resume(0);

            Ucall u = sync(vm, 1, 10); // vCPU 1 runs from the guest's context: _start, as vCPU 1
            assertEquals(1, u.arg(1));
            assertEquals(1, u.arg(2), "its first start");
            vm.resume(1);

            u = sync(vm, 0, 2); // vCPU 0 took vCPU 1 down
            awaitState(v1, Vcpu.State.OFFLINE);
            assertFalse(vm.domain().vcpuIsUp(1));
            assertEquals(Runstate.OFFLINE, vm.domain().vcpu(1).runstate().state());
            long exits = v1.exitCount();
            Thread.sleep(20);
            assertEquals(exits, v1.exitCount(), "an offline vCPU makes no exits");
            vm.resume(0);

            u = sync(vm, 2, 20); // vCPU 2 in 32-bit mode: EBX, ESI, EDI from the context
            assertEquals(0x12345678L, u.arg(1));
            assertEquals(0x9abcdef0L, u.arg(2));
            vm.resume(2);
            sync(vm, 0, 3);
            vm.resume(0);

            sync(vm, 1, 11); // vCPU 0 took itself down
            awaitState(vm.vm().vcpu(0), Vcpu.State.OFFLINE);
            assertFalse(vm.domain().vcpuIsUp(0));
            assertEquals(Runstate.OFFLINE, vm.domain().vcpu(0).runstate().state());
            vm.resume(1);
            vm.awaitDone(1);
            vm.awaitDone(0); // vCPU 1 brought it back: its down returned 0
            assertTrue(vm.domain().vcpuIsUp(0));
        }
    }

    @Test
    void withoutTheOptionEveryVcpuStartsUp() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-smp"), SelftestVm.options().vcpus(2).xenDomain())) {
            assertTrue(vm.domain().vcpuIsUp(1));
            assertEquals(Runstate.RUNNING, vm.domain().vcpu(1).runstate().state());
            vm.start();
            for (int id = 0; id < 2; id++) {
                sync(vm, id, 1);
            }
            vm.resume(0);
            vm.resume(1);
            for (int id = 0; id < 2; id++) {
                sync(vm, id, 2);
                vm.resume(id);
            }
            vm.awaitDone(0);
            vm.awaitDone(1);
        }
    }
}

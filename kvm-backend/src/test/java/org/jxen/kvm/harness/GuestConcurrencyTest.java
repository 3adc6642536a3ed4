package org.jxen.kvm.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.gpc.HostMemory;
import org.jxen.guests.Guests;
import org.jxen.kvm.KvmRequired;
import org.jxen.kvm.Vcpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Upcalls from other host threads, two vCPUs at once, memslot removal under a running vCPU, vCPU control. */
class GuestConcurrencyTest {

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    @Test
    void upcallFromAnotherHostThreadWakesAHaltedVcpu() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-upcall"), SelftestVm.options())) {
            vm.start();
            Ucall setup = vm.awaitSync(0, 1);
            int vector = (int) setup.arg(1);
            long wanted = setup.arg(2);
            assertEquals(1, setup.arg(3), "the guest uses x2APIC with the in-kernel irqchip");
            vm.resume(0);
            List<Long> latenciesNs = new ArrayList<>();
            for (long i = 1; i <= wanted; i++) {
                Thread.sleep(20); // let the guest reach `sti; hlt`
                long[] sent = new long[1];
                CompletableFuture.runAsync(() -> {
                    sent[0] = System.nanoTime();
                    assertTrue(vm.vm().signalUpcall(0, vector), "the APIC accepted the interrupt");
                }, r -> new Thread(r, "upcall-sender").start()).get(5, TimeUnit.SECONDS);
                Ucall u = vm.awaitSync(0, 2);
                latenciesNs.add(System.nanoTime() - sent[0]);
                assertEquals(i, u.arg(1), "upcalls seen");
                assertTrue(u.arg(2) >= i, "the vCPU was halted before each upcall");
                vm.resume(0);
            }
            vm.awaitDone(0);
            System.out.println("upcall delivery to a halted vCPU, KVM_SIGNAL_MSI to the guest's ucall exit (us): "
                    + latenciesNs.stream().map(n -> String.format("%.1f", n / 1000.0)).toList());
        }
    }

    @Test
    void twoVcpusRunAtOnce() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-smp"), SelftestVm.options().vcpus(2))) {
            vm.start();
            for (int id = 0; id < 2; id++) {
                Ucall u = vm.awaitSync(id, 1);
                assertEquals(id, u.arg(1));
            }
            vm.resume(0);
            vm.resume(1);
            long[] counters = new long[2];
            for (int id = 0; id < 2; id++) {
                Ucall u = vm.awaitSync(id, 2);
                counters[id] = u.arg(2);
                vm.resume(id);
            }
            vm.awaitDone(0);
            vm.awaitDone(1);
            assertTrue(counters[0] > 0 && counters[1] > 0);
        }
    }

    @Test
    void memslotRemovedAndAddedBackWhileTheVcpuRuns() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-memslot"), SelftestVm.options());
                HostMemory region = HostMemory.anonymous("test-memslot-region", 4 * HostMemory.PAGE_SIZE)) {
            long gpa = 0x8000_0000L; // above the 64 MiB of RAM, below the MMIO hole
            vm.vm().memory().addSlot(10, gpa, region.size(), region, 0, 0);
            long gva = vm.virtualAllocator().reserve(region.size(), VirtualAllocator.Access.SUPERVISOR);
            vm.pageTables().map(gva, gpa, region.size(), true, false);
            vm.start();
            vm.awaitSync(0, 1);
            long slot = vm.ucallSlotGpa(0);
            vm.vm().memory().putLong(slot + 8, gva);
            vm.vm().memory().putLong(slot + 16, region.size());
            vm.resume(0);
            int syncs = 0;
            int changes = 0;
            while (true) {
                Ucall u = vm.awaitSync(0, 2);
                syncs++;
                if (syncs % 3 == 1 && changes < 6) {
                    // from this (non-vCPU) thread, while the guest loops over the region
                    CompletableFuture<Void> flip = CompletableFuture.runAsync(() -> {
                        vm.vm().memory().removeSlot(10);
                        vm.vm().memory().addSlot(10, gpa, region.size(), region, 0, 0);
                    }, r -> new Thread(r, "memslot-flipper").start());
                    vm.resume(0);
                    flip.get(10, TimeUnit.SECONDS);
                    changes++;
                    continue;
                }
                if (changes >= 6) {
                    vm.vm().memory().putLong(slot + 8, 0x5709); // MEMSLOT_STOP
                    vm.resume(0);
                    break;
                }
                vm.resume(0);
            }
            Ucall end = vm.awaitSync(0, 3);
            assertEquals(1, end.arg(3), "after the slot came back, the region shows the guest's last writes");
            vm.resume(0);
            vm.awaitDone(0);
            vm.vm().memory().removeSlot(10);
        }
    }

    @Test
    void pauseResumeAndStopAHaltedAndASpinningVcpu() throws Exception {
        // test-upcall halts with interrupts enabled after its first sync: a halted vCPU in the kernel
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-upcall"), SelftestVm.options())) {
            vm.start();
            vm.awaitSync(0, 1);
            vm.resume(0);
            Thread.sleep(50);
            Vcpu v = vm.vm().vcpu(0);
            long t0 = System.nanoTime();
            assertTrue(v.pause(Duration.ofSeconds(2)), "a halted vCPU pauses");
            long pauseUs = (System.nanoTime() - t0) / 1000;
            assertEquals(Vcpu.State.PAUSED, v.state());
            v.resume();
            Thread.sleep(20);
            assertEquals(Vcpu.State.RUNNING, v.state());
            t0 = System.nanoTime();
            assertTrue(v.stop(Duration.ofSeconds(2)), "a halted vCPU stops");
            long stopUs = (System.nanoTime() - t0) / 1000;
            assertEquals(Vcpu.State.STOPPED, v.state());
            assertEquals(Vcpu.StopReason.Kind.REQUESTED, v.stopReason().kind());
            System.out.println("halted vCPU: pause took " + pauseUs + " us, stop took " + stopUs + " us");
        }
        // test-smp's second vCPU never starts, so vCPU 0 spins in its ping-pong without exits
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-smp"), SelftestVm.options().vcpus(2))) {
            vm.start(0);
            vm.awaitSync(0, 1);
            vm.resume(0);
            Thread.sleep(50);
            Vcpu v = vm.vm().vcpu(0);
            long exits = v.exitCount();
            assertTrue(v.pause(Duration.ofSeconds(2)), "a spinning vCPU pauses");
            v.resume();
            assertTrue(v.stop(Duration.ofSeconds(2)), "a spinning vCPU stops");
            assertTrue(v.exitCount() - exits < 10, "it was spinning without exits");
        }
    }
}

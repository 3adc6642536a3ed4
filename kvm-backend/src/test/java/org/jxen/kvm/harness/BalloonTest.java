package org.jxen.kvm.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jxen.abi.E820Entry;
import org.jxen.gpc.Memslot;
import org.jxen.guests.Guests;
import org.jxen.hypercalls.GuestPhysmap;
import org.jxen.kvm.KvmRequired;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A real guest under KVM gives pages back with XENMEM_decrease_reservation and takes them again
 * with XENMEM_populate_physmap (test-balloon.c): the host memory behind the pages really goes
 * (mincore on the VM's RAM mapping), the pages come back zeroed and usable, and the guest's memory
 * map and reservation are what the VM has.
 */
class BalloonTest {
    static final long PAGE = 4096;

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    /** Pages of {@code [gpa, gpa + pages * 4 KiB)} resident in the host memory behind the VM's memslot. */
    static long resident(SelftestVm vm, long gpa, long pages) {
        Memslot s = vm.vm().memory().currentMap().find(gpa);
        assertNotNull(s, "no memslot at 0x" + Long.toHexString(gpa));
        return s.memory().residentPages(s.memoryOffset() + (gpa - s.gpa()), pages * PAGE);
    }

    @Test
    void guestBalloonsPagesOutAndBackAndTheHostMemoryReallyGoes() throws Exception {
        long ram = 64L << 20;
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-balloon"), SelftestVm.options().memory(ram).xenDomain())) {
            GuestPhysmap physmap = vm.domain().physmap();
            vm.start();

            Ucall u = vm.awaitSync(0, 1);
            long pool = u.arg(1);
            int pages = (int) u.arg(2);
            int half = pages / 2;
            assertEquals(ram / PAGE, u.arg(4), "maximum_reservation: the VM's RAM");
            assertEquals(u.arg(4), u.arg(3), "all of it populated at boot");
            long residentBefore = resident(vm, pool, pages);
            assertEquals(pages, residentBefore, "the guest wrote every pool page");
            vm.resume(0);

            u = vm.awaitSync(0, 2);
            assertEquals(half, u.arg(1));
            assertEquals(ram / PAGE - half, u.arg(2), "current_reservation after giving back");
            assertEquals(pool >> 12, u.arg(3));
            long residentBallooned = resident(vm, pool, half);
            long residentKept = resident(vm, pool + half * PAGE, half);
            assertEquals(0, residentBallooned, "the host pages behind the ballooned gfns are gone");
            assertEquals(half, residentKept, "the rest of the pool is untouched");
            for (long g = pool >> 12; g < (pool >> 12) + half; g++) {
                assertTrue(physmap.isBallooned(g));
            }
            assertEquals(ram / PAGE - half, physmap.totPages());
            System.out.printf("BalloonTest: %d pool pages resident before, %d of the %d ballooned pages resident after"
                    + " decrease_reservation, %d of the %d kept%n", residentBefore, residentBallooned, half, residentKept,
                    half);
            vm.resume(0);

            u = vm.awaitSync(0, 3);
            assertEquals(half, u.arg(1), "populate_physmap did every extent");
            assertEquals(ram / PAGE, u.arg(2), "current_reservation back to the maximum");
            assertEquals(half, u.arg(3), "every populated page read zero");
            assertEquals(half, u.arg(4), "the kept pages kept their pattern");
            assertEquals(pages, resident(vm, pool, pages), "the guest wrote them all again");
            vm.resume(0);

            u = vm.awaitSync(0, 4);
            assertEquals(1, u.arg(1), "one e820 entry: the VM's RAM");
            assertEquals(0, u.arg(2));
            assertEquals(ram, u.arg(3));
            assertEquals(E820Entry.TYPE_RAM, u.arg(4));
            assertEquals(ram / PAGE, u.arg(5), "maximum_ram_page: one past the last RAM frame");
            vm.resume(0);
            vm.awaitDone(0);
        }
    }
}

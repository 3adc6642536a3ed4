package org.jxen.kvm.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.guests.Guests;
import org.jxen.hypercalls.XenDomain;
import org.jxen.kvm.DirectBoot;
import org.jxen.kvm.KvmRequired;
import org.jxen.kvm.KvmXenPlatform;
import org.jxen.kvm.Vcpu;
import org.jxen.kvm.VirtualMachine;
import org.jxen.kvm.boot.ElfImage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * SCENARIOS.md 19 and 20 with a real guest under KVM (guest test-runstate-layout): the runstate
 * area in both layouts at every offset around a page boundary, and a guest whose hypercall ABI
 * switches between 64 and 32 bits. The guest makes its 32-bit hypercalls in compatibility mode
 * (long mode, a 32-bit code segment): the hypervisor sees a 32-bit caller, as Xen decides it
 * from the mode ({@code hvm_guest_x86_mode() != 8}) and jxen from {@code HypercallRequest.wordSize()}.
 * Compatibility mode rather than 32-bit protected mode, because this host cannot return from an
 * interrupt in 32-bit protected mode (HOST-KVM-NOTES.md) and scenario 20 needs upcalls.
 */
class RunstateLayoutScenariosTest {
    static final String GUEST = "test-runstate-layout";
    static final long PAGE = HostMemory.PAGE_SIZE;
    /** Where the host maps its scattered region: below 4 GiB, so compatibility-mode code reaches it. */
    static final long REGION_GVA = 0x3000_0000L;
    static final long REGION_SLOT_GPA = 0x9200_0000L;
    static final int REGION_SLOT = 32;
    /**
     * No periodic runstate sampling: the area is written only at the vCPU's own runstate changes,
     * as on Xen when the vCPU is never preempted, so the guest can check every byte around it.
     */
    static final SelftestVm.Options OPTIONS = SelftestVm.options().xenDomain().runstatePeriodNanos(0);

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    @Test
    void scenario19_runstateAreaAtEveryOffsetAcrossAPageBoundaryIn64And32BitLayouts() throws Exception {
        try (HostMemory third = HostMemory.anonymous("scenario19-third-page", PAGE);
                SelftestVm vm = SelftestVm.create(Guests.image(GUEST), OPTIONS)) {
            ScenarioGuest.identityMapImage(vm, GUEST);
            // the host's region: three guest pages, none next to another, the third in a memslot of its own
            long p0 = vm.physicalAllocator().allocatePages(1);
            vm.physicalAllocator().allocatePages(1);
            long p1 = vm.physicalAllocator().allocatePages(1);
            vm.vm().memory().addSlot(REGION_SLOT, REGION_SLOT_GPA, PAGE, third, 0, 0);
            vm.pageTables().map(REGION_GVA, p0, PAGE, true, false);
            vm.pageTables().map(REGION_GVA + PAGE, p1, PAGE, true, false);
            vm.pageTables().map(REGION_GVA + 2 * PAGE, REGION_SLOT_GPA, PAGE, true, false);
            vm.start();
            ScenarioGuest.choose(vm, 19, REGION_GVA);
            long[][] sweeps = {{64, 0, 57}, {32, 0, 53}, {64, 1, 57}, {32, 1, 53}};
            for (long[] want : sweeps) {
                Ucall u = vm.awaitSync(0, 19);
                String what = want[0] + "-bit layout, " + (want[1] == 0 ? "contiguous pages" : "scattered pages");
                assertEquals(want[0], u.arg(1), what);
                assertEquals(want[1], u.arg(2), what);
                // offsets 2*PAGE - size - 4 .. 2*PAGE + 4: 48 + 9 for 64-bit, 44 + 9 for 32-bit
                assertEquals(want[2], u.arg(3), what + ": offsets checked");
                assertTrue(u.arg(4) > 0, what + ": blocked time accounted");
                System.out.printf("scenario 19: %s: %d offsets, blocked %.3f ms%n", what, u.arg(3), u.arg(4) / 1e6);
                vm.resume(0);
            }
            vm.awaitDone(0);
            // the guest only wrote 128 bytes on each side of the boundary: the rest of the host's
            // pages is as the host made it (zero)
            GuestMemory m = vm.vm().memory();
            for (long i = 128; i < PAGE; i++) {
                assertEquals(0, m.getByte(REGION_SLOT_GPA + i), "third page byte " + i);
                assertEquals(0, m.getByte(p1 + PAGE - 1 - i), "second page byte " + (PAGE - 1 - i));
            }
        }
    }

    @Test
    void scenario20_hypercallAbiSwitch64To32To64() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image(GUEST), OPTIONS)) {
            ScenarioGuest.identityMapImage(vm, GUEST);
            vm.start();
            ScenarioGuest.choose(vm, 20);
            GuestMemory m = vm.vm().memory();

            Ucall u = vm.awaitSync(0, 20);
            assertEquals(WordSize.BITS_64, vm.domain().wordSize());
            int ipi = (int) u.arg(1);
            int high = (int) u.arg(2);
            assertTrue(high >= 1024, "a port beyond the 32-bit ABI's 1024: " + high);
            assertEquals(0, u.arg(3), "it exists for a 64-bit guest");
            long si = u.arg(4);
            long area = u.arg(5);
            assertEquals(si >> 12, vm.domain().sharedInfoGfn());
            assertArea(m, area, WordSize.BITS_64);
            int wcVersion64 = m.getInt(si + SharedInfo.offsetOfWcVersion(WordSize.BITS_64));
            long wcSec64 = Integer.toUnsignedLong(m.getInt(si + SharedInfo.offsetOfWcSec(WordSize.BITS_64)));
            assertTrue(wcVersion64 != 0 && wcVersion64 % 2 == 0, "64-bit wc_version " + wcVersion64);
            vm.domain().raise(ipi);
            vm.resume(0);
            u = vm.awaitSync(0, 21);
            assertEquals(1, u.arg(1), "64-bit words: the upcall handler found the port");
            vm.resume(0);

            u = vm.awaitSync(0, 22);
            assertEquals(WordSize.BITS_32, vm.domain().wordSize(), "latched from the 32-bit hypercall");
            assertTrue(Math.abs(u.arg(1) - wcSec64) <= 1, "the wall clock at its 32-bit offsets: " + u.arg(1)
                    + " vs " + wcSec64);
            int wcVersion32 = m.getInt(si + SharedInfo.offsetOfWcVersion(WordSize.BITS_32));
            assertTrue(wcVersion32 != 0 && wcVersion32 % 2 == 0, "32-bit wc_version " + wcVersion32);
            assertEquals(-XenErrno.EINVAL, u.arg(2), "port " + high + " is beyond a 32-bit guest's 1024 ports");
            assertEquals(0, u.arg(3), "the IPI port is still there");
            assertArea(m, area, WordSize.BITS_32);
            vm.domain().raise(ipi);
            vm.resume(0);
            u = vm.awaitSync(0, 23);
            assertEquals(2, u.arg(1), "32-bit words: the handler reading them found the port");
            assertEquals(0x18, u.arg(2), "the upcall interrupted compatibility-mode code (selector 0x18)");
            vm.domain().raise(ipi); // masked in the 32-bit mask array now
            vm.resume(0);
            u = vm.awaitSync(0, 24);
            assertEquals(1, u.arg(1), "pending in its 32-bit word");
            assertEquals(2, u.arg(2), "masked: no upcall");
            vm.resume(0);
            u = vm.awaitSync(0, 25);
            assertEquals(3, u.arg(1), "a 32-bit EVTCHNOP_unmask re-delivered it");
            assertEquals(1, u.arg(2), "get_runstate_info wrote the 44-byte record, not 48 bytes");
            vm.resume(0);

            u = vm.awaitSync(0, 26);
            assertEquals(WordSize.BITS_64, vm.domain().wordSize());
            int again = (int) u.arg(1);
            assertTrue(again % 2 == 0 && again > wcVersion64, "the 64-bit wall clock written again: " + wcVersion64
                    + " -> " + again);
            assertEquals(0, u.arg(2), "port " + high + " exists again");
            assertArea(m, area, WordSize.BITS_64);
            vm.domain().raise(ipi);
            vm.resume(0);
            u = vm.awaitSync(0, 27);
            assertEquals(4, u.arg(1), "64-bit words again");
            vm.resume(0);
            vm.awaitDone(0);
        }
    }

    /**
     * The other direction of scenario 20, as a direct-boot kernel meets it: 32-bit protected mode
     * (paging off) first, where it maps shared_info, registers its runstate area, binds and sends
     * with the 32-bit ABI; then long mode, where its first 64-bit hypercall moves the layouts. The
     * guest checks each layout and reports on the console (test-pvh-xenabi).
     */
    @Test
    void scenario20_directBootGuestFrom32BitProtectedModeToLongMode() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (VirtualMachine vm = VirtualMachine.builder().name("scenario20-pvh").memory(32 << 20).console(console)
                .build()) {
            // no periodic runstate sampling (see OPTIONS): the guest checks its own record says running
            KvmXenPlatform platform = new KvmXenPlatform(vm, console, 0);
            try (XenDomain domain = new XenDomain(platform, XenDomain.Config.of(1))) {
                vm.setDispatcher(domain);
                DirectBoot.boot(vm, ElfImage.parse(Guests.image("test-pvh-xenabi")), null);
                vm.start();
                Vcpu.StopReason why = vm.vcpu(0).stopped().get(30, TimeUnit.SECONDS);
                String text = bytes.toString(StandardCharsets.UTF_8);
                assertEquals(0, platform.shutdownReason(), "SHUTDOWN_poweroff: every check passed; " + why + "\n"
                        + text);
                assertTrue(!text.contains("FAIL"), text);
                assertTrue(text.contains("32-bit layout: runstate record of 44 bytes ok"), text);
                assertTrue(text.contains("64-bit layout: runstate record of 48 bytes, across the page boundary ok"),
                        text);
                assertEquals(WordSize.BITS_64, domain.wordSize());
            }
        }
    }

    /**
     * The host's view of the guest's area in layout {@code w}, read as a guest reads it (again while
     * the domain's thread updates it): a vCPU's state (not offline: the domain's sampling may show a
     * vCPU waiting in a ucall as blocked), and state_entry_time the sum of the times.
     */
    static void assertArea(GuestMemory m, long gpa, WordSize w) {
        long entryAt = w == WordSize.BITS_64 ? 8 : 4;
        long timeAt = w == WordSize.BITS_64 ? 16 : 12;
        for (int attempt = 0; attempt < 1_000_000; attempt++) {
            long entry = m.getLong(gpa + entryAt);
            java.lang.invoke.VarHandle.acquireFence();
            int state = m.getInt(gpa);
            long sum = 0;
            for (int i = 0; i < 4; i++) {
                sum += m.getLong(gpa + timeAt + 8L * i);
            }
            java.lang.invoke.VarHandle.acquireFence();
            if ((entry >>> 63) != 0 || m.getLong(gpa + entryAt) != entry) {
                Thread.onSpinWait();
                continue; // an update in progress: read again, as the guest's protocol says
            }
            assertTrue(state >= 0 && state <= 2, w + ": state " + state + " is running, runnable or blocked");
            assertEquals(entry, sum, w + ": state_entry_time is the sum of the times, read in the " + w + " layout");
            return;
        }
        throw new AssertionError(w + ": the area stays in XEN_RUNSTATE_UPDATE");
    }
}

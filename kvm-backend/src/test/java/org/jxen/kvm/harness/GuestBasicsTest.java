package org.jxen.kvm.harness;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicReference;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenAbi;
import org.jxen.abi.XenErrno;
import org.jxen.guests.Guests;
import org.jxen.hypercalls.HypercallDispatcher;
import org.jxen.kvm.KvmRequired;
import org.jxen.kvm.PortHypercallPage;
import org.jxen.kvm.XenCpuidLeaves;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real guests under KVM: Xen detection, the hypercall page, hypercall arguments and results. */
class GuestBasicsTest {
    static final int TEST_HYPERCALL = 48; // arch_0, reserved by jxen's tests
    static final long TEST_RESULT = 0x5a5a5a5aL;

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    @Test
    void guestDetectsXenThroughCpuid() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-cpuid"), SelftestVm.options())) {
            vm.start();
            Ucall u = vm.awaitSync(0, 1);
            assertEquals(0x40000000L, u.arg(1), "Xen leaves at the base");
            assertTrue(u.arg(2) >= 0x40000004L, "highest leaf");
            assertEquals(0x566e6558L, u.arg(3));
            assertEquals(0x65584d4dL, u.arg(4));
            assertEquals(0x4d4d566eL, u.arg(5));
            vm.resume(0);
            u = vm.awaitSync(0, 2);
            assertEquals((XenAbi.XEN_VERSION_MAJOR << 16) | XenAbi.XEN_VERSION_MINOR, u.arg(1));
            vm.resume(0);
            u = vm.awaitSync(0, 3);
            assertEquals(1, u.arg(1), "one hypercall page");
            assertEquals(XenCpuidLeaves.HYPERCALL_MSR, u.arg(2));
            vm.resume(0);
            u = vm.awaitSync(0, 4);
            assertEquals(0, u.arg(2), "vcpu id in base+4 EBX");
            vm.resume(0);
            vm.awaitDone(0);
        }
    }

    @Test
    void sixDistinctArgumentsInAndADistinctResultOut64Bit() throws Exception {
        AtomicReference<String> seen = new AtomicReference<>();
        HypercallDispatcher d = r -> {
            if (r.number() != TEST_HYPERCALL) {
                return -XenErrno.ENOSYS;
            }
            long[] want = {0x1111111111111111L, 0x2222222222222222L, 0x3333333333333333L, 0x4444444444444444L,
                0x5555555555555555L, 0x6666666666666666L};
            for (int i = 0; i < 6; i++) {
                if (r.arg(i) != want[i]) {
                    seen.set("argument " + i + " was 0x" + Long.toHexString(r.arg(i)));
                    return -XenErrno.EINVAL;
                }
            }
            if (r.wordSize() != WordSize.BITS_64 || r.cpl() != 0) {
                seen.set("word size " + r.wordSize() + " cpl " + r.cpl());
                return -XenErrno.EINVAL;
            }
            return TEST_RESULT;
        };
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-hypercall-args"), SelftestVm.options().dispatcher(d))) {
            vm.start();
            Ucall u = vm.awaitSync(0, 1);
            long pageGpa = u.arg(1);
            assertEquals(pageGpa, vm.vm().hypercallPageGpa(), "the MSR write placed the page where the guest said");
            try (Arena a = Arena.ofConfined()) {
                MemorySegment page = a.allocate(4096);
                assertTrue(vm.vm().memory().read(pageGpa, page));
                assertArrayEquals(PortHypercallPage.bytes(), page.toArray(ValueLayout.JAVA_BYTE));
            }
            vm.resume(0);
            Ucall r = vm.awaitSync(0, 2);
            assertEquals(TEST_RESULT, r.arg(1), () -> "guest got 0x" + Long.toHexString(r.arg(1)) + "; host saw "
                    + seen.get());
            vm.resume(0);
            vm.awaitDone(0);
            assertNull(seen.get());
        }
    }

    @Test
    void unknownHypercallGetsEnosys() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-hypercall-enosys"), SelftestVm.options())) {
            vm.start();
            Ucall u;
            while ((u = vm.awaitUcall(0)).command() == Ucall.Command.SYNC) {
                vm.resume(0);
            }
            assertEquals(Ucall.Command.DONE, u.command());
        }
    }

    @Test
    void hypercallPageMsrAndEveryEntryAsTheGuestSeesThem() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-hypercall-page"), SelftestVm.options())) {
            vm.start();
            Ucall u = vm.awaitSync(0, 1);
            assertEquals(XenCpuidLeaves.HYPERCALL_MSR, u.arg(1), "the MSR from CPUID base+2");
            long pageGpa = u.arg(2);
            vm.resume(0);
            u = vm.awaitSync(0, 2); // the guest checked all 128 entries before this
            assertEquals(pageGpa, vm.vm().hypercallPageGpa());
            assertEquals(0xc3e4e7000000_00b8L, u.arg(1), "entry 0: mov $0,%eax; out %eax,$0xe4; ret");
            assertEquals(0x0b0fL, u.arg(2) & 0xffff, "entry 23 (iret): ud2");
            vm.resume(0);
            vm.awaitSync(0, 3);
            vm.resume(0);
            vm.awaitDone(0);
        }
    }

    @Test
    void theBenchmarkGuestLoopsOnHypercalls() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("bench-hypercall"), SelftestVm.options())) {
            vm.start();
            long slot = vm.ucallSlotGpa(0);
            vm.awaitSync(0, 1);
            vm.vm().memory().putLong(slot + 8, 2000);
            vm.resume(0);
            Ucall u = vm.awaitSync(0, 2);
            assertEquals(2000, u.arg(1));
            assertEquals(0, u.arg(3), "every call returned -ENOSYS");
            assertTrue(vm.vm().vcpu(0).hypercallCount() >= 2000);
            vm.resume(0);
            vm.awaitSync(0, 1);
            vm.vm().memory().putLong(slot + 8, 0x57095709L);
            vm.resume(0);
            vm.awaitDone(0);
        }
    }

    @Test
    void aFailingGuestAssertReachesTheHostWithFileLineAndValues() throws Exception {
        HypercallDispatcher wrong = r -> 0x1234; // not the 0x5a5a5a5a the guest expects
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-hypercall-args"),
                SelftestVm.options().dispatcher(wrong))) {
            vm.start();
            vm.awaitSync(0, 1);
            vm.resume(0);
            Ucall r = vm.awaitSync(0, 2);
            assertEquals(0x1234, r.arg(1));
            vm.resume(0);
            AssertionError e = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> vm.awaitUcall(0));
            assertTrue(e.getMessage().contains("test-hypercall-args.c:"), e.getMessage());
            assertTrue(e.getMessage().contains("0x1234") && e.getMessage().contains("0x5a5a5a5a"), e.getMessage());
            assertEquals(org.jxen.kvm.Vcpu.StopReason.Kind.GUEST,
                    vm.vm().vcpu(0).stopped().get(5, java.util.concurrent.TimeUnit.SECONDS).kind());
        }
    }
}

package org.jxen.kvm.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.jxen.kvm.KvmRequired;
import org.jxen.kvm.Vcpu;
import org.jxen.guests.Guests;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Instructions of a guest kernel that KVM's emulator cannot do (guest test-emulation-gaps, at CPL 0):
 * {@code int3} and {@code fwait} behave as on hardware on every host (natively, or completed by jxen
 * where KVM emulates guest kernel code); {@code lock cmpxchg16b} either works or, where KVM must
 * emulate it and cannot, stops the vCPU with a report that names the instruction and the memory
 * it touches, never a VMM crash.
 */
class EmulationGapsTest {
    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    @Test
    void int3AndFwaitBehaveAsOnHardwareAndCmpxchg16bWorksOrIsReported() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-emulation-gaps"), SelftestVm.options())) {
            vm.start();
            Ucall u = vm.awaitSync(0, 1);
            assertEquals(1, u.arg(1), "one #BP");
            assertEquals(u.arg(3), u.arg(2), "#BP saw the RIP after the int3");
            vm.resume(0);
            u = vm.awaitSync(0, 2);
            assertEquals(0, u.arg(1), "fwait without TS raised nothing");
            vm.resume(0);
            u = vm.awaitSync(0, 3);
            assertEquals(1, u.arg(1), "fwait with TS and MP raised #NM once");
            assertEquals(0, u.arg(2), "the handler cleared TS");
            vm.resume(0);
            Vcpu v = vm.vm().vcpu(0);
            Map<String, Long> completed = v.completedInstructions();
            System.out.println("EmulationGapsTest: instructions jxen completed for KVM: " + completed);
            if (!completed.isEmpty()) {
                assertEquals(1L, completed.get("int3"), completed.toString());
                // the plain fwait, the one that raised #NM, and the same one again after the handler
                assertEquals(3L, completed.get("fwait"), completed.toString());
            }
            Ucall last = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (last == null && v.state() != Vcpu.State.STOPPED && System.nanoTime() < deadline) {
                last = vm.pollUcall(0);
                Thread.sleep(10);
            }
            if (last == null && v.state() == Vcpu.State.STOPPED) {
                String why = v.stopReason().detail();
                System.out.println("EmulationGapsTest: this host's KVM cannot emulate cmpxchg16b: " + why);
                assertEquals(Vcpu.StopReason.Kind.ERROR, v.stopReason().kind());
                assertTrue(why.startsWith("KVM could not emulate the instruction at rip 0x"), why);
                assertTrue(why.contains("(cpl 0, 64-bit code): f0 48 0f c7 "), why);
                assertTrue(why.contains("(opcode 0f c7 /1, REX.W, lock); memory operand ["), why);
                assertTrue(why.matches(".* -> gpa 0x[0-9a-f]+, in memslot \\d+ \\(.*\\)"), why);
                return;
            }
            assertTrue(last != null, "no ucall and no stop within 20 s");
            assertEquals(4, last.arg(0), last.toString());
            assertEquals(1, last.arg(1), "swapped");
            assertEquals(1, last.arg(2));
            assertEquals(2, last.arg(3));
            vm.resume(0);
            vm.awaitDone(0);
        }
    }
}

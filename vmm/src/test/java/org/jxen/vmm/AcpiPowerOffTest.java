package org.jxen.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest powers off and resets as an ACPI guest does, from the tables alone (guest test-pvh-acpi):
 * from {@code hvm_start_info.rsdp_paddr} through the XSDT to the hardware-reduced FADT, the DSDT's
 * {@code \_S5} and the MADT; then S5 to the FADT's sleep control register (status 0, poweroff) or the
 * reset value to its reset register (status 11, reboot). End to end under KVM.
 */
class AcpiPowerOffTest {
    @TempDir
    Path dir;

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    @Test
    void sleepTypeFiveThroughTheSleepControlRegisterPowersOff() throws Exception {
        Jxen.Result r = Jxen.run("run", "--vcpus", "2", Jxen.guestFile(dir, "test-pvh-acpi").toString());
        String out = r.out();
        assertTrue(out.contains("acpi: RSDP rev 2 at e0000, XSDT at e0030 with 2 tables"), r.toString());
        assertTrue(out.contains("acpi: FACP rev 6 hardware-reduced, DSDT 50 bytes, APIC with 2 local APICs"),
                r.toString());
        assertTrue(out.contains("acpi: \\_S5 sleep type 5; sleep control register: I/O port 0xe6; powering off"),
                r.toString());
        assertTrue(!out.contains("FAILED"), r.toString());
        assertEquals(0, r.status(), "SHUTDOWN_poweroff: " + r);
    }

    @Test
    void theResetValueThroughTheResetRegisterReboots() throws Exception {
        Jxen.Result r = Jxen.run("run", "--cmdline", "reset", Jxen.guestFile(dir, "test-pvh-acpi").toString());
        assertTrue(r.out().contains("acpi: reset register: I/O port 0xe8, value 1; resetting"), r.toString());
        assertTrue(!r.out().contains("FAILED"), r.toString());
        assertEquals(11, r.status(), "SHUTDOWN_reboot: " + r);
        assertTrue(r.err().contains("reboot (SHUTDOWN_reboot)"), r.toString());
    }
}

package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.jxen.kvm.boot.AcpiTables;
import org.junit.jupiter.api.Test;

class AcpiSleepRegistersTest {
    @Test
    void softOffPowersOffTheResetValueReboots() {
        List<Integer> reasons = new ArrayList<>();
        AcpiSleepRegisters r = new AcpiSleepRegisters((vcpu, reason) -> reasons.add(reason));
        r.out(null, AcpiTables.SLEEP_CONTROL_PORT, 1, 0x14); // SLP_TYP 5 without SLP_EN: nothing
        r.out(null, AcpiTables.SLEEP_CONTROL_PORT, 1, 0x24); // SLP_EN with SLP_TYP 1 (S1): not offered
        assertEquals(List.of(), reasons);
        r.out(null, AcpiTables.SLEEP_CONTROL_PORT, 1, (5 << 2) | (1 << 5)); // what Linux writes for S5
        assertEquals(List.of(0), reasons, "SHUTDOWN_poweroff");
        r.out(null, AcpiTables.RESET_PORT, 1, 2);
        r.out(null, AcpiTables.SLEEP_STATUS_PORT, 1, 0x34);
        assertEquals(List.of(0), reasons, "other values and the status register do nothing");
        r.out(null, AcpiTables.RESET_PORT, 1, AcpiTables.RESET_VALUE);
        assertEquals(List.of(0, 1), reasons, "SHUTDOWN_reboot");
        assertEquals(0, r.in(null, AcpiTables.SLEEP_STATUS_PORT, 1));
    }
}

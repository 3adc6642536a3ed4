package org.jxen.kvm;

import org.jxen.abi.ShutdownReason;
import org.jxen.kvm.boot.AcpiTables;

/**
 * The hardware-reduced ACPI registers that {@link AcpiTables}' FADT points a guest at, as I/O ports:
 * writing {@code SLP_EN} (bit 5) with {@code SLP_TYP} 5 (bits 2-4; {@code _S5}, soft off) to the
 * sleep control register powers the domain off, writing the reset value to the reset register
 * reboots it; the sleep status register reads 0. Other sleep types (S1 to S4) are ignored: the
 * guest's write has no effect, as on a platform without them. This is how an ACPI guest such as
 * Linux powers off a PVH domain here ({@code reboot(RB_POWER_OFF)}), where no other device would.
 *
 * <p>Threads: vCPU threads; {@code shutdown} is called on the writing vCPU's thread.
 */
public final class AcpiSleepRegisters implements PortHandler {
    /** SLP_EN. */
    static final int SLEEP_ENABLE = 1 << 5;

    /** Shuts the domain down with a {@code SHUTDOWN_*} reason, on behalf of {@code vcpu}. */
    public interface Shutdown {
        void shutdown(Vcpu vcpu, int reason);
    }

    private final Shutdown shutdown;

    public AcpiSleepRegisters(Shutdown shutdown) {
        this.shutdown = shutdown;
    }

    /** Registers this handler on {@code vm} for the three ports. */
    public static void install(VirtualMachine vm, Shutdown shutdown) {
        AcpiSleepRegisters r = new AcpiSleepRegisters(shutdown);
        vm.setPortHandler(AcpiTables.SLEEP_CONTROL_PORT, r);
        vm.setPortHandler(AcpiTables.SLEEP_STATUS_PORT, r);
        vm.setPortHandler(AcpiTables.RESET_PORT, r);
    }

    @Override
    public void out(Vcpu vcpu, int port, int size, int value) {
        if (port == AcpiTables.SLEEP_CONTROL_PORT) {
            if ((value & SLEEP_ENABLE) != 0 && ((value >> 2) & 7) == AcpiTables.S5_SLEEP_TYPE) {
                shutdown.shutdown(vcpu, ShutdownReason.POWEROFF);
            }
        } else if (port == AcpiTables.RESET_PORT) {
            if ((value & 0xff) == AcpiTables.RESET_VALUE) {
                shutdown.shutdown(vcpu, ShutdownReason.REBOOT);
            }
        }
    }

    @Override
    public int in(Vcpu vcpu, int port, int size) {
        return 0;
    }
}

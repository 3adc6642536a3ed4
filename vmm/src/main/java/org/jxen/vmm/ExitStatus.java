package org.jxen.vmm;

import org.jxen.abi.ShutdownReason;

/**
 * The exit status of {@code jxen}: what became of the guest, or why it could not run. Documented
 * in docs/usage.md. Stateless.
 *
 * <pre>
 *   0   the guest powered off (SHUTDOWN_poweroff); also a command that is not {@code run}
 *   1   jxen could not run the guest: no usable /dev/kvm, the kernel file is missing or is not a
 *       bootable ELF, guest memory too small for it, a feature missing from this build
 *   2   a bad command line (unknown option, bad value)
 *   3   the guest stopped without shutting down (triple fault, a KVM error, a vCPU failure)
 *  11   SHUTDOWN_reboot        12  SHUTDOWN_suspend     13  SHUTDOWN_crash
 *  14   SHUTDOWN_watchdog      15  SHUTDOWN_soft_reset  19  any other shutdown reason
 * 130   interrupted (Ctrl-C): jxen stopped the VM
 * </pre>
 */
final class ExitStatus {
    static final int POWEROFF = 0;
    static final int CANNOT_RUN = 1;
    static final int USAGE = 2;
    static final int STOPPED_WITHOUT_SHUTDOWN = 3;
    static final int OTHER_SHUTDOWN = 19;
    static final int INTERRUPTED = 130;

    private ExitStatus() {
    }

    /** The status for a guest that shut down with {@code SHUTDOWN_*} reason {@code reason}. */
    static int ofShutdown(int reason) {
        return switch (reason) {
            case ShutdownReason.POWEROFF -> POWEROFF;
            case ShutdownReason.REBOOT, ShutdownReason.SUSPEND, ShutdownReason.CRASH, ShutdownReason.WATCHDOG,
                    ShutdownReason.SOFT_RESET -> 10 + reason;
            default -> OTHER_SHUTDOWN;
        };
    }
}

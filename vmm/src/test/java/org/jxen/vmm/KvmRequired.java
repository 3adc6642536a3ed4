package org.jxen.vmm;

import static org.junit.jupiter.api.Assertions.fail;

import org.jxen.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;

/**
 * Skips a test loudly where /dev/kvm is not usable; in CI (CI=true) that is a failure instead.
 * The same rule as kvm-backend's test helper, which is not on this module's test classpath.
 */
final class KvmRequired {
    private KvmRequired() {
    }

    static void assumeKvm() {
        String cause = Kvm.unavailabilityCause();
        if (cause == null) {
            return;
        }
        if ("true".equals(System.getenv("CI"))) {
            fail("CI=true but KVM is not usable: " + cause);
        }
        System.err.println("SKIPPED: KVM test: KVM is not usable here: " + cause);
        Assumptions.assumeTrue(false, "KVM is not usable: " + cause);
    }
}

package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Assumptions;

/** Skips a test loudly where /dev/kvm is missing; in CI (CI=true) that is a failure instead. */
public final class KvmRequired {
    private KvmRequired() {
    }

    public static void assumeKvm() {
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

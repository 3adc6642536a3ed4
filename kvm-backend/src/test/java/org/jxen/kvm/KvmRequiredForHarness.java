package org.jxen.kvm;

/** {@link KvmRequired} for tests in other packages. */
public final class KvmRequiredForHarness {
    private KvmRequiredForHarness() {
    }

    public static void assumeKvm() {
        KvmRequired.assumeKvm();
    }
}

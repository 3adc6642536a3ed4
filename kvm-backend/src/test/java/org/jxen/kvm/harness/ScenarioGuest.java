package org.jxen.kvm.harness;

import java.time.Duration;
import org.jxen.gpc.HostMemory;
import org.jxen.guests.Guests;
import org.jxen.kvm.boot.ElfImage;
import org.jxen.kvm.boot.LoadSegment;

/**
 * What the scenario tests do with their guests besides {@link SelftestVm}: reply into the ucall
 * slot, and map the guest image at virtual = physical for guests that make hypercalls in
 * compatibility mode (guests/src/main/c/lib/compat32.h).
 *
 * <p>Threads: the test thread, while the vCPU waits at a SYNC (or before it starts).
 */
final class ScenarioGuest {
    /** Offset of {@code args[0]} in a ucall slot. */
    static final long ARGS = 8;

    private ScenarioGuest() {
    }

    /** A VM with jxen's Xen domain for guest {@code name}, not started. */
    static SelftestVm create(String name) throws Exception {
        return SelftestVm.create(Guests.image(name), SelftestVm.options().xenDomain());
    }

    /**
     * Writes {@code values} into {@code args[0..]} of vCPU {@code vcpu}'s slot: the guest reads
     * them when its SYNC returns. Call before {@link SelftestVm#resume}.
     */
    static void reply(SelftestVm vm, int vcpu, long... values) {
        long slot = vm.ucallSlotGpa(vcpu);
        for (int i = 0; i < values.length; i++) {
            vm.vm().memory().putLong(slot + ARGS + 8L * i, values[i]);
        }
    }

    /** Awaits SYNC(1), answers {@code values} and resumes. */
    static void choose(SelftestVm vm, long... values) {
        vm.awaitSync(0, 1);
        reply(vm, 0, values);
        vm.resume(0);
    }

    /**
     * Maps every page of the image's physical range also at virtual = physical (supervisor,
     * writable), before the VM starts: compatibility-mode code runs there.
     */
    static void identityMapImage(SelftestVm vm, String name) throws Exception {
        ElfImage image = ElfImage.parse(Guests.image(name));
        long lo = Long.MAX_VALUE;
        long hi = 0;
        for (LoadSegment s : image.segments()) {
            lo = Math.min(lo, s.physicalAddress());
            hi = Math.max(hi, s.physicalAddress() + s.memorySize());
        }
        long page = HostMemory.PAGE_SIZE;
        lo &= ~(page - 1);
        hi = (hi + page - 1) & ~(page - 1);
        if (hi > (1L << 32)) {
            throw new IllegalStateException(name + ": image above 4 GiB cannot run compatibility-mode code");
        }
        vm.pageTables().map(lo, lo, hi - lo, true, false);
    }

    /** Polls {@code condition} until it holds or {@code timeout} passes; returns whether it held. */
    static boolean await(java.util.function.BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.sleep(1);
        }
        return true;
    }
}

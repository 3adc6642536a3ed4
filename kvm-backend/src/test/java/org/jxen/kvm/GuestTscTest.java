package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jxen.hypercalls.time.GuestTsc;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The host TSC read from Java and the guest TSC facts read from KVM. The rates are measured over
 * a sleep, which a loaded host only makes longer (both clocks keep counting), so the bounds do not
 * depend on timing.
 */
class GuestTscTest {

    static void assumeHostTsc() {
        if (!HostTsc.isAvailable()) {
            System.err.println("SKIPPED: GuestTscTest: " + HostTsc.unavailabilityCause());
            Assumptions.assumeTrue(false, HostTsc.unavailabilityCause());
        }
    }

    @Test
    void theHostTscIncreasesAndItsSamplesPairItWithTheMonotonicClock() throws Exception {
        assumeHostTsc();
        long a = HostTsc.read();
        long b = HostTsc.read();
        assertTrue(b > a, a + " then " + b);
        GuestTsc.Sample s1 = HostTsc.sample();
        Thread.sleep(200);
        GuestTsc.Sample s2 = HostTsc.sample();
        assertTrue(s2.tsc() > s1.tsc() && s2.monotonicNanos() > s1.monotonicNanos());
        double mhz = (s2.tsc() - s1.tsc()) * 1e3 / (s2.monotonicNanos() - s1.monotonicNanos());
        System.out.printf("GuestTscTest: host TSC %.3f MHz against CLOCK_MONOTONIC; tightest rdtsc/nanoTime/rdtsc "
                + "bracket %d ticks%n", mhz, HostTsc.tightestBracket(100));
        assertTrue(mhz > 100 && mhz < 10_000, "a TSC between 100 MHz and 10 GHz: " + mhz);
    }

    @Test
    void kvmsTscFrequencyIsTheRateOfTheHostTscAndTheOffsetIsKnown() throws Exception {
        KvmRequired.assumeKvm();
        assumeHostTsc();
        try (VirtualMachine vm = VirtualMachine.builder().vcpus(2).console(null).build()) {
            GuestTsc tsc = vm.guestTsc();
            assertNotNull(tsc, "KVM_GET_TSC_KHZ is available");
            KvmGuestTsc kvmTsc = (KvmGuestTsc) tsc;
            GuestTsc.Sample s1 = tsc.sample();
            Thread.sleep(300);
            GuestTsc.Sample s2 = tsc.sample();
            double khz = (s2.tsc() - s1.tsc()) * 1e6 / (s2.monotonicNanos() - s1.monotonicNanos());
            double ppm = (khz - tsc.frequencyKhz()) / tsc.frequencyKhz() * 1e6;
            System.out.printf("GuestTscTest: %s; measured %.1f kHz (%+.1f ppm)%n", tsc, khz, ppm);
            assertTrue(Math.abs(ppm) < 1000, "KVM_GET_TSC_KHZ " + tsc.frequencyKhz() + " vs measured " + khz);
            assertEquals(tsc.offset(0), tsc.offset(1), "KVM synchronises the TSCs of vCPUs created together");
            // the estimate from IA32_TSC agrees with KVM's offset to within one ioctl's duration
            long estimate = KvmGuestTsc.estimateOffset(vm.vcpu(0).kvmVcpu());
            long ticksPerMs = tsc.frequencyKhz();
            System.out.printf("GuestTscTest: offset %d from KVM_VCPU_TSC_OFFSET=%b, %d estimated from IA32_TSC%n",
                    tsc.offset(0), kvmTsc.offsetsFromKvm(), estimate);
            assertTrue(Math.abs(estimate - tsc.offset(0)) < 10 * ticksPerMs, "estimate " + estimate);
        }
    }
}

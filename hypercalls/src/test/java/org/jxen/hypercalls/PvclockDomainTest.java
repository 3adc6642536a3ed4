package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jxen.abi.Hypercall;
import org.jxen.abi.PvClock;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuOp;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenFeature;
import org.jxen.abi.XenVersion;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.mm.PagingState;
import org.jxen.hypercalls.testing.DomainDriver;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;
import org.jxen.hypercalls.time.GuestTsc;
import org.jxen.hypercalls.time.TscScale;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The pvclock through the domain, in-process: a platform whose monotonic clock the test moves by
 * hand and a fake TSC that follows it exactly, so that the guest's computation from the written
 * pvclock can be compared with Xen system time to the nanosecond.
 */
class PvclockDomainTest {
    static final long RAM = 1 << 20;
    static final long ARGS = 0x10000;
    static final long SHARED_INFO_GFN = 0x20;
    static final long SECOND = 1_000_000_000L;
    static final long KHZ = 2_600_000;
    static final long TIME = 32; // vcpu_info.time

    /** A TSC at {@code hz} that follows the platform's clock exactly; vCPU i reads it plus {@code offsets[i]}. */
    static final class FakeTsc implements GuestTsc {
        final TestPlatform platform;
        final long hz;
        final long tsc0 = 0x1234_5678_9abcL;
        final long[] offsets;
        final boolean stable;

        FakeTsc(TestPlatform platform, long hz, boolean stable, long... offsets) {
            this.platform = platform;
            this.hz = hz;
            this.stable = stable;
            this.offsets = offsets;
        }

        long at(long ns) {
            return tsc0 + ns / SECOND * hz + (ns % SECOND) * hz / SECOND;
        }

        /** What vCPU {@code vcpu}'s rdtsc returns now. */
        long rdtsc(int vcpu) {
            return at(platform.now) + offsets[vcpu];
        }

        @Override
        public long frequencyKhz() {
            return KHZ;
        }

        @Override
        public Sample sample() {
            long ns = platform.now;
            return new Sample(at(ns), ns);
        }

        @Override
        public long offset(int vcpuId) {
            return offsets[vcpuId];
        }

        @Override
        public boolean stable() {
            return stable;
        }
    }

    /** The in-memory platform with a hand-moved clock, a chosen paging state and guest TSC. */
    static final class TestPlatform extends InMemoryXenPlatform {
        volatile long now = 1_000 * SECOND;
        volatile GuestTsc tsc;

        TestPlatform() {
            super("pvclock-test", UpcallSink.ACCEPT, Console.DROP);
            addRam(0, RAM);
        }

        @Override
        public long monotonicNanos() {
            return now;
        }

        @Override
        public GuestTsc guestTsc() {
            return tsc;
        }
    }

    /** A pvclock as the guest reads it from guest memory. */
    record Pvclock(int version, long tscTimestamp, long systemTime, int mul, int shift, int flags) {
        static Pvclock at(GuestMemory m, long gpa) {
            return new Pvclock(m.getInt(gpa), m.getLong(gpa + 8), m.getLong(gpa + 16), m.getInt(gpa + 24),
                    m.getByte(gpa + 28), m.getByte(gpa + 29) & 0xff);
        }

        /** The guest's Xen system time at its TSC value {@code tsc}. */
        long systemTimeAt(long tsc) {
            return systemTime + TscScale.scale(tsc - tscTimestamp, mul, shift);
        }

        Pvclock withoutVersion() {
            return new Pvclock(0, tscTimestamp, systemTime, mul, shift, flags);
        }
    }

    TestPlatform platform;
    FakeTsc tsc;
    XenDomain domain;
    DomainDriver guest;

    void start(long hz, boolean stable, long... offsets) {
        platform = new TestPlatform();
        if (hz > 0) {
            tsc = new FakeTsc(platform, hz, stable, offsets);
            platform.tsc = tsc;
        }
        domain = new XenDomain(platform, XenDomain.Config.of(offsets.length == 0 ? 2 : offsets.length));
        guest = new DomainDriver(domain, platform.memory(), ARGS);
    }

    @AfterEach
    void tearDown() {
        if (domain != null) {
            domain.close();
            platform.close();
        }
    }

    long call(int nr, long a0, long a1, long a2) {
        return guest.call(nr, a0, a1, a2);
    }

    long call32(int nr, long a0, long a1, long a2) {
        return guest.call(WordSize.BITS_32, nr, a0, a1, a2);
    }

    void mapSharedInfo() {
        guest.mapSharedInfo(SHARED_INFO_GFN);
    }

    long vcpuInfoTimeInSharedInfo(int vcpu) {
        return (SHARED_INFO_GFN << 12) + SharedInfo.offsetOfVcpuInfo(WordSize.BITS_64, vcpu) + TIME;
    }

    Pvclock pvclock(long gpa) {
        return Pvclock.at(platform.memory(), gpa);
    }

    static void assertEvenAndWritten(Pvclock p) {
        assertTrue(p.version() != 0 && p.version() % 2 == 0, "version even and non-zero: " + p);
    }

    /** The guest's clock on vCPU {@code vcpu} from the pvclock at {@code gpa}, minus Xen system time, now. */
    long guestMinusHost(long gpa, int vcpu) {
        return pvclock(gpa).systemTimeAt(tsc.rdtsc(vcpu)) - domain.systemTime();
    }

    @Test
    void mappingSharedInfoWritesEveryVcpusPvclockAndTheGuestComputesXenSystemTime() {
        start(KHZ * 1000, true, 0, 0);
        assertEquals(0, pvclock(vcpuInfoTimeInSharedInfo(0)).version(), "nothing before shared_info is mapped");
        mapSharedInfo();
        for (int v = 0; v < 2; v++) {
            Pvclock p = pvclock(vcpuInfoTimeInSharedInfo(v));
            assertEvenAndWritten(p);
            assertEquals(PvClock.TSC_STABLE, p.flags());
            assertEquals(TscScale.forFrequency(KHZ * 1000), new TscScale(p.mul(), p.shift()));
            assertEquals(0, guestMinusHost(vcpuInfoTimeInSharedInfo(v), v), 1);
        }
        // the guest extrapolates with its TSC between updates
        for (long step : new long[] {1, 999_999, 300_000_000L, 700_000_000L}) {
            platform.now += step;
            assertEquals(0, guestMinusHost(vcpuInfoTimeInSharedInfo(0), 0), 2, "after " + step + " ns");
        }
        // HVMOP_get_time reads the same clock
        assertEquals(0, call(Hypercall.HVM_OP, org.jxen.abi.HvmOp.GET_TIME, ARGS, 0));
        assertEquals(platform.now, platform.memory().getLong(ARGS));
    }

    @Test
    void registeringVcpuInfoWritesItsPvclockAtOnceAndVcpusWithOtherTscOffsetsAgree() {
        start(KHZ * 1000, true, 0, -987_654_321_000L);
        mapSharedInfo();
        long gpa = (0x30L << 12) + 0x48; // a non-zero offset inside the page
        platform.memory().putLong(ARGS + 0x100, 0x30);
        platform.memory().putInt(ARGS + 0x108, 0x48);
        platform.now += 123_456_789L;
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_INFO, 1, ARGS + 0x100));
        Pvclock p = pvclock(gpa + TIME);
        assertEvenAndWritten(p);
        assertEquals(platform.now, p.systemTimeAt(tsc.rdtsc(1)), 1, "in vCPU 1's TSC");
        platform.now += 400_000_000L;
        long v0 = pvclock(vcpuInfoTimeInSharedInfo(0)).systemTimeAt(tsc.rdtsc(0));
        long v1 = p.systemTimeAt(tsc.rdtsc(1));
        assertEquals(v0, v1, "both vCPUs compute the same system time at the same instant");
        assertEquals(platform.now, v1, 2);
    }

    @Test
    void eachCalibrationKeepsTheVersionsEvenAndTheGuestOnTheHostClock() {
        long ppm = 50; // the TSC runs 50 ppm faster than its nominal frequency says
        start(KHZ * 1000 + ppm * KHZ / 1000, true, 0, 0);
        mapSharedInfo();
        long gpa = vcpuInfoTimeInSharedInfo(0);
        int version = pvclock(gpa).version();
        long worstAfterFirst = 0;
        for (int k = 1; k <= 6; k++) {
            platform.now += SECOND;
            Pvclock before = pvclock(gpa);
            long guestBefore = before.systemTimeAt(tsc.rdtsc(0));
            if (k == 1) {
                assertEquals(ppm * 1000, guestBefore - platform.now, 5, "the nominal rate was off by 50 ppm");
            } else {
                worstAfterFirst = Math.max(worstAfterFirst, Math.abs(guestBefore - platform.now));
            }
            domain.pvclocks().tick();
            Pvclock after = pvclock(gpa);
            assertEvenAndWritten(after);
            assertTrue(Integer.compareUnsigned(after.version(), version) > 0, "updated");
            version = after.version();
            assertEquals(guestBefore, after.systemTimeAt(tsc.rdtsc(0)), "no jump at the update");
            assertEquals(after.withoutVersion(), pvclock(vcpuInfoTimeInSharedInfo(1)).withoutVersion(),
                    "one reference for all vCPUs");
        }
        assertTrue(worstAfterFirst <= 3, "after the first calibration the guest is within " + worstAfterFirst + " ns");
    }

    @Test
    void guestStoppedIsKeptAndTscStableFollowsThePlatform() {
        start(KHZ * 1000, false, 0, 0);
        mapSharedInfo();
        long gpa = vcpuInfoTimeInSharedInfo(0);
        assertEquals(0, pvclock(gpa).flags(), "an unstable TSC: no TSC_STABLE");
        platform.memory().putByte(gpa + 29, (byte) PvClock.GUEST_STOPPED); // the guest's flag
        int version = pvclock(gpa).version();
        platform.now += SECOND;
        domain.pvclocks().tick();
        Pvclock p = pvclock(gpa);
        assertEvenAndWritten(p);
        assertNotEquals(version, p.version());
        assertEquals(PvClock.GUEST_STOPPED, p.flags(), "GUEST_STOPPED kept");
        platform.memory().putByte(gpa + 29, (byte) 0); // the guest clears it; the host does not set it again
        platform.now += SECOND;
        domain.pvclocks().tick();
        assertEquals(0, pvclock(gpa).flags());
    }

    @Test
    void timeMemoryAreaIsWrittenAtRegistrationAndEverySecondUntilUnregistered() {
        start(KHZ * 1000, true, 0, 0);
        mapSharedInfo();
        long area = 0x40000 + 0x80;
        platform.memory().putLong(ARGS + 0x200, area);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA, 0, ARGS + 0x200));
        Pvclock p = pvclock(area);
        assertEvenAndWritten(p);
        assertEquals(PvClock.TSC_STABLE, p.flags(), "Linux checks TSC_STABLE right after registering");
        assertEquals(pvclock(vcpuInfoTimeInSharedInfo(0)).withoutVersion(), p.withoutVersion(), "a copy of vcpu_info.time");
        platform.now += SECOND;
        domain.pvclocks().tick();
        Pvclock q = pvclock(area);
        assertEvenAndWritten(q);
        assertNotEquals(p.version(), q.version());
        assertEquals(pvclock(vcpuInfoTimeInSharedInfo(0)).withoutVersion(), q.withoutVersion());
        assertEquals(0, q.systemTimeAt(tsc.rdtsc(0)) - domain.systemTime(), 2);
        // 0 unregisters: no more writes
        platform.memory().putLong(ARGS + 0x200, 0);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA, 0, ARGS + 0x200));
        platform.now += SECOND;
        domain.pvclocks().tick();
        assertEquals(q, pvclock(area), "not written after unregistering");
        // vCPU 1's area, registered by vCPU 0, follows vCPU 1
        platform.memory().putLong(ARGS + 0x200, area + 0x100);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA, 1, ARGS + 0x200));
        assertEquals(pvclock(vcpuInfoTimeInSharedInfo(1)).withoutVersion(), pvclock(area + 0x100).withoutVersion());
    }

    @Test
    void timeMemoryAreaBadInputs() {
        start(KHZ * 1000, true, 0, 0);
        // crosses a page
        platform.memory().putLong(ARGS + 0x200, 0x40000 - 16);
        assertEquals(-XenErrno.EINVAL, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA, 0, ARGS + 0x200));
        // the argument itself unreadable
        assertEquals(-XenErrno.EFAULT, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA, 0, RAM + 0x1000));
        // no such vCPU
        platform.memory().putLong(ARGS + 0x200, 0x40000);
        assertEquals(-XenErrno.ENOENT, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA, 7, ARGS + 0x200));
        // paging on: not present, read-only, and a page mapped elsewhere
        long dir = 0x1000;
        long table = 0x2000;
        platform.memory().putInt(dir, (int) table | 0x7);
        for (long va = 0; va < RAM; va += 4096) {
            platform.memory().putInt(table + (va >> 12) * 4, (int) va | 0x3);
        }
        platform.memory().putInt(table + (0x50000 >> 12) * 4, 0); // not present
        platform.memory().putInt(table + (0x51000 >> 12) * 4, 0x51000 | 0x1); // read-only
        platform.memory().putInt(table + (0x60000 >> 12) * 4, 0x70000 | 0x3); // va 0x60000 -> pa 0x70000
        platform.setPagingState(PagingState.of(0x80010001L, dir, 0, 0, 0)); // PG, WP, PE: 2-level paging
        platform.memory().putLong(ARGS + 0x200, 0x50040);
        assertEquals(-XenErrno.EFAULT, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA, 0, ARGS + 0x200));
        platform.memory().putLong(ARGS + 0x200, 0x51040);
        assertEquals(-XenErrno.EFAULT, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA, 0, ARGS + 0x200));
        // a 32-bit guest passes a 4-byte address: the upper half is not read
        platform.memory().putLong(ARGS + 0x200, 0xdead_beef_0006_0040L);
        assertEquals(0, call32(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA, 0, ARGS + 0x200));
        assertEvenAndWritten(pvclock(0x70040));
        assertEquals(0, pvclock(0x60040).version(), "written through the guest's translation, not at the gva");
    }

    @Test
    void aPvclockThatCannotBeLockedIsWrittenWhenItCanBe() throws Exception {
        start(KHZ * 1000, true, 0, 0);
        // vcpu_info in a frame with no memory behind it yet (legal: the cache refreshes later)
        long gfn = (2 * RAM) >> 12;
        platform.memory().putLong(ARGS + 0x100, gfn);
        platform.memory().putInt(ARGS + 0x108, 0x40);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_INFO, 0, ARGS + 0x100));
        long before = domain.pvclocks().missedUpdates();
        assertTrue(before > 0, "could not be written");
        try (HostMemory more = HostMemory.offHeap("more", RAM)) {
            platform.memory().addSlot(1, 2 * RAM, RAM, more, 0, 0);
            long gpa = (gfn << 12) + 0x40 + TIME;
            long deadline = System.nanoTime() + 10 * SECOND;
            // the domain retries 10 ms later, then at every calibration period
            while (platform.memory().getInt(gpa) == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEvenAndWritten(pvclock(gpa));
            assertEquals(0, pvclock(gpa).systemTimeAt(tsc.rdtsc(0)) - domain.systemTime(), 2);
            domain.close(); // before its memory goes
            platform.memory().removeSlot(1);
        }
    }

    @Test
    void withoutAGuestTscNoPvclockIsWrittenAndNoneIsOffered() {
        start(0, false, 0, 0);
        mapSharedInfo();
        assertEquals(0, pvclock(vcpuInfoTimeInSharedInfo(0)).version());
        platform.memory().putLong(ARGS + 0x200, 0x40000);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA, 0, ARGS + 0x200));
        assertEquals(0, pvclock(0x40000).version());
        platform.memory().putInt(ARGS, 0);
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.GET_FEATURES, ARGS, 0));
        assertEquals(XenVersionOps.FEATURES, platform.memory().getInt(ARGS + 4));
        assertEquals(0, XenVersionOps.FEATURES & (1 << XenFeature.HVM_SAFE_PVCLOCK));
    }

    @Test
    void getFeaturesOffersTheSafePvclockWithAGuestTsc() {
        start(KHZ * 1000, true, 0, 0);
        platform.memory().putInt(ARGS, 0);
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.GET_FEATURES, ARGS, 0));
        assertEquals((1 << 0) | (1 << 2) | (1 << 8) | (1 << 9), platform.memory().getInt(ARGS + 4),
                "writable_page_tables, auto_translated_physmap, hvm_callback_vector, hvm_safe_pvclock; not hvm_pirqs (10)");
        platform.memory().putInt(ARGS, 1);
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.GET_FEATURES, ARGS, 0));
        assertEquals(0, platform.memory().getInt(ARGS + 4));
    }

    @Test
    void theWallClockIsRewrittenWhenTheHostsClocksMoveApart() {
        start(KHZ * 1000, true, 0, 0);
        mapSharedInfo();
        long si = SHARED_INFO_GFN << 12;
        int version = platform.memory().getInt(si + SharedInfo.offsetOfWcVersion(WordSize.BITS_64));
        long sec = platform.memory().getInt(si + SharedInfo.offsetOfWcSec(WordSize.BITS_64)) & 0xffff_ffffL;
        long mapped = System.nanoTime();
        platform.now += System.nanoTime() - mapped; // system time keeps pace with real time
        domain.pvclocks().tick(); // the clocks did not move apart: nothing to write
        assertEquals(version, platform.memory().getInt(si + SharedInfo.offsetOfWcVersion(WordSize.BITS_64)));
        // system time jumps 100 s ahead of real time: as if real time had been stepped back 100 s
        platform.now += 100 * SECOND;
        domain.pvclocks().tick();
        int v2 = platform.memory().getInt(si + SharedInfo.offsetOfWcVersion(WordSize.BITS_64));
        assertTrue(v2 != version && v2 % 2 == 0, "re-written: " + v2);
        long sec2 = platform.memory().getInt(si + SharedInfo.offsetOfWcSec(WordSize.BITS_64)) & 0xffff_ffffL;
        assertEquals(sec - 100, sec2, 1, "boot time moved back 100 s");
        long guestNow = sec2 + domain.systemTime() / SECOND;
        assertEquals(System.currentTimeMillis() / 1000, guestNow, 1, "the guest's time of day is the host's");
    }

    @Test
    void aConcurrentGuestReaderSeesEvenVersionsAndAClockThatNeverGoesBack() throws Exception {
        start(KHZ * 1000 + 300 * KHZ / 1000, true, 0, 0); // 300 ppm off: every calibration changes the rate
        mapSharedInfo();
        long gpa = vcpuInfoTimeInSharedInfo(0);
        var cache = platform.memory().newCache("reader");
        cache.activate(gpa, 32);
        java.util.concurrent.atomic.AtomicReference<String> error = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread reader = new Thread(() -> {
            // as a guest reads: version, rdtsc and the fields, version again
            long last = Long.MIN_VALUE;
            while (!stop.get()) {
                var m = cache.lock();
                try {
                    int v1 = m.getIntAcquire(0);
                    if ((v1 & 1) != 0) {
                        continue;
                    }
                    long tscNow = tsc.rdtsc(0);
                    long stamp = m.getLong(8);
                    long sys = m.getLong(16);
                    int mul = m.getInt(24);
                    int shift = m.getByte(28);
                    java.lang.invoke.VarHandle.loadLoadFence();
                    if (m.getInt(0) != v1) {
                        continue;
                    }
                    long t = sys + TscScale.scale(tscNow - stamp, mul, shift);
                    if (t < last) {
                        error.compareAndSet(null, "version " + v1 + " time " + t + " after " + last);
                    }
                    last = t;
                } finally {
                    cache.unlock();
                }
            }
        });
        reader.start();
        try {
            for (int k = 0; k < 2000; k++) {
                platform.now += 20_000_000L; // 20 ms a step, a calibration each step
                domain.pvclocks().tick();
            }
        } finally {
            stop.set(true);
            reader.join(30_000);
            cache.deactivate();
        }
        assertEquals(null, error.get());
    }
}

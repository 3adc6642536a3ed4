package org.jxen.hypercalls.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jxen.abi.PvClock;
import org.jxen.abi.VcpuTimeInfo;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.gpc.MappedArea;
import org.jxen.gpc.Memslot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The pvclock scale against exact arithmetic, and the vcpu_time_info version protocol. */
class TimeInfoWriterTest {
    static final long PAGE = HostMemory.PAGE_SIZE;
    static final BigInteger NS = BigInteger.valueOf(1_000_000_000L);

    HostMemory a;
    HostMemory b;
    GuestMemory memory;

    @BeforeEach
    void setUp() {
        a = HostMemory.offHeap("a", 2 * PAGE);
        b = HostMemory.offHeap("b", 2 * PAGE);
        memory = new GuestMemory("time");
        memory.addSlot(0, 0, 2 * PAGE, a, 0, 0);
        memory.addSlot(1, 2 * PAGE, 2 * PAGE, b, 0, 0);
    }

    @AfterEach
    void tearDown() {
        for (Memslot s : memory.currentMap().slots()) {
            memory.removeSlot(s.id());
        }
        a.close();
        b.close();
    }

    static List<Long> frequencies(long seed) {
        List<Long> f = new ArrayList<>(List.of(1_000_000_000L, 1_000_000_001L, 2_000_000_000L, 2_400_000_000L,
                2_899_999_999L, 3_000_000_000L, 4_294_967_295L, 4_294_967_296L, 4_294_967_297L, 5_000_000_000L));
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < 2000; i++) {
            f.add(r.nextLong(1_000_000_000L, 5_000_000_001L));
        }
        return f;
    }

    /** The guest's formula in BigInteger: ((delta shifted) * mul) >> 32. */
    static BigInteger exactFormula(long delta, TscScale s) {
        BigInteger d = BigInteger.valueOf(delta);
        d = s.shift() >= 0 ? d.shiftLeft(s.shift()) : d.shiftRight(-s.shift());
        return d.multiply(BigInteger.valueOf(s.mulUnsigned())).shiftRight(32);
    }

    @Test
    void scaleMatchesExactArithmeticWithin1usOver10sFrom1To5GHz() {
        long seed = System.nanoTime();
        System.out.println("TimeInfoWriterTest seed " + seed);
        SplittableRandom r = new SplittableRandom(seed ^ 0x5eed);
        for (long hz : frequencies(seed)) {
            TscScale s = TscScale.forFrequency(hz);
            assertTrue(s.mulUnsigned() >= (1L << 31) && s.mulUnsigned() < (1L << 32), () -> "mul not normalised " + s + " hz " + hz + " seed " + seed);
            // the effective rate mul * 2^shift / 2^32 is 1e9/hz to 2^-30 relative (mul's last bit
            // and the tick bit that a negative shift drops)
            BigDecimal rate = new BigDecimal(BigInteger.valueOf(s.mulUnsigned())).multiply(BigDecimal.valueOf(2).pow(s.shift() + 64, MathContext.DECIMAL128))
                    .divide(BigDecimal.valueOf(2).pow(96), MathContext.DECIMAL128);
            BigDecimal ideal = new BigDecimal(NS).divide(BigDecimal.valueOf(hz), MathContext.DECIMAL128);
            double rel = rate.subtract(ideal).abs().divide(ideal, MathContext.DECIMAL64).doubleValue();
            assertTrue(rel < 0x1p-30, () -> "rate off by " + rel + " at " + hz + " Hz seed " + seed);
            long tenSeconds = 10 * hz;
            for (int i = 0; i < 20; i++) {
                long ticks = i == 0 ? tenSeconds : i == 1 ? 0 : r.nextLong(tenSeconds + 1);
                long got = s.scale(ticks);
                assertEquals(exactFormula(ticks, s).longValueExact(), got, () -> "formula at " + hz + " seed " + seed);
                long exact = BigInteger.valueOf(ticks).multiply(NS).divide(BigInteger.valueOf(hz)).longValueExact();
                assertTrue(Math.abs(got - exact) < 1000, () -> "error " + (got - exact) + " ns at " + hz + " Hz, " + ticks + " ticks, seed " + seed);
            }
        }
    }

    @Test
    void scaleForLowAndHighFrequenciesUsesPositiveAndNegativeShifts() {
        TscScale low = TscScale.forFrequency(100_000_000L); // 100 MHz: 10 ns a tick
        assertTrue(low.shift() > 0);
        assertEquals(10_000_000_000L, low.scale(1_000_000_000L), 10);
        TscScale high = TscScale.forFrequency(5_000_000_000L);
        assertTrue(high.shift() < 0);
        assertEquals(1_000_000_000L, high.scale(5_000_000_000L), 1);
        TscScale one = TscScale.forFrequency(1_000_000_000L);
        assertEquals(1_000_000_000L, one.scale(1_000_000_000L), 1);
    }

    @Test
    void writeFollowsTheVersionProtocolAndKeepsGuestStopped() {
        GfnToPfnCache c = memory.newCache("vcpu_info");
        long gpa = 2 * PAGE - 64; // a vcpu_info at the end of the first slot; time at +32
        assertEquals(GpcStatus.OK, c.activate(gpa, 64));
        MappedArea m = c.lock();
        assertNotNull(m);
        try {
            TscScale s = TscScale.forFrequency(2_500_000_000L);
            int v = TimeInfoWriter.write(m, 32, 1000, 2000, s, true, false);
            assertEquals(2, v);
            assertEquals(2, m.getInt(32));
            assertEquals(PvClock.TSC_STABLE, m.getByte(32 + 29));
            m.putByte(32 + 29, (byte) (PvClock.GUEST_STOPPED)); // the guest's bit
            m.putInt(32, 7); // a stale odd version (a host crashed mid-update): the next is still even
            v = TimeInfoWriter.write(m, 32, 3000, 4000, s, false, false);
            assertEquals(10, v);
            TimeInfoWriter.Snapshot snap = TimeInfoWriter.read(m, 32, 10);
            assertEquals(new TimeInfoWriter.Snapshot(10, 3000, 4000, s.mul(), s.shift(), PvClock.GUEST_STOPPED), snap);
            v = TimeInfoWriter.write(m, 32, 5000, 6000, s, true, true);
            assertEquals(PvClock.GUEST_STOPPED | PvClock.TSC_STABLE, m.getByte(32 + 29));
            // the abi accessors see the same record
            try (var arena = java.lang.foreign.Arena.ofConfined()) {
                var seg = arena.allocate(32);
                m.copyTo(32, seg);
                assertEquals(v, VcpuTimeInfo.version(seg));
                assertEquals(5000, VcpuTimeInfo.tscTimestamp(seg));
                assertEquals(6000, VcpuTimeInfo.systemTime(seg));
                assertEquals(s.shift(), VcpuTimeInfo.tscShift(seg));
                assertEquals(s.mul(), VcpuTimeInfo.tscToSystemMul(seg));
            }
            // odd version: the guest does not read
            m.putInt(32, 13);
            assertEquals(null, TimeInfoWriter.read(m, 32, 5));
            m.putInt(32, -2); // wrap-around: even and non-zero
            assertEquals(2, TimeInfoWriter.write(m, 32, 1, 2, s, true, false));
        } finally {
            c.unlock();
        }
    }

    @Test
    void guestTimeFromThePvclockAgreesWithHostTimeOver10Seconds() {
        long seed = System.nanoTime();
        System.out.println("TimeInfoWriterTest guest-time seed " + seed);
        SplittableRandom r = new SplittableRandom(seed);
        GfnToPfnCache c = memory.newCache("time");
        assertEquals(GpcStatus.OK, c.activate(PAGE + 96, 32));
        for (int k = 0; k < 200; k++) {
            long hz = r.nextLong(1_000_000_000L, 5_000_000_001L);
            long tsc0 = r.nextLong(1L << 50);
            long sys0 = r.nextLong(1L << 50);
            TscScale s = TscScale.forFrequency(hz);
            MappedArea m = c.lock();
            try {
                TimeInfoWriter.write(m, 0, tsc0, sys0, s, true, false);
                TimeInfoWriter.Snapshot snap = TimeInfoWriter.read(m, 0, 10);
                for (int i = 0; i < 50; i++) {
                    long ticks = i == 0 ? 10 * hz : r.nextLong(10 * hz + 1);
                    long host = sys0 + BigInteger.valueOf(ticks).multiply(NS).divide(BigInteger.valueOf(hz)).longValueExact();
                    long guest = snap.systemTimeAt(tsc0 + ticks);
                    assertTrue(Math.abs(guest - host) <= 1000, () -> "guest " + guest + " host " + host + " at " + hz + " Hz, seed " + seed);
                }
            } finally {
                c.unlock();
            }
        }
    }

    @Test
    void aConcurrentGuestReaderNeverSeesATornPvclock() throws Exception {
        GfnToPfnCache c = memory.newCache("time");
        assertEquals(GpcStatus.OK, c.activate(PAGE, 32));
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> error = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            MappedArea m = c.lock();
            try {
                while (!stop.get()) {
                    TimeInfoWriter.Snapshot s = TimeInfoWriter.read(m, 0, 1000);
                    if (s != null && s.version() != 0 && (s.tscTimestamp() != s.version() * 3L || s.systemTime() != s.version() * 5L)) {
                        error.set("torn: " + s);
                    }
                }
            } finally {
                c.unlock();
            }
        });
        reader.start();
        MappedArea m = c.lock();
        try {
            TscScale s = TscScale.forFrequency(3_000_000_000L);
            for (int i = 0; i < 200_000; i++) {
                int next = (m.getInt(0) + 2) | 0;
                TimeInfoWriter.write(m, 0, next * 3L, next * 5L, s, true, false);
            }
        } finally {
            c.unlock();
        }
        stop.set(true);
        reader.join();
        assertEquals(null, error.get());
        assertFalse(reader.isAlive());
    }
}

package org.jxen.hypercalls.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The pvclock's calibration against a simulated host: a TSC that runs at its nominal rate or off it
 * by some parts per million, sampled with jitter. The guest's computation must stay on the host's
 * clock, never jump at an update, and never run backwards.
 */
class TimeCalibrationTest {
    static final long KHZ = 2_600_000;
    static final long NOMINAL_HZ = KHZ * 1000;
    static final long SECOND = 1_000_000_000L;
    /** Hz in one part per million of the nominal rate. */
    static final long PPM_HZ = NOMINAL_HZ / 1_000_000;

    /** A TSC that ticks at {@code hz} against the host's monotonic clock, from {@code tsc0} at ns 0. */
    record SimulatedTsc(long tsc0, long hz) {
        long at(long ns) {
            return tsc0 + ns / SECOND * hz + (ns % SECOND) * hz / SECOND;
        }

        GuestTsc.Sample sample(long ns) {
            return new GuestTsc.Sample(at(ns), ns);
        }
    }

    static List<Arguments> seeds() {
        long base = System.getProperty("jxen.seed") != null ? Long.parseLong(System.getProperty("jxen.seed"))
                : 0x7153_0000L;
        List<Arguments> a = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            a.add(Arguments.of(base + i));
        }
        return a;
    }

    @Test
    void theFirstSampleIsTheReferenceWithTheNominalScale() {
        TimeCalibration c = new TimeCalibration(KHZ);
        assertNull(c.reference());
        TimeCalibration.Result r = c.calibrate(new GuestTsc.Sample(123_456_789L, 5_000L));
        assertEquals(TimeCalibration.Outcome.FIRST, r.outcome());
        assertEquals(new TimeCalibration.Reference(123_456_789L, 5_000L, TscScale.forFrequency(NOMINAL_HZ)), r.reference());
        assertSame(r.reference(), c.reference());
        assertEquals(c.nominalScale(), TscScale.forFrequency(NOMINAL_HZ));
        assertEquals(5_000L + 1_000_000L, r.reference().systemTimeAt(123_456_789L + 2_600_000L), 1);
    }

    @Test
    void aTscAtItsNominalRateStaysWithinRoundingOfTheHostClock() {
        SimulatedTsc tsc = new SimulatedTsc(1L << 40, NOMINAL_HZ);
        TimeCalibration c = new TimeCalibration(KHZ);
        c.calibrate(tsc.sample(0));
        for (int k = 1; k <= 20; k++) {
            long ns = k * SECOND;
            TimeCalibration.Reference before = c.reference();
            TimeCalibration.Result r = c.calibrate(tsc.sample(ns));
            assertEquals(TimeCalibration.Outcome.SLEWED, r.outcome());
            assertTrue(Math.abs(r.errorNanos()) <= 2, "error " + r.errorNanos() + " ns at " + k + " s");
            assertEquals(before.systemTimeAt(tsc.at(ns)), r.reference().systemTime(), "continuous at the update");
            // between calibrations the guest's clock is on the host's within rounding
            for (long d = 0; d < SECOND; d += SECOND / 7) {
                long guest = r.reference().systemTimeAt(tsc.at(ns + d));
                assertTrue(Math.abs(guest - (ns + d)) <= 3, "guest " + guest + " host " + (ns + d));
            }
        }
    }

    @ParameterizedTest(name = "{0} ppm")
    @ValueSource(longs = {-400, -37, -1, 1, 37, 400})
    void aTscOffItsNominalRateIsCorrectedAfterOneCalibration(long ppm) {
        SimulatedTsc tsc = new SimulatedTsc(99, NOMINAL_HZ + ppm * PPM_HZ);
        TimeCalibration c = new TimeCalibration(KHZ);
        c.calibrate(tsc.sample(0));
        TimeCalibration.Result first = c.calibrate(tsc.sample(SECOND));
        // the nominal scale was off by ppm: the guest ran ahead (or behind) by about ppm microseconds
        assertEquals(ppm * 1000, first.errorNanos(), 2 + Math.abs(ppm) / 100);
        assertEquals(TimeCalibration.Outcome.SLEWED, first.outcome(), "a few hundred us is slewed, not stepped");
        for (int k = 2; k <= 10; k++) {
            TimeCalibration.Result r = c.calibrate(tsc.sample(k * SECOND));
            assertTrue(Math.abs(r.errorNanos()) <= 3, ppm + " ppm: error " + r.errorNanos() + " ns at " + k + " s");
        }
    }

    @Test
    void aGuestAheadIsSlewedAtMost500PpmAndNeverSteppedBack() {
        // a TSC 0.5 % faster than its nominal rate: after the first second the guest is 5 ms ahead
        SimulatedTsc tsc = new SimulatedTsc(0, NOMINAL_HZ + 5000 * PPM_HZ);
        TimeCalibration c = new TimeCalibration(KHZ);
        c.calibrate(tsc.sample(0));
        TimeCalibration.Reference prev = c.reference();
        for (int k = 1; k <= 14; k++) {
            long ns = k * SECOND;
            TimeCalibration.Result r = c.calibrate(tsc.sample(ns));
            assertEquals(TimeCalibration.Outcome.SLEWED, r.outcome());
            assertEquals(prev.systemTimeAt(tsc.at(ns)), r.reference().systemTime(), "no jump at " + k + " s");
            assertTrue(r.reference().systemTime() > prev.systemTime(), "monotonic");
            // each second removes 500 us of the 5 ms, no more
            long expected = Math.max(0, 5_000_000L - (k - 1) * 500_000L);
            assertEquals(expected, r.errorNanos(), 10, "at " + k + " s");
            prev = r.reference();
        }
        assertTrue(Math.abs(c.lastErrorNanos()) <= 10, "caught up: " + c.lastErrorNanos());
    }

    @Test
    void aGuestBehindByMoreThanAMillisecondIsSteppedForward() {
        SimulatedTsc tsc = new SimulatedTsc(0, NOMINAL_HZ);
        TimeCalibration c = new TimeCalibration(KHZ);
        c.calibrate(tsc.sample(0));
        long jump = 30_000_000; // the host's clock gained 30 ms on the TSC
        TimeCalibration.Result r = c.calibrate(new GuestTsc.Sample(tsc.at(SECOND), SECOND + jump));
        assertEquals(TimeCalibration.Outcome.STEPPED, r.outcome());
        assertEquals(-jump, r.errorNanos(), 2);
        assertEquals(SECOND + jump, r.reference().systemTime());
        // a smaller lag is slewed
        r = c.calibrate(new GuestTsc.Sample(tsc.at(2 * SECOND), 2 * SECOND + jump + 400_000));
        assertEquals(TimeCalibration.Outcome.SLEWED, r.outcome());
        assertEquals(-400_000, r.errorNanos(), 2);
    }

    @Test
    void samplesTooCloseTogetherChangeNothingAndABackwardCounterStartsAfresh() {
        SimulatedTsc tsc = new SimulatedTsc(1_000_000, NOMINAL_HZ);
        TimeCalibration c = new TimeCalibration(KHZ);
        TimeCalibration.Reference first = c.calibrate(tsc.sample(0)).reference();
        TimeCalibration.Result r = c.calibrate(tsc.sample(TimeCalibration.MIN_INTERVAL_NANOS - 1));
        assertEquals(TimeCalibration.Outcome.UNCHANGED, r.outcome());
        assertSame(first, r.reference());
        assertEquals(TimeCalibration.Outcome.SLEWED, c.calibrate(tsc.sample(TimeCalibration.MIN_INTERVAL_NANOS)).outcome());
        r = c.calibrate(new GuestTsc.Sample(5, 2 * SECOND));
        assertEquals(TimeCalibration.Outcome.RESET, r.outcome());
        assertEquals(new TimeCalibration.Reference(5, 2 * SECOND, c.nominalScale()), r.reference());
        assertThrows(IllegalArgumentException.class, () -> new TimeCalibration(0));
    }

    /**
     * Random rate errors, sampling jitter and irregular periods (a scheduler thread that runs late):
     * the guest's clock is within a microsecond of the host's from the fourth calibration on, is
     * continuous at every update and never decreases.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void randomRatesJitterAndLatePeriodsKeepTheGuestOnTheHostClock(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long ppm = rnd.nextLong(-200, 201);
        SimulatedTsc tsc = new SimulatedTsc(rnd.nextLong(1L << 50), NOMINAL_HZ + ppm * PPM_HZ);
        TimeCalibration c = new TimeCalibration(KHZ);
        long ns = rnd.nextLong(1L << 40);
        c.calibrate(tsc.sample(ns));
        TimeCalibration.Reference prev = c.reference();
        String where = "seed " + seed + " (-Djxen.seed to repeat), " + ppm + " ppm";
        long firstError = 0;
        for (int k = 1; k <= 200; k++) {
            ns += SECOND + rnd.nextLong(0, 60_000_000); // up to 60 ms late
            long jitter = rnd.nextLong(-100, 101); // the sample's pairing is off by up to 100 ns
            long tick = tsc.at(ns);
            TimeCalibration.Result r = c.calibrate(new GuestTsc.Sample(tick, ns + jitter));
            assertEquals(prev.systemTimeAt(tick), r.reference().systemTime(), "continuous, " + where);
            assertTrue(r.reference().systemTime() >= prev.systemTime(), "monotonic, " + where);
            // the correction assumes that the next period is as long as the last; a late period leaves
            // a part of the error (at most 60 ms in 1 s, 6 %) for the next calibration
            long bound = k == 1 ? Long.MAX_VALUE : k <= 3 ? Math.abs(firstError) / 10 + 1_000 : 1_000;
            if (k == 1) {
                firstError = r.errorNanos();
            }
            assertTrue(Math.abs(r.errorNanos()) <= bound, "error " + r.errorNanos() + " ns at " + k + ", " + where);
            // and the guest's clock between samples, if the next period is on time
            long mid = ns + SECOND / 2;
            long guest = r.reference().systemTimeAt(tsc.at(mid));
            if (k >= 4) {
                assertTrue(Math.abs(guest - mid) <= 2_000, "between samples off by " + (guest - mid) + ", " + where);
            }
            prev = r.reference();
        }
    }
}

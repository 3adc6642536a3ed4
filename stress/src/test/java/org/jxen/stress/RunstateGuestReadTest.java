package org.jxen.stress;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jxen.abi.Runstate;
import org.junit.jupiter.api.Test;

/**
 * The JCStress runstate tests can fail: their classification of what the guest read accepts only
 * whole records, asks for a retry on the flag or a changed entry time, and calls every accepted mix
 * torn (the FORBIDDEN outcome).
 */
class RunstateGuestReadTest {
    static final long F = Runstate.XEN_RUNSTATE_UPDATE;

    @Test
    void wholeRecordsAreRecognised() {
        assertEquals(1, RunstateUpdateVsGuestRead.classify(10_000, 10_000, Runstate.RUNNING, 1_000, 2_000, 3_000, 4_000));
        assertEquals(2, RunstateUpdateVsGuestRead.classify(12_600, 12_600, Runstate.BLOCKED, 1_500, 2_600, 3_700, 4_800));
    }

    @Test
    void theFlagOrAChangedEntryTimeMeansRetry() {
        assertEquals(0, RunstateUpdateVsGuestRead.classify(10_000 | F, 10_000 | F, Runstate.RUNNING, 1_000, 2_000, 3_000, 4_000));
        assertEquals(0, RunstateUpdateVsGuestRead.classify(10_000, 12_600, Runstate.BLOCKED, 1_500, 2_600, 3_700, 4_800));
        assertEquals(0, RunstateUpdateVsGuestRead.classify(10_000, 10_000 | F, Runstate.RUNNING, 1_000, 2_000, 3_000, 4_000));
    }

    @Test
    void anAcceptedMixIsTorn() {
        assertEquals(-1, RunstateUpdateVsGuestRead.classify(10_000, 10_000, Runstate.BLOCKED, 1_000, 2_000, 3_000, 4_000),
                "new state, old times");
        assertEquals(-1, RunstateUpdateVsGuestRead.classify(10_000, 10_000, Runstate.RUNNING, 1_000, 2_600, 3_000, 4_000),
                "one new time (the other part of a split area)");
        assertEquals(-1, RunstateUpdateVsGuestRead.classify(12_600, 12_600, Runstate.BLOCKED, 1_500, 2_600, 3_700, 4_000),
                "new entry time, one old time");
    }
}

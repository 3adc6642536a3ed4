package org.jxen.hypercalls.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jxen.abi.Runstate;
import org.junit.jupiter.api.Test;

/** Runstate accounting: transitions, steal, host set/adjust, and lock-free readers. */
class RunstateAccountTest {

    @Test
    void eachStateIsAccountedAndTheEntryTimeIsTheSum() {
        RunstateAccount a = new RunstateAccount(100);
        assertEquals(new RunstateAccount.Snapshot(Runstate.OFFLINE, 100, 0, 0, 0, 100), a.snapshot());
        a.change(Runstate.RUNNING, 150);
        a.change(Runstate.RUNNABLE, 180);
        a.change(Runstate.BLOCKED, 200);
        a.change(Runstate.RUNNING, 260);
        a.change(Runstate.RUNNING, 300); // same state: accounts time so far
        RunstateAccount.Snapshot s = a.snapshot();
        assertEquals(new RunstateAccount.Snapshot(Runstate.RUNNING, 300, 70, 20, 60, 150), s);
        assertEquals(s.sum(), s.stateEntryTime());
        RunstateAccount.Snapshot later = s.at(350);
        assertEquals(350, later.stateEntryTime());
        assertEquals(120, later.running());
        assertEquals(later.sum(), later.stateEntryTime());
        a.change(Runstate.BLOCKED, 250); // a clock step backwards counts as no time
        assertEquals(new RunstateAccount.Snapshot(Runstate.BLOCKED, 300, 70, 20, 60, 150), a.snapshot());
        assertThrows(IllegalArgumentException.class, () -> a.change(4, 400));
        assertEquals(Runstate.BLOCKED, a.state());
    }

    @Test
    void runDelayWhileRunningIsStealAccountedAsRunnable() {
        RunstateAccount a = new RunstateAccount(0);
        a.change(Runstate.RUNNING, 1000, 5_000); // the first sample only sets the baseline
        a.change(Runstate.BLOCKED, 2000, 5_300); // 300 ns of the 1000 were waiting for a CPU
        RunstateAccount.Snapshot s = a.snapshot();
        assertEquals(700, s.running());
        assertEquals(300, s.runnable());
        a.change(Runstate.RUNNING, 3000, 9_000); // run delay while blocked is not steal
        assertEquals(1000, a.snapshot().blocked());
        assertEquals(300, a.snapshot().runnable());
        a.change(Runstate.RUNNING, 3100, 20_000); // steal larger than the interval is clamped
        s = a.snapshot();
        assertEquals(400, s.runnable());
        assertEquals(700, s.running());
        assertEquals(s.sum(), s.stateEntryTime());
        a.change(Runstate.RUNNING, 3200, 10); // a run delay going backwards is no steal
        assertEquals(800, a.snapshot().running());
    }

    @Test
    void hostSetDataAndAdjustKeepTheInvariant() {
        RunstateAccount a = new RunstateAccount(0);
        assertTrue(a.setData(Runstate.RUNNABLE, 100, 10, 20, 30, 40));
        assertEquals(new RunstateAccount.Snapshot(Runstate.RUNNABLE, 100, 10, 20, 30, 40), a.snapshot());
        assertFalse(a.setData(Runstate.RUNNABLE, 101, 10, 20, 30, 40), "entry time is not the sum");
        assertFalse(a.setData(4, 100, 10, 20, 30, 40));
        assertFalse(a.setData(Runstate.RUNNING, 0, -10, 10, 0, 0));
        assertTrue(a.adjust(-1, 5, -20, 0, 1));
        assertEquals(new RunstateAccount.Snapshot(Runstate.RUNNABLE, 86, 15, 0, 30, 41), a.snapshot());
        assertFalse(a.adjust(Runstate.RUNNING, 0, -1, 0, 0), "runnable would go negative");
        assertTrue(a.adjust(Runstate.BLOCKED, 0, 0, 0, 0));
        assertEquals(Runstate.BLOCKED, a.state());
    }

    @Test
    void concurrentReadersAlwaysSeeAConsistentRecord() throws Exception {
        long seed = System.nanoTime();
        System.out.println("RunstateAccountTest seed " + seed);
        SplittableRandom r = new SplittableRandom(seed);
        RunstateAccount a = new RunstateAccount(0);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> error = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            long last = 0;
            while (!stop.get()) {
                RunstateAccount.Snapshot s = a.snapshot();
                if (s.sum() != s.stateEntryTime() || s.stateEntryTime() < last) {
                    error.set("inconsistent " + s + " after " + last);
                }
                last = s.stateEntryTime();
            }
        });
        reader.start();
        long now = 0;
        for (int i = 0; i < 500_000; i++) {
            now += r.nextInt(1000);
            a.change(r.nextInt(4), now, i % 3 == 0 ? -1 : now / 3);
        }
        stop.set(true);
        reader.join();
        assertEquals(null, error.get(), "seed " + seed);
        assertEquals(now, a.snapshot().stateEntryTime());
    }
}

package org.jxen.hypercalls.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jxen.abi.Runstate;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.time.VcpuRunstate.Activity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Runstate from a fake vCPU thread: a clock and scheduler statistics the test moves by hand, so
 * every split is exact. The area is read back as a guest reads it after every step.
 */
class VcpuRunstateTest {
    static final long MS = 1_000_000L;
    static final long PERIOD = 10 * MS;
    static final long AREA = 0x1000 - 20; // crosses a page: the split write path

    /** A vCPU thread whose statistics the test sets; counts reads. */
    static final class FakeThread implements VcpuRunstate.ThreadTimes {
        volatile long onCpu;
        volatile long runDelay;
        volatile boolean known = true;
        final AtomicInteger reads = new AtomicInteger();

        @Override
        public SchedStat.Sample read() {
            reads.incrementAndGet();
            return known ? new SchedStat.Sample(onCpu, runDelay) : null;
        }

        void ran(long onCpuNs, long waitedNs) {
            onCpu += onCpuNs;
            runDelay += waitedNs;
        }
    }

    HostMemory ram;
    GuestMemory memory;
    final AtomicLong clock = new AtomicLong(1_000 * MS);
    final FakeThread thread = new FakeThread();

    @BeforeEach
    void setUp() {
        ram = HostMemory.offHeap("runstate", 4 * HostMemory.PAGE_SIZE);
        memory = new GuestMemory("runstate");
        memory.addSlot(0, 0, ram.size(), ram, 0, 0);
    }

    @AfterEach
    void tearDown() {
        memory.removeSlot(0);
        ram.close();
    }

    VcpuRunstate vcpu(boolean up) {
        VcpuRunstate r = new VcpuRunstate(memory, "test", clock::get, thread, up);
        assertEquals(0, r.register(AREA, -1, WordSize.BITS_64));
        return r;
    }

    /** The area as the guest reads it; it must be the account's record. */
    static RunstateAccount.Snapshot guestView(VcpuRunstate r) {
        RunstateAccount.Snapshot s = r.area().readAsGuest(10);
        assertEquals(r.snapshot(), s, "the area shows the account");
        assertEquals(s.sum(), s.stateEntryTime(), "entry time is the sum of the times");
        return s;
    }

    void advance(long ns) {
        clock.addAndGet(ns);
    }

    @Test
    void aNewVcpuIsRunningOrOfflineWithItsPastOffline() {
        VcpuRunstate up = vcpu(true);
        assertEquals(new RunstateAccount.Snapshot(Runstate.RUNNING, 1_000 * MS, 0, 0, 0, 1_000 * MS), guestView(up));
        assertEquals(Activity.GUEST, up.activity());
        VcpuRunstate down = new VcpuRunstate(memory, "down", clock::get, thread, false);
        assertEquals(new RunstateAccount.Snapshot(Runstate.OFFLINE, 1_000 * MS, 0, 0, 0, 1_000 * MS), down.snapshot());
        assertEquals(Activity.OFFLINE, down.activity());
    }

    @Test
    void anIntervalInTheGuestIsSplitByTheThreadsTimes() {
        VcpuRunstate r = vcpu(true);
        advance(PERIOD);
        r.tick(PERIOD); // the first statistics are only a baseline: the activity decides (running)
        RunstateAccount.Snapshot s = guestView(r);
        assertEquals(PERIOD, s.running());
        advance(PERIOD);
        thread.ran(6 * MS, 1 * MS);
        r.tick(PERIOD);
        s = guestView(r);
        assertEquals(Runstate.RUNNING, s.state(), "its own thread is running");
        assertEquals(16 * MS, s.running());
        assertEquals(1 * MS, s.runnable());
        assertEquals(3 * MS, s.blocked(), "neither on a CPU nor waiting for one: halted in the guest");
        assertEquals(1_020 * MS, s.stateEntryTime(), "the entry time is the step's time");

        advance(PERIOD); // from the host: halted most of the interval
        thread.ran(1 * MS, 0);
        assertTrue(r.sampleFromHost(PERIOD));
        s = guestView(r);
        assertEquals(Runstate.BLOCKED, s.state());
        assertEquals(12 * MS, s.blocked());
        advance(PERIOD); // waiting for a CPU most of the interval: steal
        thread.ran(2 * MS, 7 * MS);
        assertTrue(r.sampleFromHost(PERIOD));
        s = guestView(r);
        assertEquals(Runstate.RUNNABLE, s.state());
        assertEquals(8 * MS, s.runnable());
        advance(PERIOD); // on a CPU most of it
        thread.ran(9 * MS, 1 * MS);
        assertTrue(r.sampleFromHost(PERIOD));
        assertEquals(Runstate.RUNNING, guestView(r).state());
    }

    @Test
    void aClampedPartIsAccountedLaterSoTotalsFollowTheThread() {
        VcpuRunstate r = vcpu(true);
        r.transition(Activity.GUEST, Runstate.RUNNING, true); // baseline
        long before = r.snapshot().running();
        advance(PERIOD);
        thread.ran(14 * MS, 0); // a lagging counter catching up: more than the interval
        r.tick(PERIOD);
        assertEquals(before + PERIOD, guestView(r).running(), "clamped to the interval");
        advance(PERIOD);
        thread.ran(6 * MS, 0);
        r.tick(PERIOD);
        RunstateAccount.Snapshot s = guestView(r);
        assertEquals(before + 20 * MS, s.running(), "the 4 ms cut off before are accounted now");
        assertEquals(0, s.blocked());
        advance(PERIOD);
        thread.ran(3 * MS, 12 * MS); // running first, then the run delay in what is left
        r.tick(PERIOD);
        s = guestView(r);
        assertEquals(before + 23 * MS, s.running());
        assertEquals(7 * MS, s.runnable());
        assertEquals(0, s.blocked());
    }

    @Test
    void withoutStatisticsTheActivityDecides() {
        thread.known = false;
        VcpuRunstate r = vcpu(true);
        advance(PERIOD);
        r.tick(PERIOD);
        assertEquals(PERIOD, guestView(r).running());
        r.transition(Activity.WAITING, Runstate.BLOCKED, true);
        advance(PERIOD);
        assertTrue(r.sampleFromHost(PERIOD));
        RunstateAccount.Snapshot s = guestView(r);
        assertEquals(PERIOD, s.blocked());
        assertEquals(Runstate.BLOCKED, s.state());
        r.transition(Activity.GUEST, Runstate.RUNNING, true);
        assertEquals(Runstate.RUNNING, guestView(r).state());
    }

    @Test
    void aCounterGoingBackIsANewBaselineNotNegativeTime() {
        VcpuRunstate r = vcpu(true);
        thread.ran(50 * MS, 50 * MS);
        r.transition(Activity.GUEST, Runstate.RUNNING, true);
        thread.onCpu = 1 * MS; // another thread's counters, say
        advance(PERIOD);
        r.tick(PERIOD);
        RunstateAccount.Snapshot s = guestView(r);
        assertEquals(PERIOD, s.running(), "the activity decides this interval");
        advance(PERIOD);
        thread.ran(4 * MS, 0);
        r.tick(PERIOD);
        assertEquals(PERIOD + 4 * MS, guestView(r).running(), "and the new counters the next");
    }

    @Test
    void offlineTimeNeedsNoStatisticsAndBookkeepingWhileOfflineIsNotGuestTime() {
        VcpuRunstate r = vcpu(false);
        int reads = thread.reads.get();
        advance(PERIOD);
        assertTrue(r.sampleFromHost(PERIOD));
        RunstateAccount.Snapshot s = guestView(r);
        assertEquals(Runstate.OFFLINE, s.state());
        assertEquals(1_010 * MS, s.offline());
        assertEquals(reads, thread.reads.get(), "an offline vCPU costs no /proc read");
        thread.ran(30 * MS, 30 * MS); // the parked thread's own work
        advance(PERIOD);
        r.transition(Activity.GUEST, Runstate.RUNNABLE, true); // VCPUOP_up
        s = guestView(r);
        assertEquals(Runstate.RUNNABLE, s.state());
        assertEquals(1_020 * MS, s.offline());
        assertEquals(0, s.running() + s.runnable() + s.blocked());
        advance(PERIOD);
        thread.ran(10 * MS, 0);
        r.tick(PERIOD);
        s = guestView(r);
        assertEquals(10 * MS, s.running(), "counted from the up, not from before");
        r.transition(Activity.OFFLINE, Runstate.OFFLINE, true); // VCPUOP_down
        advance(PERIOD);
        thread.ran(5 * MS, 0);
        assertTrue(r.sampleFromHost(PERIOD));
        s = guestView(r);
        assertEquals(10 * MS, s.running());
        assertEquals(1_030 * MS, s.offline());
    }

    @Test
    void runDelayBacklogFromBeforeAWaitDoesNotMakeTheWaitRunnable() {
        VcpuRunstate r = vcpu(true);
        advance(PERIOD);
        thread.ran(4 * MS, 30 * MS); // a loaded host: more run delay than the interval holds
        r.transition(Activity.WAITING, Runstate.BLOCKED, true);
        RunstateAccount.Snapshot before = guestView(r);
        assertEquals(PERIOD, before.running() + before.runnable(), "the interval is full");
        advance(PERIOD);
        thread.ran(0, 1 * MS); // the wake-up's own delay
        r.transition(Activity.GUEST, Runstate.RUNNING, true);
        RunstateAccount.Snapshot after = guestView(r);
        assertEquals(PERIOD - 1 * MS, after.blocked() - before.blocked(), "the wait is blocked");
        assertEquals(1 * MS, after.runnable() - before.runnable(), "but for its wake-up delay");
    }

    @Test
    void waitingInBlockOrPollIsBlockedExceptWhatTheThreadRanOrWaited() {
        VcpuRunstate r = vcpu(true);
        r.transition(Activity.WAITING, Runstate.BLOCKED, true);
        assertEquals(Runstate.BLOCKED, guestView(r).state());
        advance(PERIOD);
        thread.ran(1 * MS, 2 * MS); // woken, waited for a CPU, checked its condition
        r.transition(Activity.GUEST, Runstate.RUNNING, true);
        RunstateAccount.Snapshot s = guestView(r);
        assertEquals(Runstate.RUNNING, s.state());
        assertEquals(8 * MS, s.blocked(), "the guest ran nothing while it waited");
        assertEquals(2 * MS, s.runnable());
        assertEquals(0, s.running(), "on-CPU time read during a wait is left for the next guest interval");
        // that time shows as running once the guest runs again (it is mostly the guest's own time
        // before the wait, which the counter had not caught up with)
        advance(PERIOD);
        thread.ran(PERIOD, 0);
        r.transition(Activity.WAITING, Runstate.BLOCKED, true);
        assertEquals(PERIOD, guestView(r).running(), "at most the interval");
    }

    @Test
    void stepsHappenOnlyWhenThePeriodHasPassed() {
        VcpuRunstate r = vcpu(true);
        r.tick(PERIOD);
        assertFalse(r.sampleFromHost(PERIOD));
        int reads = thread.reads.get();
        advance(PERIOD - 1);
        r.tick(PERIOD);
        assertFalse(r.sampleFromHost(PERIOD));
        r.tick(0); // period 0: steps only at transitions
        assertEquals(reads, thread.reads.get(), "no statistics read before the period");
        assertEquals(1_000 * MS, r.snapshot().stateEntryTime());
        advance(1);
        assertTrue(r.sampleFromHost(PERIOD));
        assertEquals(1_000 * MS + PERIOD, r.snapshot().stateEntryTime());
    }

    @Test
    void aShortIntervalFromAnotherThreadKeepsTheState() {
        VcpuRunstate r = vcpu(true);
        r.transition(Activity.GUEST, Runstate.RUNNING, true);
        advance(VcpuRunstate.MIN_CLASSIFY_NANOS - 1); // counters have not moved yet
        RunstateAccount.Snapshot s = r.current(false); // get_runstate_info from another vCPU
        assertEquals(Runstate.RUNNING, s.state(), "too short to say it halted");
        assertEquals(VcpuRunstate.MIN_CLASSIFY_NANOS - 1, s.blocked(), "but the time is accounted");
        assertEquals(s, guestView(r));
        advance(VcpuRunstate.MIN_CLASSIFY_NANOS);
        assertEquals(Runstate.BLOCKED, r.current(false).state());
        advance(1);
        assertEquals(Runstate.RUNNING, r.current(true).state(), "get_runstate_info on itself: running");
    }

    @Test
    void theHostSetsTheRecordAndTheGuestSeesExactlyIt() {
        VcpuRunstate r = vcpu(true);
        long now = clock.get();
        assertTrue(r.setData(Runstate.RUNNABLE, 0x6b6b + 0x5a + 7, 7, 0x5a, 0x6b6b, 0));
        assertEquals(new RunstateAccount.Snapshot(Runstate.RUNNABLE, 0x6b6b + 0x5a + 7, 7, 0x5a, 0x6b6b, 0),
                guestView(r));
        // refused, nothing changes
        assertFalse(r.setData(Runstate.RUNNING, 11, 1, 2, 3, 4), "entry time is not the sum");
        assertFalse(r.setData(4, 10, 1, 2, 3, 4), "not a state");
        assertFalse(r.setData(-1, 10, 1, 2, 3, 4), "not a state");
        assertFalse(r.setData(Runstate.RUNNING, 0, -1, 1, 0, 0), "negative time");
        assertFalse(r.setData(Runstate.RUNNING, now + 1, now + 1, 0, 0, 0), "entry time in the future");
        assertEquals(new RunstateAccount.Snapshot(Runstate.RUNNABLE, 0x6b6b + 0x5a + 7, 7, 0x5a, 0x6b6b, 0),
                guestView(r));
        // accounting goes on from the host's record with the time after the set only
        advance(PERIOD);
        thread.ran(PERIOD, 0);
        r.tick(PERIOD);
        RunstateAccount.Snapshot s = guestView(r);
        assertEquals(Runstate.RUNNING, s.state());
        assertEquals(7 + PERIOD, s.running());
        assertEquals(0x5a, s.runnable());
        assertEquals(0x6b6b, s.blocked());
        assertEquals(0x6b6b + 0x5a + 7 + PERIOD, s.stateEntryTime());
    }

    @Test
    void theHostAdjustsTheRecord() {
        VcpuRunstate r = vcpu(true);
        long o = guestView(r).offline();
        assertTrue(r.setData(Runstate.RUNNING, o, 1_000, 0, 0, o - 1_000));
        assertFalse(r.adjust(-1, 0, 0, -1, 0, 1), "runnable would go negative");
        assertFalse(r.adjust(-1, 0, 0, 0, 0x5a, 0), "dStateEntryTime must be the sum of the deltas");
        // as KVM's selftest: blocked and offline to fixed values, runnable takes the difference
        long dOffline = 0x6b6b - (o - 1_000);
        long dRunnable = (o - 900 - 0x5a - 0x6b6b);
        assertTrue(r.adjust(-1, 0, -100, dRunnable, 0x5a, dOffline));
        RunstateAccount.Snapshot s = guestView(r);
        assertEquals(new RunstateAccount.Snapshot(Runstate.RUNNING, o, 900, dRunnable, 0x5a, 0x6b6b), s,
                "-1 keeps the state; a zero-sum adjust keeps the entry time");
        assertFalse(r.adjust(Runstate.BLOCKED, 5, 0, 0, 5, 0), "the entry time is now: +5 would pass it");
        advance(5);
        assertTrue(r.adjust(Runstate.BLOCKED, 5, 0, 0, 5, 0));
        s = guestView(r);
        assertEquals(Runstate.BLOCKED, s.state());
        assertEquals(0x5a + 5, s.blocked());
        assertEquals(o + 5, s.stateEntryTime());
        long ahead = clock.get() - s.stateEntryTime() + 1;
        assertFalse(r.adjust(Runstate.RUNNING, ahead, ahead, 0, 0, 0), "entry time would pass now");
        assertFalse(r.adjust(5, 0, 0, 0, 0, 0), "not a state");
        assertFalse(r.adjust(-2, 0, 0, 0, 0, 0), "not a state");
        assertEquals(s, guestView(r), "refused adjusts change nothing");
    }

    @Test
    void aTransitionRefusesANonState() {
        VcpuRunstate r = vcpu(true);
        assertThrows(IllegalArgumentException.class, () -> r.transition(Activity.GUEST, 4, true));
    }

    @Test
    void anUnregisteredAreaIsNotWrittenAndZeroUnregisters() {
        VcpuRunstate r = new VcpuRunstate(memory, "none", clock::get, thread, true);
        advance(PERIOD);
        r.tick(PERIOD);
        assertEquals(0, r.area().writtenUpdates());
        assertNull(r.area().readAsGuest(1));
        assertEquals(0, r.register(AREA, -1, WordSize.BITS_32));
        assertEquals(1, r.area().writtenUpdates(), "registration writes the record");
        assertEquals(WordSize.BITS_32, r.area().wordSize());
        guestView(r);
    }

    /**
     * A seeded random walk of every operation (steps from both threads, transitions, host set and
     * adjust, statistics moving by any amount or backwards, the clock standing still or jumping):
     * after each, the guest's view is the account, the entry time is the sum, and no time went
     * down except by the host's own set or adjust.
     */
    @ParameterizedTest(name = "seed offset {0}")
    @ValueSource(ints = {0, 1, 2, 3})
    void randomWalkKeepsTheInvariants(int offset) {
        long seed = Long.getLong("jxen.seed", System.nanoTime()) + offset;
        System.out.println("VcpuRunstateTest random walk seed " + seed + " (rerun with -Djxen.seed)");
        SplittableRandom rnd = new SplittableRandom(seed);
        VcpuRunstate r = vcpu(rnd.nextBoolean());
        RunstateAccount.Snapshot last = guestView(r);
        for (int i = 0; i < 20_000; i++) {
            advance(rnd.nextInt(4) == 0 ? 0 : rnd.nextLong(3 * PERIOD));
            switch (rnd.nextInt(5)) {
                case 0 -> thread.ran(rnd.nextLong(2 * PERIOD), rnd.nextLong(2 * PERIOD));
                case 1 -> thread.known = rnd.nextInt(8) != 0;
                case 2 -> thread.onCpu = rnd.nextLong(100 * PERIOD);
                default -> {
                }
            }
            boolean hostChange = false;
            switch (rnd.nextInt(8)) {
                case 0 -> r.tick(rnd.nextBoolean() ? PERIOD : 0);
                case 1 -> r.sampleFromHost(PERIOD);
                case 2 -> r.current(rnd.nextBoolean());
                case 3 -> r.transition(Activity.values()[rnd.nextInt(3)], rnd.nextInt(4), true);
                case 4 -> {
                    long[] t = {rnd.nextLong(PERIOD), rnd.nextLong(PERIOD), rnd.nextLong(PERIOD), rnd.nextLong(PERIOD)};
                    hostChange = r.setData(rnd.nextInt(4), t[0] + t[1] + t[2] + t[3], t[0], t[1], t[2], t[3]);
                }
                case 5 -> {
                    long[] d = new long[4];
                    for (int k = 0; k < 4; k++) {
                        d[k] = rnd.nextLong(2 * PERIOD) - PERIOD;
                    }
                    hostChange = r.adjust(rnd.nextInt(5) - 1, d[0] + d[1] + d[2] + d[3], d[0], d[1], d[2], d[3]);
                }
                default -> r.sampleFromHost(0);
            }
            RunstateAccount.Snapshot s = guestView(r);
            assertTrue(s.running() >= 0 && s.runnable() >= 0 && s.blocked() >= 0 && s.offline() >= 0, "seed " + seed);
            if (!hostChange) {
                for (int k = 0; k < 4; k++) {
                    assertTrue(s.time(k) >= last.time(k), "seed " + seed + " step " + i + ": " + last + " -> " + s);
                }
            }
            assertTrue(s.stateEntryTime() <= clock.get(), "seed " + seed + ": entry time after now");
            last = s;
        }
    }

    /**
     * The vCPU thread stepping at exits, the host thread stepping periodically and the host
     * adjusting, against a reader that follows the guest's protocol: it only ever accepts whole
     * records whose entry time is the sum, and between host adjusts the times never go down.
     */
    @Test
    void concurrentWritersAndAGuestReader() throws Exception {
        AtomicLong realClock = new AtomicLong();
        VcpuRunstate r = new VcpuRunstate(memory, "concurrent", () -> realClock.addAndGet(1_000), thread, true);
        assertEquals(0, r.register(AREA, -1, WordSize.BITS_64));
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> error = new AtomicReference<>();
        AtomicInteger accepted = new AtomicInteger();
        Thread reader = new Thread(() -> {
            RunstateAccount.Snapshot last = null;
            while (!stop.get()) {
                RunstateAccount.Snapshot s = r.area().readAsGuest(1_000);
                if (s == null) {
                    continue;
                }
                accepted.incrementAndGet();
                if (s.sum() != s.stateEntryTime()) {
                    error.compareAndSet(null, "torn or inconsistent: " + s);
                }
                if (last != null && s.stateEntryTime() < last.stateEntryTime()) {
                    error.compareAndSet(null, "entry time went back: " + last + " -> " + s);
                }
                last = s;
            }
        }, "guest-reader");
        Thread host = new Thread(() -> {
            while (!stop.get()) {
                r.sampleFromHost(0);
            }
        }, "host-sampler");
        reader.start();
        host.start();
        for (int i = 0; i < 200_000; i++) {
            thread.ran(i % 3, i % 5);
            r.tick(1);
            if (i % 1000 == 0) {
                r.transition(Activity.values()[i / 1000 % 3], i / 1000 % 4, true);
            }
        }
        stop.set(true);
        reader.join();
        host.join();
        assertNull(error.get());
        assertTrue(accepted.get() > 0, "the reader accepted no record at all");
        assertEquals(r.snapshot(), r.area().readAsGuest(10));
    }
}

package org.jxen.hypercalls.time;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.jxen.abi.Runstate;

/**
 * One vCPU's runstate accounting in Xen system time (ns): the current {@link Runstate}, when it
 * was entered, and the time spent in each state. The invariant that the guest checks holds at every
 * consistent read: {@code state_entry_time == time[0] + time[1] + time[2] + time[3]}. The vCPU
 * starts {@link Runstate#OFFLINE} at its creation time, with that time counted as offline.
 *
 * <p>Steal time, as KVM accounts it: a vCPU thread that was runnable but not running on a host CPU
 * (its run delay, {@link SchedStat}) while the vCPU was {@link Runstate#RUNNING} has that time moved
 * from {@code time[RUNNING]} to {@code time[RUNNABLE]} at the next transition.
 *
 * <p>Threads: the writers ({@link #change}, {@link #setData}, {@link #adjust}) are serialised by
 * this object's monitor (uncontended in normal use: the vCPU thread; the host's set/adjust while
 * the vCPU is stopped). Readers ({@link #snapshot()}) on any thread, lock-free, through a sequence
 * counter: a snapshot is always one consistent record.
 */
public final class RunstateAccount {
    private static final VarHandle SEQ;

    static {
        try {
            SEQ = MethodHandles.lookup().findVarHandle(RunstateAccount.class, "seq", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Odd while a writer updates the fields. */
    @SuppressWarnings("unused")
    private volatile int seq;
    private int state;
    private long entryTime;
    private final long[] time = new long[4];
    /** The thread's cumulative run delay at the last transition, or -1 when unknown. */
    private long lastRunDelay = -1;

    /**
     * One consistent runstate record.
     *
     * @param state          the current {@link Runstate}
     * @param stateEntryTime system time at which it was entered (the sum of the times)
     */
    public record Snapshot(int state, long stateEntryTime, long running, long runnable, long blocked,
            long offline) {
        /** {@code time[s]} for a {@link Runstate} {@code s}. */
        public long time(int s) {
            return switch (s) {
                case Runstate.RUNNING -> running;
                case Runstate.RUNNABLE -> runnable;
                case Runstate.BLOCKED -> blocked;
                case Runstate.OFFLINE -> offline;
                default -> throw new IndexOutOfBoundsException(s);
            };
        }

        /** The sum of the four times. */
        public long sum() {
            return running + runnable + blocked + offline;
        }

        /** The record as it would be at {@code now}: the current state's time accounted up to now. */
        public Snapshot at(long now) {
            long d = Math.max(0, now - stateEntryTime);
            return new Snapshot(state, stateEntryTime + d, running + (state == Runstate.RUNNING ? d : 0),
                    runnable + (state == Runstate.RUNNABLE ? d : 0), blocked + (state == Runstate.BLOCKED ? d : 0),
                    offline + (state == Runstate.OFFLINE ? d : 0));
        }
    }

    /** A vCPU created at system time {@code now}: offline, with {@code now} counted as offline. */
    public RunstateAccount(long now) {
        state = Runstate.OFFLINE;
        entryTime = now;
        time[Runstate.OFFLINE] = now;
    }

    /**
     * Enters {@code newState} at system time {@code now} (the same state is allowed: it accounts the
     * time so far). A {@code now} before the entry time counts as no time passed.
     */
    public void change(int newState, long now) {
        change(newState, now, -1);
    }

    /**
     * Enters {@code newState} at {@code now}, with the vCPU thread's cumulative run delay
     * {@code runDelayNanos} ({@link SchedStat}; negative when unknown). The run delay that grew
     * while the vCPU was running is accounted as runnable (steal), at most the time that passed.
     */
    public synchronized void change(int newState, long now, long runDelayNanos) {
        checkState(newState);
        long delta = Math.max(0, now - entryTime);
        long steal = 0;
        if (runDelayNanos >= 0) {
            if (lastRunDelay >= 0 && state == Runstate.RUNNING) {
                steal = Math.clamp(runDelayNanos - lastRunDelay, 0, delta);
            }
            lastRunDelay = runDelayNanos;
        }
        beginWrite();
        time[state] += delta - steal;
        time[Runstate.RUNNABLE] += steal;
        entryTime += delta;
        state = newState;
        endWrite();
    }

    /**
     * Adds an interval that the caller has split between the four states (each part non-negative)
     * to the times, moves the entry time by their sum, and enters {@code newState}: the accounting
     * step of {@link VcpuRunstate}, which splits each interval by what the vCPU thread did in it.
     * The invariant holds and no time decreases.
     *
     * @throws IllegalArgumentException for a negative part or a state that is not 0..3
     */
    public synchronized void advance(int newState, long running, long runnable, long blocked, long offline) {
        checkState(newState);
        if (running < 0 || runnable < 0 || blocked < 0 || offline < 0) {
            throw new IllegalArgumentException("negative part: " + running + " " + runnable + " " + blocked + " "
                    + offline);
        }
        beginWrite();
        time[Runstate.RUNNING] += running;
        time[Runstate.RUNNABLE] += runnable;
        time[Runstate.BLOCKED] += blocked;
        time[Runstate.OFFLINE] += offline;
        entryTime += running + runnable + blocked + offline;
        state = newState;
        endWrite();
    }

    /**
     * The host sets the whole record (KVM's {@code RUNSTATE_DATA}). Returns false, changing nothing,
     * when the state is not 0..3, a time is negative, or the entry time is not the sum of the times.
     */
    public synchronized boolean setData(int newState, long stateEntryTime, long running, long runnable,
            long blocked, long offline) {
        if (newState < Runstate.RUNNING || newState > Runstate.OFFLINE || running < 0 || runnable < 0
                || blocked < 0 || offline < 0 || running + runnable + blocked + offline != stateEntryTime) {
            return false;
        }
        beginWrite();
        state = newState;
        entryTime = stateEntryTime;
        time[0] = running;
        time[1] = runnable;
        time[2] = blocked;
        time[3] = offline;
        endWrite();
        return true;
    }

    /**
     * The host adds deltas to the times (KVM's {@code RUNSTATE_ADJUST}); the entry time moves by
     * their sum, so the invariant holds. Returns false, changing nothing, if a time would go negative.
     * A {@code newState} of -1 keeps the state.
     */
    public synchronized boolean adjust(int newState, long dRunning, long dRunnable, long dBlocked, long dOffline) {
        if (newState != -1) {
            checkState(newState);
        }
        long[] d = {dRunning, dRunnable, dBlocked, dOffline};
        for (int i = 0; i < 4; i++) {
            if (time[i] + d[i] < 0) {
                return false;
            }
        }
        beginWrite();
        for (int i = 0; i < 4; i++) {
            time[i] += d[i];
            entryTime += d[i];
        }
        if (newState != -1) {
            state = newState;
        }
        endWrite();
        return true;
    }

    /** The current record (the state's time accounted up to its entry, not to now); any thread. */
    public Snapshot snapshot() {
        while (true) {
            int s1 = (int) SEQ.getAcquire(this);
            if ((s1 & 1) == 0) {
                Snapshot s = new Snapshot(state, entryTime, time[0], time[1], time[2], time[3]);
                VarHandle.loadLoadFence();
                if ((int) SEQ.getOpaque(this) == s1) {
                    return s;
                }
            }
            Thread.onSpinWait();
        }
    }

    /** The current state; any thread. */
    public int state() {
        return snapshot().state();
    }

    private void beginWrite() {
        SEQ.setOpaque(this, seq + 1);
        VarHandle.storeStoreFence();
    }

    private void endWrite() {
        SEQ.setRelease(this, seq + 1);
    }

    private static void checkState(int s) {
        if (s < Runstate.RUNNING || s > Runstate.OFFLINE) {
            throw new IllegalArgumentException("not a runstate: " + s);
        }
    }
}

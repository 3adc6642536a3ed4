package org.jxen.hypercalls.time;

import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.jxen.abi.Runstate;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GuestMemory;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * One vCPU's runstate, accounted from what its host thread really does, and written into the
 * guest's runstate area ({@link RunstateArea}) with the {@code XEN_RUNSTATE_UPDATE} protocol.
 *
 * <p>With the in-kernel irqchip a guest {@code hlt} does not leave {@code KVM_RUN}: the vCPU
 * thread sleeps inside the kernel, and the VMM sees no transition. So the VMM does not guess
 * states from exits; it knows only the vCPU's {@link Activity} (in the guest, waiting in
 * {@code SCHEDOP_block}/{@code SCHEDOP_poll}, or offline), and at each <em>accounting step</em>
 * splits the wall-clock interval since the previous step by the thread's scheduler statistics
 * ({@link SchedStat}: time on a CPU, and run delay, the time it waited for one):
 *
 * <table>
 * <caption>how an interval of length {@code d} is split</caption>
 * <tr><th>activity</th><th>running</th><th>runnable</th><th>blocked</th><th>offline</th></tr>
 * <tr><td>{@link Activity#GUEST}, {@link Activity#WAITING}</td><td>on-CPU delta</td>
 *     <td>run-delay delta</td><td>the rest (halted in KVM, or asleep in block/poll)</td><td>0</td></tr>
 * <tr><td>{@link Activity#OFFLINE}</td><td>0</td><td>0</td><td>0</td><td>{@code d}</td></tr>
 * <tr><td>no statistics (no {@code /proc}, thread not started)</td>
 *     <td>{@code d} in {@code GUEST}</td><td>0</td><td>{@code d} in {@code WAITING}</td><td>0</td></tr>
 * </table>
 *
 * The running and runnable parts are clamped to the interval (running first); what a clamp cut
 * off stays in the baseline and is accounted in a later interval, so long-run totals follow the
 * thread exactly. Statistics lag by up to a scheduler tick ({@link SchedStat}), so one interval's
 * split is only as good as that.
 *
 * <p>The state shown after a step: on the vCPU's own thread, {@code RUNNING} in {@code GUEST}
 * (it is running: it is handling an exit), {@code BLOCKED} in {@code WAITING}; from another thread,
 * the state that took most of the interval, when the interval is at least
 * {@link #MIN_CLASSIFY_NANOS} long (a shorter one, with lagging counters, says nothing: the state
 * stays); {@code OFFLINE} when offline, from any thread.
 *
 * <p>Every guest-visible record (the area, {@code VCPUOP_get_runstate_info}) is the account right
 * after a step, and a step only adds non-negative parts, so the guest sees
 * {@code state_entry_time == time[0] + time[1] + time[2] + time[3]} and times that never
 * decrease; only the host's {@link #setData}/{@link #adjust} may move them back, as it asks.
 * The entry time advances by each interval, so it is the time of the latest step as long as the
 * host has not set another one.
 *
 * <p>Threads: every writer (steps, transitions, registration, the host's set and adjust) holds
 * this object's lock, so the account and the area change together and in order. The vCPU
 * thread's per-exit {@link #tick} and the host's periodic {@link #sampleFromHost} only
 * {@code tryLock()} (a step already in progress does their work) and the host never waits for a
 * cache: it gives the area update up ({@link RunstateArea#skippedUpdates()}) and a later step
 * writes the newer record. {@link #snapshot()} is lock-free from any thread. The lock is taken
 * after the domain's bring-up lock, never before it.
 */
public final class VcpuRunstate {
    /** An interval shorter than this does not change the state shown by a step from another thread. */
    public static final long MIN_CLASSIFY_NANOS = 5_000_000L;

    /** What the vCPU's host thread does, as the VMM knows it. */
    public enum Activity {
        /** Running the guest: in {@code KVM_RUN} (executing, or halted inside the kernel) or handling an exit. */
        GUEST,
        /** Waiting in the VMM on the guest's behalf: {@code SCHEDOP_block} or {@code SCHEDOP_poll}. */
        WAITING,
        /** Down (never brought up, or {@code VCPUOP_down}) or paused by the host: it runs no guest code. */
        OFFLINE
    }

    /** Reads the vCPU thread's statistics now; null when they are not known (yet). Any thread. */
    @FunctionalInterface
    public interface ThreadTimes {
        SchedStat.Sample read();
    }

    private final RunstateAccount account;
    private final RunstateArea area;
    private volatile java.util.function.Supplier<WordSize> guestWordSize;
    private final ThreadTimes times;
    private final LongSupplier clock;
    private final ReentrantLock lock = new ReentrantLock();
    private final LongAdder hostGiveUps = new LongAdder();

    // guarded by lock
    private Activity activity;
    private long lastWall;
    private long baseOnCpu = -1;
    private long baseRunDelay = -1;

    /** The clock time of the latest step, for the lock-free "is a step due" check. */
    private volatile long lastStep;

    /**
     * A vCPU created now: {@code up} ones are {@link Activity#GUEST} and shown {@code RUNNING},
     * others {@link Activity#OFFLINE}; the time since system time 0 counts as offline.
     *
     * @param memory where the guest's area will be
     * @param name   names the area's caches
     * @param clock  Xen system time in ns
     * @param times  the vCPU thread's statistics
     */
    public VcpuRunstate(GuestMemory memory, String name, LongSupplier clock, ThreadTimes times, boolean up) {
        this.clock = clock;
        this.times = times;
        long now = clock.getAsLong();
        this.account = new RunstateAccount(now);
        this.area = new RunstateArea(memory, name);
        this.lastWall = now;
        this.lastStep = now;
        this.activity = up ? Activity.GUEST : Activity.OFFLINE;
        if (up) {
            account.advance(Runstate.RUNNING, 0, 0, 0, 0);
        }
    }

    /**
     * Where the guest's current word size comes from: after the guest switches word size, the area
     * is not written until its vCPU's next hypercall lays it out again ({@link #followWordSize}), so
     * the old layout (48 or 44 bytes) is never written over the new one. Set once, before use.
     */
    public void setGuestWordSize(java.util.function.Supplier<WordSize> wordSize) {
        this.guestWordSize = wordSize;
    }

    private void writeArea(boolean mayBlock) {
        var ws = guestWordSize;
        if (ws != null && area.isRegistered() && area.wordSize() != ws.get()) {
            return; // waiting for followWordSize
        }
        area.update(account.snapshot(), mayBlock);
    }

    /**
     * On the vCPU's thread, in a hypercall made with word size {@code w}: when the area was
     * registered in the other layout, registers it again in this one at the same guest address and
     * writes the current record (scenario 20; Xen writes the compat or native record as the domain's
     * latched size says).
     */
    public void followWordSize(GuestVirtualMemory g, WordSize w) {
        if (!area.isRegistered() || area.wordSize() == w) {
            return;
        }
        lock.lock();
        try {
            if (area.isRegistered() && area.wordSize() != w && area.relayout(g, w) == 0
                    && area.isRegistered() && area.wordSize() == w) {
                area.update(account.snapshot(), true);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Entering a wait: run delay the counter showed beyond the intervals it could fill (a loaded
     * host's backlog from before the wait) is dropped, so that the wait is blocked except for the
     * delay of its own wake-up. Caller holds the lock.
     */
    private void dropRunDelayBacklog() {
        SchedStat.Sample t = baseOnCpu >= 0 ? times.read() : null;
        if (t != null && t.runDelayNanos() >= baseRunDelay) {
            baseRunDelay = t.runDelayNanos();
        }
    }

    /** The current record, as of the latest step (lock-free, any thread). */
    public RunstateAccount.Snapshot snapshot() {
        return account.snapshot();
    }

    /** The guest's area (for diagnostics and tests: its counters, a guest-style read). */
    public RunstateArea area() {
        return area;
    }

    /** Steps from another thread that found the lock taken and left the step to its holder. */
    public long hostGiveUps() {
        return hostGiveUps.sum();
    }

    /** What the vCPU thread does now (as of the latest transition). */
    public Activity activity() {
        lock.lock();
        try {
            return activity;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Accounts up to now as the current activity, then continues with {@code next}, shown as
     * {@code shownState}; writes the area (waiting for its cache when {@code mayBlock}). Leaving
     * {@link Activity#OFFLINE} takes the thread's statistics now as the new baseline (its
     * bookkeeping while offline is not guest time). On the vCPU thread or a thread that changes the
     * vCPU (up, down, pause); blocks on the lock.
     */
    public void transition(Activity next, int shownState, boolean mayBlock) {
        checkState(shownState);
        lock.lock();
        try {
            step(clock.getAsLong(), true, shownState, mayBlock);
            if (activity == Activity.OFFLINE && next != Activity.OFFLINE) {
                rebaseline();
            } else if (next == Activity.WAITING && activity == Activity.GUEST) {
                dropRunDelayBacklog();
            }
            activity = next;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The vCPU thread after an exit: a step, shown as its own thread sees it, when the latest is
     * at least {@code periodNanos} old; otherwise (and with a period of 0) only a clock read.
     * Never waits for the lock.
     */
    public void tick(long periodNanos) {
        if (periodNanos <= 0) {
            return;
        }
        long now = clock.getAsLong();
        if (now - lastStep < periodNanos || !lock.tryLock()) {
            return;
        }
        try {
            step(now, true, -1, true);
        } finally {
            lock.unlock();
        }
    }

    /**
     * A host thread, periodically: a step when the latest is at least {@code periodNanos} old,
     * shown by the dominant state of the interval. Never waits: not for the lock (its holder is
     * stepping) and not for the area's cache (the update is given up). Returns true when it stepped.
     */
    public boolean sampleFromHost(long periodNanos) {
        long now = clock.getAsLong();
        if (now - lastStep < periodNanos) {
            return false;
        }
        if (!lock.tryLock()) {
            hostGiveUps.increment();
            return false;
        }
        try {
            step(now, false, -1, false);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The record accounted up to now ({@code VCPUOP_get_runstate_info}): a step, then the account.
     * {@code onVcpuThread} says whether the caller is the vCPU itself. Blocks on the lock.
     */
    public RunstateAccount.Snapshot current(boolean onVcpuThread) {
        lock.lock();
        try {
            step(clock.getAsLong(), onVcpuThread, -1, true);
            return account.snapshot();
        } finally {
            lock.unlock();
        }
    }

    /**
     * {@code VCPUOP_register_runstate_memory_area}: registers the area at {@code gva} (0
     * unregisters), and on success writes the record accounted up to now. Returns 0 or a negative
     * Xen errno.
     */
    public int register(GuestVirtualMemory g, long gva, WordSize w, boolean onVcpuThread) {
        lock.lock();
        try {
            int rc = area.register(g, gva, w);
            if (rc == 0 && gva != 0) {
                step(clock.getAsLong(), onVcpuThread, -1, true);
            }
            return rc;
        } finally {
            lock.unlock();
        }
    }

    /** Registers the area again from captured values ({@link RunstateArea#restore}) and writes the record. */
    public int restoreArea(long gva, long gpa, long secondPageGpa, WordSize w) {
        lock.lock();
        try {
            int rc = area.restore(gva, gpa, secondPageGpa, w);
            if (rc == 0) {
                writeArea(true);
            }
            return rc;
        } finally {
            lock.unlock();
        }
    }

    /** Registers the area at a guest-physical address ({@link RunstateArea#register(long, long, WordSize)}). */
    public int register(long gpa, long secondPageGpa, WordSize w) {
        lock.lock();
        try {
            int rc = area.register(gpa, secondPageGpa, w);
            if (rc == 0) {
                writeArea(true);
            }
            return rc;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The host sets the record (KVM's {@code KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_DATA}): the guest's area
     * shows exactly these values at once, and accounting continues from them with the time after
     * this call. Returns false, changing nothing, unless the state is 0..3, every time is
     * non-negative, {@code stateEntryTime} is their sum and not after the current system time.
     * Any thread; blocks on the lock.
     */
    public boolean setData(int state, long stateEntryTime, long running, long runnable, long blocked, long offline) {
        lock.lock();
        try {
            long now = clock.getAsLong();
            if (stateEntryTime > now || !account.setData(state, stateEntryTime, running, runnable, blocked, offline)) {
                return false;
            }
            lastWall = Math.max(lastWall, now);
            lastStep = lastWall;
            if (activity != Activity.OFFLINE) {
                rebaseline();
            }
            writeArea(true);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The host adds deltas to the record (KVM's {@code KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADJUST}):
     * {@code dStateEntryTime} must be the sum of the four deltas, no time may go negative, and the
     * entry time may not pass the current system time (the time from the latest accounting step
     * up to a new entry time is then taken as covered by the deltas); {@code state} is the new
     * state, or -1 to keep it. The area shows the result at once. Returns false, changing nothing, when a rule is
     * broken. Any thread; blocks on the lock.
     */
    public boolean adjust(int state, long dStateEntryTime, long dRunning, long dRunnable, long dBlocked,
            long dOffline) {
        if (state != -1 && (state < Runstate.RUNNING || state > Runstate.OFFLINE)) {
            return false;
        }
        lock.lock();
        try {
            RunstateAccount.Snapshot s = account.snapshot();
            if (dStateEntryTime != dRunning + dRunnable + dBlocked + dOffline
                    || s.stateEntryTime() + dStateEntryTime > clock.getAsLong()
                    || !account.adjust(state, dRunning, dRunnable, dBlocked, dOffline)) {
                return false;
            }
            // time between the latest step and an entry time moved past it counts as covered by the
            // deltas: so the entry time never passes the time of the latest step, nor now
            lastWall = Math.max(lastWall, s.stateEntryTime() + dStateEntryTime);
            writeArea(true);
            return true;
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ the accounting step

    /**
     * Accounts {@code [lastWall, now)}; shows {@code shown}, or (-1) the state the rules give.
     * Holds the lock.
     */
    private void step(long now, boolean ownThread, int shown, boolean mayBlock) {
        long d = Math.max(0, now - lastWall);
        lastWall = Math.max(lastWall, now);
        lastStep = lastWall;
        long running = 0;
        long runnable = 0;
        long blocked = 0;
        long offline = 0;
        if (activity == Activity.OFFLINE) {
            offline = d;
        } else {
            SchedStat.Sample t = times.read();
            if (t != null && baseOnCpu >= 0 && t.onCpuNanos() >= baseOnCpu && t.runDelayNanos() >= baseRunDelay
                    && activity == Activity.WAITING) {
                // waiting in block/poll: the guest runs nothing, so the interval is blocked except
                // for real run delay; on-CPU time not yet counted (the counter lags up to a tick
                // behind the guest's running before the wait) is left for the next guest interval
                runnable = Math.min(t.runDelayNanos() - baseRunDelay, d);
                blocked = d - runnable;
                baseRunDelay += runnable;
            } else if (t != null && baseOnCpu >= 0 && t.onCpuNanos() >= baseOnCpu && t.runDelayNanos() >= baseRunDelay) {
                running = Math.min(t.onCpuNanos() - baseOnCpu, d);
                runnable = Math.min(t.runDelayNanos() - baseRunDelay, d - running);
                blocked = d - running - runnable;
                baseOnCpu += running;
                baseRunDelay += runnable;
            } else {
                // no statistics, or none to compare with yet (or a counter went back): the activity decides
                if (activity == Activity.GUEST) {
                    running = d;
                } else {
                    blocked = d;
                }
                baseOnCpu = t == null ? -1 : t.onCpuNanos();
                baseRunDelay = t == null ? -1 : t.runDelayNanos();
            }
        }
        int state = shown >= 0 ? shown : shownState(ownThread, d, running, runnable, blocked);
        account.advance(state, running, runnable, blocked, offline);
        writeArea(mayBlock);
    }

    private int shownState(boolean ownThread, long d, long running, long runnable, long blocked) {
        if (activity == Activity.OFFLINE) {
            return Runstate.OFFLINE;
        }
        if (ownThread) {
            return activity == Activity.GUEST ? Runstate.RUNNING : Runstate.BLOCKED;
        }
        if (d < MIN_CLASSIFY_NANOS) {
            int now = account.state();
            return now == Runstate.OFFLINE ? (activity == Activity.GUEST ? Runstate.RUNNING : Runstate.BLOCKED) : now;
        }
        if (running >= runnable && running >= blocked) {
            return Runstate.RUNNING;
        }
        return runnable >= blocked ? Runstate.RUNNABLE : Runstate.BLOCKED;
    }

    private void rebaseline() {
        SchedStat.Sample t = times.read();
        baseOnCpu = t == null ? -1 : t.onCpuNanos();
        baseRunDelay = t == null ? -1 : t.runDelayNanos();
    }

    private static void checkState(int s) {
        if (s < Runstate.RUNNING || s > Runstate.OFFLINE) {
            throw new IllegalArgumentException("not a runstate: " + s);
        }
    }
}

package org.jxen.gpc;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A gfn-to-pfn cache: a guest area {@code [gpa, gpa + length)} kept translated to host memory,
 * so that the host can read and write it quickly and safely from any thread while the guest's
 * memory map and the host's mappings change underneath.
 *
 * <h2>Use</h2>
 * <pre>{@code
 * MappedArea area = cache.lock();          // refreshes if needed; null when it cannot map
 * if (area != null) {
 *     try {
 *         area.getAndBitwiseOrLong(off, bit);
 *     } finally {
 *         cache.unlock();
 *     }
 * }
 * }</pre>
 * {@link #lock()} returns the host view of exactly the cached bytes, valid until {@link #unlock()};
 * failure is the value {@code null} with the reason in {@link #lastStatus()}, never an exception.
 * {@link #tryLock()} never blocks and never refreshes. {@link #check()} and {@link #refresh()} are
 * the lower-level steps.
 *
 * <h2>States</h2>
 * Inactive; active but not valid (for example the gpa is not backed now: legal, the cache
 * refreshes later); valid. Valid implies active, a mapping for the current gpa and length,
 * translated under the memory map that is current (a generation change forces re-translation).
 * The length is fixed at activation; re-activation changes it.
 *
 * <h2>Threads and ordering</h2>
 * <ul>
 * <li>{@code lock}/{@code tryLock}/{@code unlock}: any thread; {@code unlock} on the thread that
 * locked. The critical section must not block. A thread may hold several caches (up to 8);
 * take them in a fixed order (shared_info before vcpu_info). A {@code lock()} made while the
 * thread already holds another cache never waits for an invalidation: if the cache cannot be
 * refreshed at once it fails with {@link GpcStatus#BUSY}, so that an invalidation waiting for
 * the held cache can never deadlock with it.</li>
 * <li>{@code activate}, {@code deactivate}, {@code refresh}: any thread not inside this cache;
 * serialised with each other by a mutex, so two refreshes never both install a mapping.</li>
 * <li>Invalidation ({@link GuestMemory}) never waits for a refresher, only for readers to leave.
 * When it returns, no reader is inside the old mapping, and no later {@code lock()} returns it.</li>
 * </ul>
 * Writes made through the view before {@code unlock()} happen-before the return of any
 * invalidation or deactivation that waits for that reader.
 */
public final class GfnToPfnCache {
    /** The largest area one cache maps: 16 pages. */
    public static final long MAX_LENGTH = 16 * HostMemory.PAGE_SIZE;

    private static final java.util.concurrent.atomic.AtomicLong IDS = new java.util.concurrent.atomic.AtomicLong();

    private final GuestMemory memory;
    private final String name;
    /** Non-zero, unique in the process: what reader slots record. */
    private final long id = IDS.incrementAndGet();
    /** Serialises activate, deactivate and refresh. */
    private final ReentrantLock refreshLock = new ReentrantLock();
    /** Orders publication of a mapping against invalidation's check-and-clear. */
    private final Object stateLock = new Object();

    private volatile boolean active;
    private volatile long gpa = -1;
    private volatile long length;
    /** Non-null exactly when the cache is valid (modulo the generation check in lock). */
    private volatile MappedArea mapping;
    private volatile GpcStatus lastStatus = GpcStatus.NOT_ACTIVE;
    /**
     * Mappings taken out of service whose readers may not all have left yet; guarded by
     * {@code stateLock}. An invalidation that overlaps one of them must wait for readers even when
     * the current mapping is null or elsewhere: a null mapping does not mean that no reader is inside.
     */
    private MappedArea[] retired = NO_MAPPINGS;
    private static final MappedArea[] NO_MAPPINGS = new MappedArea[0];

    private final List<Consumer<GfnToPfnCache>> invalidationListeners = new CopyOnWriteArrayList<>();
    private final LongAdder refreshes = new LongAdder();
    private final LongAdder invalidations = new LongAdder();
    private final LongAdder lockMisses = new LongAdder();
    private final LongAdder lockFailures = new LongAdder();

    GfnToPfnCache(GuestMemory memory, String name) {
        this.memory = memory;
        this.name = name;
    }

    public String name() {
        return name;
    }

    public GuestMemory memory() {
        return memory;
    }

    // ------------------------------------------------------------------ hot path

    /**
     * Locks the cache for access, refreshing it first when needed. Returns the host view of exactly
     * the cached bytes, valid until {@link #unlock()}, or {@code null} when the area cannot be mapped
     * now ({@link #lastStatus()} says why; then there is nothing to unlock).
     */
    public MappedArea lock() {
        MappedArea m = tryLock();
        return m != null ? m : lockSlow(ReaderSlots.current());
    }

    /**
     * Locks the cache if it is valid now; never blocks and never refreshes. Returns the view, or
     * {@code null} (nothing to unlock).
     */
    public MappedArea tryLock() {
        ReaderSlots.Slot slot = ReaderSlots.current();
        slot.enter(id);
        MappedArea m = mapping;
        if (m != null && m.map() == memory.currentMap()) {
            return m; // enter counted the hit
        }
        slot.backOut(id);
        return lockMissed();
    }

    /** Counts a lock that found the cache not valid; out of line, so that the hit path stays small. */
    private MappedArea lockMissed() {
        lockMisses.increment();
        memory.cacheStats().lockMisses.increment();
        return null;
    }

    /** Leaves the critical section that the last successful {@code lock()}/{@code tryLock()} opened. */
    public void unlock() {
        ReaderSlots.current().exit(id);
    }

    private MappedArea lockSlow(ReaderSlots.Slot slot) {
        boolean mayWait = slot.depth() == 0;
        for (int attempt = 0; attempt < 1000; attempt++) {
            GpcStatus st = refresh0(mayWait);
            if (st != GpcStatus.OK) {
                return lockFailed();
            }
            slot.enter(id);
            MappedArea m = mapping;
            if (m != null && m.map() == memory.currentMap()) {
                slot.uncountHit(); // a lock after a refresh is a miss, counted already
                return m;
            }
            slot.backOut(id);
            if (!mayWait) {
                break;
            }
        }
        lastStatus = GpcStatus.BUSY;
        return lockFailed();
    }

    private MappedArea lockFailed() {
        lockFailures.increment();
        memory.cacheStats().lockFailures.increment();
        return null;
    }

    // ------------------------------------------------------------------ lower-level API

    /**
     * True when the calling thread is inside any cache now (between a successful {@code lock()} or
     * {@code tryLock()} and its {@code unlock()}). Code that may wait for an invalidation (a memory
     * map change, a discard) checks this first: such a wait from inside a cache could deadlock.
     */
    public static boolean currentThreadHoldsAny() {
        return ReaderSlots.currentHoldsAny();
    }

    /** True when the cache is valid now for its gpa and length under the current memory map. */
    public boolean check() {
        MappedArea m = mapping;
        return m != null && m.map() == memory.currentMap();
    }

    public boolean isActive() {
        return active;
    }

    /** The guest-physical address the cache was activated on, or -1. */
    public long gpa() {
        return gpa;
    }

    /** The length fixed at activation. */
    public long length() {
        return length;
    }

    /** The outcome of the last activation, refresh or failed lock. */
    public GpcStatus lastStatus() {
        return lastStatus;
    }

    /** How many refreshes published a mapping. */
    public long refreshCount() {
        return refreshes.sum();
    }

    /** How many times an invalidation made this cache invalid. */
    public long invalidationCount() {
        return invalidations.sum();
    }

    /**
     * How many {@code lock()} and {@code tryLock()} calls found the cache not valid (a {@code lock()}
     * then refreshes). The hits are not counted per cache: see {@link CacheStats}.
     */
    public long lockMissCount() {
        return lockMisses.sum();
    }

    /** How many {@code lock()} calls returned {@code null}: the area could not be mapped then. */
    public long lockFailureCount() {
        return lockFailures.sum();
    }

    /**
     * Activates the cache on {@code [gpa, gpa + length)} and tries to map it. A bad length or address
     * returns {@link GpcStatus#BAD_LENGTH}/{@link GpcStatus#BAD_ADDRESS} and changes nothing. An
     * address that is not backed now is legal: the cache is active, not valid
     * ({@link GpcStatus#NOT_BACKED}), and refreshes later. Re-activation replaces the area; when it
     * returns, no reader is inside the old mapping.
     */
    public GpcStatus activate(long newGpa, long newLength) {
        if (newLength <= 0 || newLength > MAX_LENGTH) {
            return GpcStatus.BAD_LENGTH;
        }
        if (newGpa < 0 || newGpa > Long.MAX_VALUE - newLength) {
            return GpcStatus.BAD_ADDRESS;
        }
        requireNotInside("activate");
        refreshLock.lock();
        try {
            memory.register(this); // invalidations can see the cache before it can become valid
            synchronized (stateLock) {
                retireLocked(mapping);
                mapping = null;
                gpa = newGpa;
                length = newLength;
                active = true;
            }
            drainRetired();
            return refresh0(true);
        } finally {
            refreshLock.unlock();
        }
    }

    /**
     * Deactivates the cache. When this returns, lock and refresh fail, and no reader is inside the
     * old mapping. Idempotent.
     */
    public void deactivate() {
        requireNotInside("deactivate");
        refreshLock.lock();
        try {
            synchronized (stateLock) {
                retireLocked(mapping);
                mapping = null;
                active = false;
            }
            drainRetired();
            memory.unregister(this);
            lastStatus = GpcStatus.NOT_ACTIVE;
        } finally {
            refreshLock.unlock();
        }
    }

    /**
     * Re-translates the area under the current memory map, waiting while an invalidation is in
     * progress. Returns {@link GpcStatus#OK} when the cache is valid afterwards.
     */
    public GpcStatus refresh() {
        requireNotInside("refresh");
        return refresh0(true);
    }

    /** Registers a listener called (on the invalidating thread) each time an invalidation makes this cache invalid. */
    public void addInvalidationListener(Consumer<GfnToPfnCache> listener) {
        invalidationListeners.add(listener);
    }

    public void removeInvalidationListener(Consumer<GfnToPfnCache> listener) {
        invalidationListeners.remove(listener);
    }

    private GpcStatus refresh0(boolean mayWait) {
        if (mayWait) {
            refreshLock.lock();
        } else if (!refreshLock.tryLock()) {
            lastStatus = GpcStatus.BUSY;
            return GpcStatus.BUSY;
        }
        try {
            if (!active) {
                lastStatus = GpcStatus.NOT_ACTIVE;
                return GpcStatus.NOT_ACTIVE;
            }
            long g = gpa;
            long len = length;
            while (true) {
                long seq = memory.invalidationSequence();
                if (memory.invalidationsInProgress() > 0) {
                    if (!mayWait) {
                        lastStatus = GpcStatus.BUSY;
                        return GpcStatus.BUSY;
                    }
                    memory.awaitNoInvalidation();
                    continue;
                }
                MemoryMap map = memory.currentMap();
                Object translated = translate(map, g, len);
                if (translated instanceof GpcStatus failure) {
                    // A mapping still here was made under an older generation and was not invalidated
                    // (invalidations clear what they affect themselves), so it still describes memory
                    // that is correct for its readers: drop it without waiting for them.
                    synchronized (stateLock) {
                        retireLocked(mapping);
                        mapping = null;
                        pruneRetiredLocked();
                    }
                    lastStatus = failure;
                    return failure;
                }
                MappedArea m = (MappedArea) translated;
                synchronized (stateLock) {
                    // publish only if no invalidation began, ran or is running since we looked
                    if (memory.invalidationsInProgress() == 0 && memory.invalidationSequence() == seq
                            && memory.currentMap() == map) {
                        retireLocked(mapping);
                        mapping = m;
                        pruneRetiredLocked();
                        refreshes.increment();
                        memory.cacheStats().refreshes.increment();
                        lastStatus = GpcStatus.OK;
                        return GpcStatus.OK;
                    }
                }
                if (!mayWait) {
                    lastStatus = GpcStatus.BUSY;
                    return GpcStatus.BUSY;
                }
            }
        } finally {
            refreshLock.unlock();
        }
    }

    /** Translates {@code [g, g + len)} under {@code map}: a MappedArea, or the GpcStatus of the failure. */
    private static Object translate(MemoryMap map, long g, long len) {
        int count = 0;
        MemorySegment[] parts = new MemorySegment[2];
        long[] starts = new long[2];
        Memslot[] slots = new Memslot[2];
        long done = 0;
        while (done < len) {
            Memslot s = map.find(g + done);
            if (s == null) {
                return GpcStatus.NOT_BACKED;
            }
            if (s.isReadOnly()) {
                return GpcStatus.READ_ONLY;
            }
            long chunk = Math.min(len - done, s.end() - (g + done));
            if (count == parts.length) {
                parts = java.util.Arrays.copyOf(parts, count * 2);
                starts = java.util.Arrays.copyOf(starts, count * 2);
                slots = java.util.Arrays.copyOf(slots, count * 2);
            }
            parts[count] = s.hostSlice(g + done, chunk);
            starts[count] = done;
            slots[count] = s;
            count++;
            done += chunk;
        }
        return new MappedArea(g, len, map, java.util.Arrays.copyOf(parts, count),
                java.util.Arrays.copyOf(starts, count), java.util.Arrays.copyOf(slots, count));
    }

    /**
     * Called by invalidations: clears the mapping if {@code affected} holds for it, then waits until
     * no reader is inside it or inside any other retired mapping that {@code affected} holds for.
     * Always takes {@code stateLock} (never taken by readers), so that a refresh's check-and-publish
     * and this check-and-clear are atomic with respect to each other.
     */
    void invalidateIf(Predicate<MappedArea> affected) {
        boolean cleared;
        synchronized (stateLock) {
            MappedArea m = mapping;
            cleared = m != null && affected.test(m);
            if (cleared) {
                retireLocked(m);
                mapping = null;
            }
            boolean mustWait = cleared;
            for (MappedArea r : retired) {
                mustWait |= affected.test(r);
            }
            if (!mustWait) {
                return; // nothing of ours in the range: leave readers alone
            }
        }
        drainRetired();
        if (cleared) {
            invalidations.increment();
            memory.cacheStats().invalidations.increment();
            for (Consumer<GfnToPfnCache> l : invalidationListeners) {
                l.accept(this);
            }
        }
    }

    /** Records a mapping taken out of service. Caller holds {@code stateLock}. */
    private void retireLocked(MappedArea m) {
        if (m != null) {
            MappedArea[] r = java.util.Arrays.copyOf(retired, retired.length + 1);
            r[retired.length] = m;
            retired = r;
        }
    }

    /**
     * Forgets retired mappings when no reader is inside the cache right now (a reader that took a
     * retired mapping entered before it was retired, so the scan sees it). Caller holds
     * {@code stateLock}; never waits.
     */
    private void pruneRetiredLocked() {
        if (retired.length > 0 && !ReaderSlots.anyReader(id)) {
            retired = NO_MAPPINGS;
        }
    }

    /**
     * Waits until no thread is between {@code lock()} and {@code unlock()} of this cache: every
     * critical section that began before the call has ended when it returns (a grace period, for a
     * writer that redirected its readers elsewhere and must see their last writes). Not from a
     * thread that holds this cache.
     */
    public void awaitReaders() {
        requireNotInside("await the readers of");
        ReaderSlots.awaitNoReader(id);
    }

    /** Waits for readers, then forgets every mapping that was retired before the wait began. */
    private void drainRetired() {
        MappedArea[] before;
        synchronized (stateLock) {
            before = retired;
        }
        if (before.length == 0) {
            return;
        }
        ReaderSlots.awaitNoReader(id);
        synchronized (stateLock) {
            java.util.List<MappedArea> left = new java.util.ArrayList<>(java.util.List.of(retired));
            for (MappedArea m : before) {
                left.remove(m);
            }
            retired = left.toArray(NO_MAPPINGS);
        }
    }

    private void requireNotInside(String what) {
        if (ReaderSlots.currentHolds(id)) {
            throw new IllegalStateException("cannot " + what + " cache '" + name + "' while this thread holds its lock");
        }
    }

    @Override
    public String toString() {
        MappedArea m = mapping;
        return "gfn-to-pfn cache '" + name + "' " + (active ? "active" : "inactive") + " gpa 0x"
                + Long.toHexString(gpa) + " length " + length + (m != null ? " valid" : " not valid");
    }
}

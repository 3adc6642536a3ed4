package org.jxen.gpc;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * A guest's physical memory: its memory map (memslots), host-range invalidation in the manner of
 * KVM's MMU notifier, the registry of its {@link GfnToPfnCache}s, and reads and writes by
 * guest-physical address.
 *
 * <h2>Memory map</h2>
 * The map is an immutable {@link MemoryMap} replaced whole on every change (read-copy-update),
 * with a generation number that grows by one per change. A change runs as an invalidation: while it
 * is in progress no cache refresh can publish a mapping; caches whose mapping uses a slot that is
 * removed, moved or re-flagged are made invalid, and the change waits until no thread is inside
 * them, before it is published. Listeners hear every change.
 *
 * <h2>Host-range invalidation</h2>
 * {@link #invalidateHostRange} begins an invalidation of part of a {@link HostMemory} (before the
 * host remaps or discards it) and the returned handle ends it. Between begin and end there is an
 * active invalidation count above zero; each begin and end advances a sequence number. When begin
 * returns, no cache whose mapping overlaps the range is valid and no thread is inside one; a refresh
 * that overlaps any invalidation retries and never publishes.
 *
 * <h2>Threads</h2>
 * Reads and writes by gpa, {@link #currentMap()} and the cache API may be used from any thread.
 * Memory-map changes are serialised on this object's monitor and may come from any thread that is
 * not inside a cache. Invalidations may overlap each other and come from any thread that is not
 * inside a cache. The publication of a new map happens-before any read that observes it.
 */
public final class GuestMemory {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private final String name;
    private volatile MemoryMap map = MemoryMap.empty();
    private final AtomicLong invalidationsInProgress = new AtomicLong();
    private final AtomicLong invalidationSequence = new AtomicLong();
    private final Object invalidationEnded = new Object();
    private final Set<GfnToPfnCache> caches = ConcurrentHashMap.newKeySet();
    private final List<MemoryMapListener> listeners = new CopyOnWriteArrayList<>();
    private final CacheStats cacheStats = new CacheStats();

    public GuestMemory(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** The current memory map (a volatile read). */
    public MemoryMap currentMap() {
        return map;
    }

    /** The current memory map's generation. */
    public long generation() {
        return map.generation();
    }

    public void addListener(MemoryMapListener listener) {
        listeners.add(listener);
    }

    public void removeListener(MemoryMapListener listener) {
        listeners.remove(listener);
    }

    /** A new cache on this memory, not yet active. */
    public GfnToPfnCache newCache(String cacheName) {
        return new GfnToPfnCache(this, cacheName);
    }

    // ------------------------------------------------------------------ memory-map changes

    /** Adds a memslot. Rejects overlapping slots, reused ids and closed memory. */
    public synchronized Memslot addSlot(int id, long gpa, long size, HostMemory memory, long memoryOffset, int flags) {
        Memslot slot = new Memslot(id, gpa, size, memory, memoryOffset, flags);
        MemoryMap old = map;
        MemoryMap next = old.with(old.generation() + 1, slot, null);
        memory.retainForSlot();
        try {
            change(new MemoryMapListener.Change(MemoryMapListener.Kind.ADD, null, slot, old, next), null);
        } catch (RuntimeException e) {
            memory.releaseFromSlot();
            throw e;
        }
        return slot;
    }

    /**
     * Adds a memslot with the lowest id at or above {@code firstId} that no slot has, atomically with
     * respect to other changes; as {@link #addSlot} otherwise.
     */
    public synchronized Memslot addSlotWithFreeId(int firstId, long gpa, long size, HostMemory memory, long memoryOffset,
            int flags) {
        int id = firstId;
        while (map.byId(id) != null) {
            id++;
        }
        return addSlot(id, gpa, size, memory, memoryOffset, flags);
    }

    /** Removes memslot {@code id}: when this returns, no cache maps it and no thread is inside one that did. */
    public synchronized Memslot removeSlot(int id) {
        MemoryMap old = map;
        Memslot slot = requireSlot(old, id);
        MemoryMap next = old.with(old.generation() + 1, null, slot);
        change(new MemoryMapListener.Change(MemoryMapListener.Kind.REMOVE, slot, null, old, next), slot);
        slot.memory().releaseFromSlot();
        return slot;
    }

    /** Moves memslot {@code id} to a new guest-physical address, keeping its host memory. */
    public synchronized Memslot moveSlot(int id, long newGpa) {
        MemoryMap old = map;
        Memslot slot = requireSlot(old, id);
        Memslot moved = slot.movedTo(newGpa);
        MemoryMap next = old.with(old.generation() + 1, moved, slot);
        change(new MemoryMapListener.Change(MemoryMapListener.Kind.MOVE, slot, moved, old, next), slot);
        return moved;
    }

    /** Changes memslot {@code id}'s flags ({@link Memslot#READONLY}, {@link Memslot#LOG_DIRTY_PAGES}). */
    public synchronized Memslot setSlotFlags(int id, int flags) {
        MemoryMap old = map;
        Memslot slot = requireSlot(old, id);
        Memslot changed = slot.withFlags(flags);
        MemoryMap next = old.with(old.generation() + 1, changed, slot);
        change(new MemoryMapListener.Change(MemoryMapListener.Kind.FLAGS, slot, changed, old, next), slot);
        return changed;
    }

    private static Memslot requireSlot(MemoryMap m, int id) {
        Memslot s = m.byId(id);
        if (s == null) {
            throw new IllegalArgumentException("no memslot " + id + " in " + m);
        }
        return s;
    }

    /**
     * Runs one change as an invalidation: no refresh publishes while it runs; caches that use
     * {@code affected} are invalidated (and drained of readers) before listeners hear it and
     * before the new map is published. A listener that throws abandons the change.
     */
    private void change(MemoryMapListener.Change change, Memslot affected) {
        requireNotInsideCache("change the memory map");
        begin();
        try {
            if (affected != null) {
                invalidateCaches(m -> m.usesSlot(affected));
            }
            for (MemoryMapListener l : listeners) {
                l.memoryMapChanged(change);
            }
            map = change.newMap();
        } finally {
            end();
        }
    }

    // ------------------------------------------------------------------ host-range invalidation

    /** An invalidation in progress; {@link #close()} ends it (once). */
    public final class HostRangeInvalidation implements AutoCloseable {
        private final HostMemory memory;
        private final long offset;
        private final long length;
        private boolean ended;

        private HostRangeInvalidation(HostMemory memory, long offset, long length) {
            this.memory = memory;
            this.offset = offset;
            this.length = length;
        }

        public HostMemory memory() {
            return memory;
        }

        public long offset() {
            return offset;
        }

        public long length() {
            return length;
        }

        /** Ends the invalidation: caches may refresh again. Idempotent. */
        @Override
        public synchronized void close() {
            if (!ended) {
                ended = true;
                end();
            }
        }
    }

    /**
     * Begins an invalidation of {@code [offset, offset + length)} of {@code memory}, before the host
     * remaps or discards it. When this returns, no cache that maps any byte of the range is valid,
     * and no thread is inside one. Refreshes wait (or, when they may not wait, fail with
     * {@link GpcStatus#BUSY}) until the returned handle is closed.
     */
    public HostRangeInvalidation invalidateHostRange(HostMemory memory, long offset, long length) {
        if (offset < 0 || length <= 0 || offset > memory.size() - length) {
            throw new IllegalArgumentException("range [" + offset + ", +" + length + ") is outside " + memory);
        }
        requireNotInsideCache("invalidate a host range");
        begin();
        try {
            invalidateCaches(m -> m.overlapsHost(memory, offset, length));
        } catch (RuntimeException | Error e) {
            end();
            throw e;
        }
        return new HostRangeInvalidation(memory, offset, length);
    }

    /**
     * Gives pages of host memory back to the host inside an invalidation (the balloon path): caches
     * over them are invalidated first, and the pages read as zero afterwards.
     */
    public void discard(HostMemory memory, long offset, long length) {
        memory.checkRange(offset, length);
        try (HostRangeInvalidation inv = invalidateHostRange(memory, offset, length)) {
            memory.discardPages(offset, length);
        }
    }

    /**
     * Gives back the host pages behind the guest-physical range {@code [gpa, gpa + length)}
     * (page-aligned, possibly across memslots): for each memslot piece, {@link #discard} of the
     * host range behind it, so every cache over those pages (through any slot that maps them) is
     * invalidated and drained before the pages go. The pages read as zero afterwards; the memslots
     * stay, so a later guest or host access finds fresh zeroed pages (and takes host memory again).
     * Serialised with memory-map changes, so the slots cannot change between translation and
     * discard.
     *
     * @throws IllegalArgumentException when the range is not page-aligned or any page of it is not
     *         backed by a writable memslot now (then nothing is discarded)
     * @throws IllegalStateException when the calling thread is inside a cache
     */
    public synchronized void discardGuestRange(long gpa, long length) {
        if (gpa < 0 || length <= 0 || gpa % HostMemory.PAGE_SIZE != 0 || length % HostMemory.PAGE_SIZE != 0
                || gpa > Long.MAX_VALUE - length) {
            throw new IllegalArgumentException("guest range [0x" + Long.toHexString(gpa) + ", +0x"
                    + Long.toHexString(length) + ") is not page-aligned");
        }
        requireNotInsideCache("discard guest memory");
        MemoryMap m = map;
        for (long done = 0; done < length; ) {
            Memslot s = m.find(gpa + done);
            if (s == null || s.isReadOnly()) {
                throw new IllegalArgumentException("guest page 0x" + Long.toHexString(gpa + done)
                        + (s == null ? " is not backed" : " is read-only") + " in " + m);
            }
            done += Math.min(length - done, s.end() - (gpa + done));
        }
        for (long done = 0; done < length; ) {
            Memslot s = m.find(gpa + done);
            long chunk = Math.min(length - done, s.end() - (gpa + done));
            discard(s.memory(), s.memoryOffset() + (gpa + done - s.gpa()), chunk);
            done += chunk;
        }
    }

    /** The number of invalidations (host-range or memory-map) in progress now. */
    public long invalidationsInProgress() {
        return invalidationsInProgress.get();
    }

    /** Advances at every begin and end of an invalidation. */
    public long invalidationSequence() {
        return invalidationSequence.get();
    }

    private void begin() {
        invalidationsInProgress.incrementAndGet();
        invalidationSequence.incrementAndGet();
    }

    private void end() {
        invalidationSequence.incrementAndGet();
        long left = invalidationsInProgress.decrementAndGet();
        if (left < 0) {
            throw new IllegalStateException("invalidation ended more often than it began");
        }
        if (left == 0) {
            synchronized (invalidationEnded) {
                invalidationEnded.notifyAll();
            }
        }
    }

    /** Waits until no invalidation is in progress. Used by refreshes that may block. */
    void awaitNoInvalidation() {
        for (int spins = 0; spins < 200 && invalidationsInProgress.get() > 0; spins++) {
            Thread.onSpinWait();
        }
        if (invalidationsInProgress.get() == 0) {
            return;
        }
        synchronized (invalidationEnded) {
            boolean interrupted = false;
            while (invalidationsInProgress.get() > 0) {
                try {
                    invalidationEnded.wait(1);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void invalidateCaches(Predicate<MappedArea> affected) {
        for (GfnToPfnCache c : caches) {
            c.invalidateIf(affected);
        }
    }

    private static void requireNotInsideCache(String what) {
        if (ReaderSlots.currentHoldsAny()) {
            throw new IllegalStateException("cannot " + what + " while this thread holds a gfn-to-pfn cache lock");
        }
    }

    void register(GfnToPfnCache cache) {
        caches.add(cache);
    }

    void unregister(GfnToPfnCache cache) {
        caches.remove(cache);
    }

    /** The caches registered now (active, or activating). */
    public int cacheCount() {
        return caches.size();
    }

    /** A snapshot of the caches registered now (active, or activating), sorted by name; any thread. */
    public List<GfnToPfnCache> caches() {
        return caches.stream().sorted(java.util.Comparator.comparing(GfnToPfnCache::name)).toList();
    }

    /** The counts of every cache of this memory, deactivated ones included. */
    public CacheStats cacheStats() {
        return cacheStats;
    }

    // ------------------------------------------------------------------ reads and writes by gpa

    /**
     * Reads exactly {@code dst.byteSize()} bytes at {@code gpa}, across memslots if needed.
     * Returns false, with {@code dst} partly written, if any byte is not backed.
     */
    public boolean read(long gpa, MemorySegment dst) {
        return readPartial(gpa, dst) == dst.byteSize();
    }

    /** Reads up to {@code dst.byteSize()} bytes at {@code gpa}; returns how many leading bytes were backed and read. */
    public long readPartial(long gpa, MemorySegment dst) {
        return copy(gpa, dst, false);
    }

    /** Writes all of {@code src} at {@code gpa}. Returns false if any byte is not backed or is read-only. */
    public boolean write(long gpa, MemorySegment src) {
        return writePartial(gpa, src) == src.byteSize();
    }

    /** Writes up to {@code src.byteSize()} bytes at {@code gpa}; returns how many leading bytes were written. */
    public long writePartial(long gpa, MemorySegment src) {
        return copy(gpa, src, true);
    }

    /** True when every byte of {@code [gpa, gpa + length)} is backed now. */
    public boolean isBacked(long gpa, long length) {
        MemoryMap m = map;
        long done = 0;
        while (done < length) {
            if (gpa + done < 0) {
                return false;
            }
            Memslot s = m.find(gpa + done);
            if (s == null) {
                return false;
            }
            done += s.end() - (gpa + done);
        }
        return true;
    }

    private long copy(long gpa, MemorySegment buffer, boolean toGuest) {
        long n = buffer.byteSize();
        if (gpa < 0 || gpa > Long.MAX_VALUE - n) {
            return 0;
        }
        MemoryMap m = map;
        long done = 0;
        try {
            while (done < n) {
                Memslot s = m.find(gpa + done);
                if (s == null || (toGuest && s.isReadOnly())) {
                    break;
                }
                long chunk = Math.min(n - done, s.end() - (gpa + done));
                MemorySegment host = s.hostSlice(gpa + done, chunk);
                if (toGuest) {
                    MemorySegment.copy(buffer, done, host, 0, chunk);
                } else {
                    MemorySegment.copy(host, 0, buffer, done, chunk);
                }
                done += chunk;
            }
        } catch (IllegalStateException closedUnderUs) {
            // the slot was removed and its memory closed after we read the map: not backed any more
        }
        return done;
    }

    public byte getByte(long gpa) {
        return hostFor(gpa, 1, false).get(ValueLayout.JAVA_BYTE, 0);
    }

    public void putByte(long gpa, byte value) {
        hostFor(gpa, 1, true).set(ValueLayout.JAVA_BYTE, 0, value);
    }

    public short getShort(long gpa) {
        return (short) getUnaligned(gpa, 2);
    }

    public void putShort(long gpa, short value) {
        putUnaligned(gpa, 2, value);
    }

    public int getInt(long gpa) {
        return (int) getUnaligned(gpa, 4);
    }

    public void putInt(long gpa, int value) {
        putUnaligned(gpa, 4, value);
    }

    public long getLong(long gpa) {
        return getUnaligned(gpa, 8);
    }

    public void putLong(long gpa, long value) {
        putUnaligned(gpa, 8, value);
    }

    public int getIntAcquire(long gpa) {
        return (int) INT.getAcquire(aligned(gpa, 4, false), 0L);
    }

    public void putIntRelease(long gpa, int value) {
        INT.setRelease(aligned(gpa, 4, true), 0L, value);
    }

    public int getIntVolatile(long gpa) {
        return (int) INT.getVolatile(aligned(gpa, 4, false), 0L);
    }

    public void putIntVolatile(long gpa, int value) {
        INT.setVolatile(aligned(gpa, 4, true), 0L, value);
    }

    public boolean compareAndSetInt(long gpa, int expected, int value) {
        return INT.compareAndSet(aligned(gpa, 4, true), 0L, expected, value);
    }

    public int getAndBitwiseOrInt(long gpa, int bits) {
        return (int) INT.getAndBitwiseOr(aligned(gpa, 4, true), 0L, bits);
    }

    public int getAndBitwiseAndInt(long gpa, int bits) {
        return (int) INT.getAndBitwiseAnd(aligned(gpa, 4, true), 0L, bits);
    }

    public int getAndAddInt(long gpa, int delta) {
        return (int) INT.getAndAdd(aligned(gpa, 4, true), 0L, delta);
    }

    public long getLongAcquire(long gpa) {
        return (long) LONG.getAcquire(aligned(gpa, 8, false), 0L);
    }

    public void putLongRelease(long gpa, long value) {
        LONG.setRelease(aligned(gpa, 8, true), 0L, value);
    }

    public long getLongVolatile(long gpa) {
        return (long) LONG.getVolatile(aligned(gpa, 8, false), 0L);
    }

    public void putLongVolatile(long gpa, long value) {
        LONG.setVolatile(aligned(gpa, 8, true), 0L, value);
    }

    public boolean compareAndSetLong(long gpa, long expected, long value) {
        return LONG.compareAndSet(aligned(gpa, 8, true), 0L, expected, value);
    }

    public long getAndBitwiseOrLong(long gpa, long bits) {
        return (long) LONG.getAndBitwiseOr(aligned(gpa, 8, true), 0L, bits);
    }

    public long getAndBitwiseAndLong(long gpa, long bits) {
        return (long) LONG.getAndBitwiseAnd(aligned(gpa, 8, true), 0L, bits);
    }

    public long getAndAddLong(long gpa, long delta) {
        return (long) LONG.getAndAdd(aligned(gpa, 8, true), 0L, delta);
    }

    private long getUnaligned(long gpa, int n) {
        MemoryMap m = map;
        Memslot s = gpa >= 0 ? m.find(gpa) : null;
        if (s != null && s.contains(gpa + n - 1)) {
            MemorySegment h = hostSliceOrFault(s, gpa, n);
            return switch (n) {
                case 8 -> h.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
                case 4 -> h.get(ValueLayout.JAVA_INT_UNALIGNED, 0) & 0xffff_ffffL;
                default -> h.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0) & 0xffffL;
            };
        }
        // across memslots (or not backed): piecewise through a small buffer
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment tmp = arena.allocate(8);
            if (readPartial(gpa, tmp.asSlice(0, n)) != n) {
                throw new GuestMemoryFault(gpa, "guest memory not backed");
            }
            return switch (n) {
                case 8 -> tmp.get(ValueLayout.JAVA_LONG, 0);
                case 4 -> tmp.get(ValueLayout.JAVA_INT, 0) & 0xffff_ffffL;
                default -> tmp.get(ValueLayout.JAVA_SHORT, 0) & 0xffffL;
            };
        }
    }

    private void putUnaligned(long gpa, int n, long value) {
        MemoryMap m = map;
        Memslot s = gpa >= 0 ? m.find(gpa) : null;
        if (s != null && s.contains(gpa + n - 1) && !s.isReadOnly()) {
            MemorySegment h = hostSliceOrFault(s, gpa, n);
            switch (n) {
                case 8 -> h.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, value);
                case 4 -> h.set(ValueLayout.JAVA_INT_UNALIGNED, 0, (int) value);
                default -> h.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) value);
            }
            return;
        }
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment tmp = arena.allocate(8);
            tmp.set(ValueLayout.JAVA_LONG, 0, value);
            if (!isBacked(gpa, n) || writePartial(gpa, tmp.asSlice(0, n)) != n) {
                throw new GuestMemoryFault(gpa, "guest memory not backed or read-only");
            }
        }
    }

    private MemorySegment aligned(long gpa, int n, boolean forWrite) {
        if ((gpa & (n - 1)) != 0) {
            throw new GuestMemoryFault(gpa, "misaligned " + n + "-byte atomic access");
        }
        return hostFor(gpa, n, forWrite);
    }

    private MemorySegment hostFor(long gpa, int n, boolean forWrite) {
        MemoryMap m = map;
        Memslot s = gpa >= 0 ? m.find(gpa) : null;
        if (s == null || !s.contains(gpa + n - 1)) {
            throw new GuestMemoryFault(gpa, "guest memory not backed");
        }
        if (forWrite && s.isReadOnly()) {
            throw new GuestMemoryFault(gpa, "guest memory is read-only");
        }
        return hostSliceOrFault(s, gpa, n);
    }

    private static MemorySegment hostSliceOrFault(Memslot s, long gpa, int n) {
        if (s.memory().isClosed()) {
            throw new GuestMemoryFault(gpa, "guest memory was removed");
        }
        return s.hostSlice(gpa, n);
    }

    @Override
    public String toString() {
        return "guest memory '" + name + "', " + map;
    }
}

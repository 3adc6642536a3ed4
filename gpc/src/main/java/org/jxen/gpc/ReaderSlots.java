package org.jxen.gpc;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;

/**
 * The per-thread record of which caches a thread is inside ({@code lock()} .. {@code unlock()}),
 * so that an invalidation can wait until no thread uses an old mapping.
 *
 * <p>Protocol (a Dekker handshake on volatile accesses): a reader first publishes the cache in its
 * own slot with a volatile store, then reads the cache's mapping with a volatile load; an
 * invalidator first clears the mapping with a volatile store, then reads every slot with volatile
 * loads. By sequential consistency of volatile accesses, either the reader sees the cleared mapping
 * (and backs out) or the invalidator sees the reader in its slot (and waits for it to leave).
 * Readers only ever write their own slot, so readers on different threads share no written cache
 * line.
 *
 * <p>Threads: {@link #current()} and a slot's {@code enter}/{@code exit} belong to the slot's own
 * thread; {@link #awaitNoReader} may be called from any thread.
 */
final class ReaderSlots {
    /** How many caches one thread may hold at once. */
    static final int MAX_NESTED = 8;

    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);
    /**
     * Longs of padding on each side of a slot's words: 16 longs = 128 bytes, two cache lines, so that
     * the words that readers write on every lock and unlock never share a cache line (or an adjacent
     * line that the hardware prefetches in pairs) with another thread's slot.
     */
    private static final int PAD = 16;
    /**
     * The word that the slot's thread writes at every enter and exit: the depth in its low
     * {@link #DEPTH_BITS} bits, the count of lock hits above them. The hit count so rides on a store
     * that the hit path makes anyway: counting costs no instruction more than a different constant.
     */
    private static final int DEPTH = PAD;
    private static final int DEPTH_BITS = 8;
    private static final long DEPTH_MASK = (1L << DEPTH_BITS) - 1;
    /** What an enter adds to the depth word: one level, and one hit unless counting is off. */
    private static final long ENTER = CacheStats.COUNTING ? (1L << DEPTH_BITS) + 1 : 1;
    private static final int HELD = PAD + 1;
    private static final Object REGISTRY_LOCK = new Object();
    private static volatile Slot[] all = new Slot[0];
    /** The lock hits of threads that ended and whose slots were dropped; guarded by REGISTRY_LOCK. */
    private static long endedThreadsHits;
    private static final ThreadLocal<Slot> CURRENT = ThreadLocal.withInitial(ReaderSlots::register);

    private ReaderSlots() {
    }

    /**
     * One thread's slot: the ids of the caches it is inside, in a padded {@code long[]} (ids rather
     * than references, so a lock stores no reference and pays no GC write barrier). The depth word
     * is owned by the slot's thread; the held words are read by invalidators.
     */
    static final class Slot {
        final Thread thread;
        private final long[] words = new long[PAD + 1 + MAX_NESTED + PAD];

        Slot(Thread thread) {
            this.thread = thread;
        }

        int depth() {
            return (int) (words[DEPTH] & DEPTH_MASK);
        }

        /**
         * Owner thread only. Publishes {@code cacheId} with a volatile store (a full fence), and counts
         * a hit; a caller that finds the cache not valid calls {@link #backOut}, which takes it back.
         */
        void enter(long cacheId) {
            long w = words[DEPTH];
            int d = (int) (w & DEPTH_MASK);
            if (d == MAX_NESTED) {
                throw new IllegalStateException("a thread may hold at most " + MAX_NESTED + " gfn-to-pfn caches at once");
            }
            WORD.setVolatile(words, HELD + d, cacheId);
            words[DEPTH] = w + ENTER;
        }

        /** Owner thread only: {@code unlock()}. Removes one entry for {@code cacheId}; release store. */
        void exit(long cacheId) {
            leave(cacheId, 1);
        }

        /** Owner thread only: an {@code enter} that found the cache not valid. Leaves, and uncounts the hit. */
        void backOut(long cacheId) {
            leave(cacheId, ENTER);
        }

        /** Owner thread only: the last {@code enter} succeeded, but after a refresh: not a hit. */
        void uncountHit() {
            words[DEPTH] -= ENTER - 1;
        }

        private void leave(long cacheId, long delta) {
            long w = words[DEPTH];
            int d = (int) (w & DEPTH_MASK);
            int i = d - 1;
            while (i >= 0 && words[HELD + i] != cacheId) {
                i--;
            }
            if (i < 0) {
                throw new IllegalStateException("unlock() of a gfn-to-pfn cache that this thread has not locked");
            }
            // shift later entries down; every entry stays visible in at least one place meanwhile
            for (int j = i; j < d - 1; j++) {
                WORD.setVolatile(words, HELD + j, words[HELD + j + 1]);
            }
            WORD.setRelease(words, HELD + d - 1, 0L);
            words[DEPTH] = w - delta;
        }

        /**
         * Any thread: the hits counted so far. The depth word is written with plain stores by one
         * thread, read here with an opaque load: a 64-bit JVM writes a {@code long} whole, and an
         * opaque read never sees an older value than one it saw before.
         */
        long hits() {
            return (long) WORD.getOpaque(words, DEPTH) >>> DEPTH_BITS;
        }

        boolean holds(long cacheId) {
            for (int i = 0; i < MAX_NESTED; i++) {
                if ((long) WORD.getVolatile(words, HELD + i) == cacheId) {
                    return true;
                }
            }
            return false;
        }
    }

    static Slot current() {
        return CURRENT.get();
    }

    /** True when the calling thread is inside any cache. */
    static boolean currentHoldsAny() {
        return CURRENT.get().depth() > 0;
    }

    static boolean currentHolds(long cache) {
        return CURRENT.get().holds(cache);
    }

    private static Slot register() {
        Slot s = new Slot(Thread.currentThread());
        synchronized (REGISTRY_LOCK) {
            Slot[] live = Arrays.stream(all).filter(x -> x.thread.isAlive()).toArray(Slot[]::new);
            for (Slot x : all) {
                if (!x.thread.isAlive()) {
                    // the thread's end happens-before isAlive() returning false: its last count is seen
                    endedThreadsHits += x.hits();
                }
            }
            Slot[] next = Arrays.copyOf(live, live.length + 1);
            next[live.length] = s;
            all = next;
        }
        return s;
    }

    /**
     * Waits until no thread other than the caller is inside {@code cache}. The caller must already
     * have made the cache's mapping unreachable (cleared it with a volatile store). Never waits for
     * a refresher, only for readers, whose critical sections do not block.
     */
    static void awaitNoReader(long cache) {
        Thread self = Thread.currentThread();
        for (Slot s : all) {
            if (s.thread == self) {
                continue;
            }
            int spins = 0;
            while (s.holds(cache)) {
                if (!s.thread.isAlive()) {
                    // a thread that died inside lock()..unlock() can no longer access anything
                    break;
                }
                spins++;
                if (spins < 256) {
                    Thread.onSpinWait();
                } else if (spins < 1024) {
                    Thread.yield();
                } else {
                    LockSupport.parkNanos(20_000);
                }
            }
        }
    }

    /** True when some thread other than the caller is inside {@code cache} now; never waits. */
    static boolean anyReader(long cache) {
        Thread self = Thread.currentThread();
        for (Slot s : all) {
            if (s.thread != self && s.holds(cache) && s.thread.isAlive()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The lock hits of every thread of the process so far (threads that ended included): a count
     * that never goes down. Any thread; takes the registry lock, so not for hot paths.
     */
    static long lockHits() {
        synchronized (REGISTRY_LOCK) {
            long sum = endedThreadsHits;
            for (Slot s : all) {
                sum += s.hits();
            }
            return sum;
        }
    }

    /** The number of registered slots (threads that have locked a cache and may still be alive). */
    static int registered() {
        return all.length;
    }
}

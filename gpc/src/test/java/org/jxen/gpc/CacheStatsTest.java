package org.jxen.gpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The counts that metrics read: lock hits per thread summed over the process, misses, refreshes, invalidations. */
class CacheStatsTest {
    static final long PAGE = HostMemory.PAGE_SIZE;

    HostMemory ram;
    GuestMemory memory;

    @BeforeEach
    void setUp() {
        ram = HostMemory.offHeap("ram", 8 * PAGE);
        memory = new GuestMemory("stats");
    }

    @AfterEach
    void tearDown() {
        for (Memslot s : memory.currentMap().slots()) {
            memory.removeSlot(s.id());
        }
        ram.close();
    }

    @Test
    void everyHitCountsOnceAndMissesRefreshesInvalidationsAreCountedPerCacheAndPerMemory() {
        assertTrue(CacheStats.COUNTING, "tests run with counting on");
        GfnToPfnCache c = memory.newCache("area");
        // legal: not backed yet, so the cache is active but not valid
        assertEquals(GpcStatus.NOT_BACKED, c.activate(PAGE, 64));
        long hits0 = CacheStats.lockHits();
        assertNull(c.lock());
        assertEquals(1, c.lockMissCount());
        assertEquals(1, c.lockFailureCount());
        assertNull(c.tryLock());
        assertEquals(2, c.lockMissCount());
        assertEquals(1, c.lockFailureCount(), "tryLock() fails by missing, it does not try to map");
        assertEquals(0, c.refreshCount());

        memory.addSlot(0, 0, 4 * PAGE, ram, 0, 0);
        assertNotNull(c.lock()); // a miss that refreshes
        c.unlock();
        assertEquals(3, c.lockMissCount());
        assertEquals(1, c.refreshCount());
        for (int i = 0; i < 1000; i++) {
            assertNotNull(c.lock());
            c.unlock();
            assertNotNull(c.tryLock());
            c.unlock();
        }
        assertEquals(3, c.lockMissCount(), "hits are not misses");
        assertEquals(hits0 + 2000, CacheStats.lockHits(), "no other thread of this test locks a cache");

        memory.removeSlot(0); // invalidates the cache
        assertEquals(1, c.invalidationCount());

        CacheStats s = memory.cacheStats();
        assertEquals(3, s.lockMisses());
        assertEquals(1, s.lockFailures());
        assertEquals(1, s.refreshes());
        assertEquals(1, s.invalidations());
        assertEquals(List.of(c), memory.caches());

        c.deactivate();
        assertEquals(List.of(), memory.caches());
        assertEquals(1, memory.cacheStats().refreshes(), "a memory's counts keep what its deactivated caches did");
    }

    @Test
    void hitsOfAThreadThatEndedAreKept() throws Exception {
        memory.addSlot(0, 0, 4 * PAGE, ram, 0, 0);
        GfnToPfnCache c = memory.newCache("area");
        assertEquals(GpcStatus.OK, c.activate(0, 64));
        long before = CacheStats.lockHits();
        Thread t = new Thread(() -> {
            for (int i = 0; i < 500; i++) {
                c.lock();
                c.unlock();
            }
        }, "stats-ended");
        t.start();
        t.join();
        assertEquals(before + 500, CacheStats.lockHits());
        // a new thread's first lock registers its slot and drops the ended thread's
        Thread u = new Thread(() -> {
            c.lock();
            c.unlock();
        }, "stats-next");
        u.start();
        u.join();
        assertEquals(before + 501, CacheStats.lockHits(), "the ended thread's hits moved, not lost or doubled");
        c.deactivate();
    }
}

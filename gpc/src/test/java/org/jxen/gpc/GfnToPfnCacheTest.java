package org.jxen.gpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The invariants of GPC-INVARIANTS.md, one test each (numbered as there), and the historical KVM
 * bugs, with the interleavings forced by latches where a test can force them.
 */
class GfnToPfnCacheTest {
    static final long PAGE = HostMemory.PAGE_SIZE;
    static final long WAIT_MS = 5_000;
    /** How long we watch a thread that must stay blocked. */
    static final long BLOCKED_MS = 200;

    /** One new thread per task: the common pool has a single worker on a 2-core machine. */
    static final java.util.concurrent.Executor NEW_THREAD = r -> {
        Thread t = new Thread(r, "gpc-test");
        t.setDaemon(true);
        t.start();
    };

    HostMemory ram;
    HostMemory other;
    GuestMemory memory;

    @BeforeEach
    void setUp() {
        ram = HostMemory.offHeap("ram", 16 * PAGE);
        other = HostMemory.offHeap("other", 16 * PAGE);
        memory = new GuestMemory("test");
        memory.addSlot(0, 0, 8 * PAGE, ram, 0, 0);
    }

    @AfterEach
    void tearDown() {
        for (Memslot s : memory.currentMap().slots()) {
            memory.removeSlot(s.id());
        }
        ram.close();
        other.close();
    }

    static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(WAIT_MS, TimeUnit.MILLISECONDS);
    }

    static void assertStillBlocked(CompletableFuture<?> f) throws Exception {
        assertThrows(TimeoutException.class, () -> f.get(BLOCKED_MS, TimeUnit.MILLISECONDS),
                "expected the operation to wait");
    }

    /** Runs {@code body} on a new thread that locks {@code cache} first and holds it until {@code release}. */
    static CompletableFuture<MappedArea> holdLock(GfnToPfnCache cache, CountDownLatch locked, CountDownLatch release,
            java.util.function.Consumer<MappedArea> whileLocked) {
        return CompletableFuture.supplyAsync(() -> {
            MappedArea a = cache.lock();
            locked.countDown();
            if (a == null) {
                return null;
            }
            try {
                release.await();
                whileLocked.accept(a);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            } finally {
                cache.unlock();
            }
            return a;
        }, r -> new Thread(r, "holder").start());
    }

    @Test
    void lockReturnsExactlyTheCachedBytes() {
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.OK, c.activate(PAGE + 24, 48));
        MappedArea a = c.lock();
        assertNotNull(a);
        try {
            assertEquals(48, a.length());
            assertEquals(1, a.partCount());
            assertEquals(48, a.segment().byteSize());
            assertEquals(ram.address() + PAGE + 24, a.segment().address());
            a.putLong(0, 0x1122334455667788L);
            a.putLong(40, -1L);
            assertThrows(IndexOutOfBoundsException.class, () -> a.getLong(41));
            assertThrows(IndexOutOfBoundsException.class, () -> a.putByte(48, (byte) 1));
            assertThrows(IndexOutOfBoundsException.class, () -> a.getByte(-1));
        } finally {
            c.unlock();
        }
        assertEquals(0x1122334455667788L, memory.getLong(PAGE + 24));
        assertEquals(-1L, memory.getLong(PAGE + 64));
        assertEquals(0, memory.getByte(PAGE + 72), "the byte after the area is untouched");
        assertEquals(0, memory.getByte(PAGE + 23), "the byte before the area is untouched");
    }

    @Test
    void invariant1ValidImpliesActive() {
        GfnToPfnCache c = memory.newCache("c");
        assertFalse(c.check());
        assertEquals(GpcStatus.OK, c.activate(0, 64));
        assertTrue(c.check() && c.isActive());
        c.deactivate();
        assertFalse(c.check());
        assertFalse(c.isActive());
        assertNull(c.lock());
        assertEquals(GpcStatus.NOT_ACTIVE, c.lastStatus());
        assertEquals(0, memory.cacheCount(), "a deactivated cache is no longer seen by invalidations");
    }

    @Test
    void invariant2And9GenerationChangeForcesRetranslationEvenForSameGpa() {
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.OK, c.activate(2 * PAGE, 8));
        long refreshes = c.refreshCount();
        memory.addSlot(1, 64 * PAGE, PAGE, other, 0, 0); // unrelated change: new generation
        assertFalse(c.check(), "a mapping from an older generation is not valid");
        MappedArea a = c.lock();
        assertNotNull(a);
        c.unlock();
        assertEquals(memory.generation(), a.generation());
        assertEquals(refreshes + 1, c.refreshCount());
    }

    @Test
    void invariant9MovingTheSlotUnderTheSameGpaMapsTheNewHostMemory() {
        memory.addSlot(1, 16 * PAGE, PAGE, other, 3 * PAGE, 0);
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.OK, c.activate(16 * PAGE + 8, 8));
        memory.removeSlot(0);
        memory.moveSlot(1, 0);
        memory.addSlot(0, 16 * PAGE, PAGE, ram, 5 * PAGE, 0);
        MappedArea a = c.lock();
        assertNotNull(a);
        try {
            a.putLong(0, 42);
        } finally {
            c.unlock();
        }
        assertEquals(42, ram.segment().get(ValueLayout.JAVA_LONG, 5 * PAGE + 8));
        assertEquals(0, other.segment().get(ValueLayout.JAVA_LONG, 3 * PAGE + 8));
    }

    @Test
    void invariant9MovingTheGpaWithinAPageUpdatesTheOffset() {
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.OK, c.activate(PAGE + 8, 8));
        assertEquals(GpcStatus.OK, c.activate(PAGE + 16, 8));
        MappedArea a = c.lock();
        try {
            assertEquals(PAGE + 16, a.gpa());
            a.putLong(0, 7);
        } finally {
            c.unlock();
        }
        assertEquals(7, memory.getLong(PAGE + 16));
        assertEquals(0, memory.getLong(PAGE + 8));
    }

    @Test
    void invariant3InvalidationWaitsForReadersAndLeavesNoValidCache() throws Exception {
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.OK, c.activate(PAGE, 8));
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<MappedArea> reader = holdLock(c, locked, release, a -> a.putLong(0, 99));
        assertTrue(locked.await(WAIT_MS, TimeUnit.MILLISECONDS));

        CompletableFuture<GuestMemory.HostRangeInvalidation> invalidation =
                CompletableFuture.supplyAsync(() -> memory.invalidateHostRange(ram, PAGE, PAGE), NEW_THREAD);
        assertStillBlocked(invalidation);
        assertFalse(c.check(), "the cache is invalid as soon as the invalidation begins");
        release.countDown();
        try (GuestMemory.HostRangeInvalidation inv = await(invalidation)) {
            assertNotNull(await(reader));
            assertEquals(99, memory.getLong(PAGE), "the reader's write happened before the invalidation returned");
            assertFalse(c.check());
            assertNull(c.tryLock(), "no lock while the invalidation is open");
            assertEquals(1, memory.invalidationsInProgress());
        }
        assertEquals(0, memory.invalidationsInProgress());
        assertNotNull(c.lock(), "refreshes after the invalidation ended");
        c.unlock();
        assertEquals(1, c.invalidationCount());
    }

    @Test
    void invariant4And5RefreshDuringAnInvalidationWaitsAndNeverPublishes() throws Exception {
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.OK, c.activate(PAGE, 8));
        GuestMemory.HostRangeInvalidation inv = memory.invalidateHostRange(ram, 0, PAGE * 2);
        CompletableFuture<GpcStatus> refresh = CompletableFuture.supplyAsync(c::refresh, NEW_THREAD);
        assertStillBlocked(refresh);
        assertFalse(c.check(), "readers see 'not valid' while the refresh waits");
        assertNull(c.tryLock());
        inv.close();
        assertEquals(GpcStatus.OK, await(refresh));
        assertTrue(c.check());
    }

    @Test
    void invalidationSequenceAdvancesAtBeginAndEndEvenForAnUnrelatedRange() {
        // What a refresh compares to detect an invalidation that began and ended while it translated
        // (the retry itself is proven by the JCStress test RefreshVsInvalidation).
        long before = memory.invalidationSequence();
        memory.invalidateHostRange(other, 0, PAGE).close();
        assertEquals(before + 2, memory.invalidationSequence());
    }

    @Test
    void invariant6ConcurrentActivationsAndRefreshesEndWithTheLastGpa() throws Exception {
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.OK, c.activate(0, 8));
        int rounds = 2_000;
        CompletableFuture<Void> refresher = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < rounds; i++) {
                c.refresh();
                MappedArea a = c.lock();
                if (a != null) {
                    try {
                        assertEquals(ram.address() + a.gpa(), a.segment().address(),
                                "a published mapping always matches its own gpa");
                    } finally {
                        c.unlock();
                    }
                }
            }
        }, NEW_THREAD);
        for (int i = 0; i < rounds; i++) {
            c.activate((i % 7) * PAGE + (i % 5) * 8, 8);
        }
        await(refresher);
        assertEquals(GpcStatus.OK, c.activate(3 * PAGE + 16, 8));
        MappedArea a = c.lock();
        c.unlock();
        assertEquals(3 * PAGE + 16, a.gpa());
        assertEquals(ram.address() + 3 * PAGE + 16, a.segment().address());
    }

    @Test
    void invariant7DeactivateWaitsForReadersThenLockAndRefreshFail() throws Exception {
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.OK, c.activate(PAGE, 8));
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<MappedArea> reader = holdLock(c, locked, release, a -> a.putLong(0, 5));
        assertTrue(locked.await(WAIT_MS, TimeUnit.MILLISECONDS));
        CompletableFuture<Void> deactivate = CompletableFuture.runAsync(c::deactivate, NEW_THREAD);
        assertStillBlocked(deactivate);
        release.countDown();
        await(deactivate);
        assertNotNull(await(reader));
        assertEquals(5, memory.getLong(PAGE));
        assertNull(c.lock());
        assertEquals(GpcStatus.NOT_ACTIVE, c.refresh());
        assertFalse(c.check());
    }

    @Test
    void invariant8FailedRefreshKeepsTheGpaAndLaterSucceeds() {
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.NOT_BACKED, c.activate(32 * PAGE + 8, 16), "activation on an unbacked gpa is legal");
        assertTrue(c.isActive());
        assertFalse(c.check());
        assertNull(c.lock());
        assertEquals(GpcStatus.NOT_BACKED, c.lastStatus());
        assertEquals(32 * PAGE + 8, c.gpa());
        memory.addSlot(1, 32 * PAGE, PAGE, other, 0, 0);
        MappedArea a = c.lock();
        assertNotNull(a);
        try {
            a.putLong(8, 3);
        } finally {
            c.unlock();
        }
        assertEquals(3, other.segment().get(ValueLayout.JAVA_LONG, 16));
        memory.removeSlot(1);
        assertNull(c.lock());
        assertEquals(GpcStatus.NOT_BACKED, c.lastStatus());
        assertEquals(32 * PAGE + 8, c.gpa());
    }

    @Test
    void invariant10BadLengthOrAddressChangesNothing() {
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.BAD_LENGTH, c.activate(PAGE, 0));
        assertFalse(c.isActive(), "no half-activated cache");
        assertEquals(0, memory.cacheCount());
        assertEquals(GpcStatus.OK, c.activate(PAGE, 8));
        assertEquals(GpcStatus.BAD_LENGTH, c.activate(2 * PAGE, -4));
        assertEquals(GpcStatus.BAD_LENGTH, c.activate(2 * PAGE, GfnToPfnCache.MAX_LENGTH + 1));
        assertEquals(GpcStatus.BAD_ADDRESS, c.activate(Long.MAX_VALUE - 3, 8));
        assertEquals(GpcStatus.BAD_ADDRESS, c.activate(-PAGE, 8));
        assertTrue(c.check(), "the earlier activation stands");
        assertEquals(PAGE, c.gpa());
        assertEquals(8, c.length());
    }

    @Test
    void invariant10ReactivationChangesTheLength() {
        GfnToPfnCache c = memory.newCache("runstate");
        assertEquals(GpcStatus.OK, c.activate(PAGE, 48));
        assertEquals(GpcStatus.OK, c.activate(PAGE, 44));
        MappedArea a = c.lock();
        c.unlock();
        assertEquals(44, a.length());
    }

    @Test
    void invariant11InvalidationNeverWaitsForARefresher() throws Exception {
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.OK, c.activate(PAGE, 8));
        GuestMemory.HostRangeInvalidation first = memory.invalidateHostRange(ram, PAGE, PAGE);
        CompletableFuture<GpcStatus> refresh = CompletableFuture.supplyAsync(c::refresh, NEW_THREAD);
        assertStillBlocked(refresh);
        // a second invalidation of the same range completes while the refresher waits
        CompletableFuture<GuestMemory.HostRangeInvalidation> second =
                CompletableFuture.supplyAsync(() -> memory.invalidateHostRange(ram, PAGE, PAGE), NEW_THREAD);
        GuestMemory.HostRangeInvalidation secondInv = await(second);
        first.close();
        assertStillBlocked(refresh);
        secondInv.close();
        assertEquals(GpcStatus.OK, await(refresh));
    }

    @Test
    void invariant11NestedLockNeverWaitsForAnInvalidation() throws Exception {
        GfnToPfnCache sharedInfo = memory.newCache("shared_info");
        GfnToPfnCache vcpuInfo = memory.newCache("vcpu_info");
        assertEquals(GpcStatus.OK, sharedInfo.activate(0, 64));
        assertEquals(GpcStatus.OK, vcpuInfo.activate(PAGE, 64));
        CountDownLatch sharedLocked = new CountDownLatch(1);
        CountDownLatch tryNested = new CountDownLatch(1);
        AtomicReference<MappedArea> nested = new AtomicReference<>();
        AtomicReference<GpcStatus> nestedStatus = new AtomicReference<>();
        // the event sender: holds shared_info, then wants vcpu_info
        CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
            sharedInfo.lock();
            sharedLocked.countDown();
            try {
                tryNested.await();
                nested.set(vcpuInfo.lock());
                nestedStatus.set(vcpuInfo.lastStatus());
                if (nested.get() != null) {
                    vcpuInfo.unlock();
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            } finally {
                sharedInfo.unlock();
            }
        }, NEW_THREAD);
        assertTrue(sharedLocked.await(WAIT_MS, TimeUnit.MILLISECONDS));
        // vcpu_info's page is being invalidated (open); shared_info's invalidation waits for the sender
        GuestMemory.HostRangeInvalidation vcpuInv = memory.invalidateHostRange(ram, PAGE, PAGE);
        CompletableFuture<GuestMemory.HostRangeInvalidation> sharedInv =
                CompletableFuture.supplyAsync(() -> memory.invalidateHostRange(ram, 0, PAGE), NEW_THREAD);
        assertStillBlocked(sharedInv);
        tryNested.countDown();
        await(sender); // a nested lock() that waited for the open invalidation would time out here
        await(sharedInv).close();
        vcpuInv.close();
        assertNull(nested.get(), "the nested lock failed instead of waiting");
        assertEquals(GpcStatus.BUSY, nestedStatus.get());
        assertNotNull(vcpuInfo.lock(), "an outermost lock() refreshes once the invalidations ended");
        vcpuInfo.unlock();
    }

    @Test
    void invariant12RefreshOfANeverActivatedCacheFailsCleanly() {
        GfnToPfnCache c = memory.newCache("never");
        assertEquals(GpcStatus.NOT_ACTIVE, c.refresh());
        assertNull(c.lock());
        assertNull(c.tryLock());
        assertFalse(c.check());
        assertEquals(0, memory.cacheCount());
    }

    @Test
    void historicalDeactivateThenRefreshFromAnEventSendStaysInvalid() {
        GfnToPfnCache c = memory.newCache("c");
        c.activate(PAGE, 8);
        c.deactivate();
        assertEquals(GpcStatus.NOT_ACTIVE, c.refresh());
        assertNull(c.lock());
        assertFalse(c.check());
        assertFalse(c.isActive());
    }

    @Test
    void historicalReactivationWaitsForAReaderOfTheOldGpa() throws Exception {
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.OK, c.activate(PAGE, 8));
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<MappedArea> reader = holdLock(c, locked, release, a -> a.putLong(0, 11));
        assertTrue(locked.await(WAIT_MS, TimeUnit.MILLISECONDS));
        CompletableFuture<GpcStatus> reactivate = CompletableFuture.supplyAsync(() -> c.activate(2 * PAGE, 8), NEW_THREAD);
        assertStillBlocked(reactivate);
        release.countDown();
        assertEquals(GpcStatus.OK, await(reactivate));
        await(reader);
        assertEquals(11, memory.getLong(PAGE), "the old-gpa write happened before re-activation returned");
        MappedArea a = c.lock();
        c.unlock();
        assertEquals(2 * PAGE, a.gpa());
    }

    @Test
    void historicalTryLockNeverBlocksDuringAnInvalidation() throws Exception {
        GfnToPfnCache c = memory.newCache("runstate");
        c.activate(PAGE, 48);
        try (GuestMemory.HostRangeInvalidation inv = memory.invalidateHostRange(ram, PAGE, PAGE)) {
            CompletableFuture<MappedArea> t = CompletableFuture.supplyAsync(c::tryLock, NEW_THREAD);
            assertNull(await(t));
        }
    }

    @Test
    void historicalInvalidationOfAnUnrelatedRangeDoesNotWaitForReaders() throws Exception {
        GfnToPfnCache c = memory.newCache("c");
        c.activate(PAGE, 8);
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<MappedArea> reader = holdLock(c, locked, release, a -> { });
        assertTrue(locked.await(WAIT_MS, TimeUnit.MILLISECONDS));
        try {
            CompletableFuture<GuestMemory.HostRangeInvalidation> inv =
                    CompletableFuture.supplyAsync(() -> memory.invalidateHostRange(ram, 4 * PAGE, PAGE), NEW_THREAD);
            await(inv).close();
            assertEquals(0, c.invalidationCount());
        } finally {
            release.countDown();
        }
        await(reader);
        assertTrue(c.check());
    }

    @Test
    void memslotRemovalWaitsForReadersAndInvalidatesTheCache() throws Exception {
        memory.addSlot(1, 16 * PAGE, PAGE, other, 0, 0);
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.OK, c.activate(16 * PAGE, 8));
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<MappedArea> reader = holdLock(c, locked, release, a -> a.putLong(0, 77));
        assertTrue(locked.await(WAIT_MS, TimeUnit.MILLISECONDS));
        CompletableFuture<Memslot> removal = CompletableFuture.supplyAsync(() -> memory.removeSlot(1), NEW_THREAD);
        assertStillBlocked(removal);
        release.countDown();
        await(removal);
        await(reader);
        assertEquals(77, other.segment().get(ValueLayout.JAVA_LONG, 0));
        assertNull(c.lock());
        assertEquals(GpcStatus.NOT_BACKED, c.lastStatus());
    }

    @Test
    void invalidationListenersHearEachInvalidation() {
        GfnToPfnCache c = memory.newCache("c");
        c.activate(PAGE, 8);
        AtomicInteger heard = new AtomicInteger();
        c.addInvalidationListener(x -> {
            assertSame(c, x);
            heard.incrementAndGet();
        });
        memory.invalidateHostRange(ram, PAGE, PAGE).close();
        memory.invalidateHostRange(ram, 2 * PAGE, PAGE).close(); // unrelated
        assertEquals(1, heard.get());
        c.lock();
        c.unlock();
        memory.discard(ram, 0, 4 * PAGE);
        assertEquals(2, heard.get());
    }

    @Test
    void discardGivesPagesBackAndTheyReadAsZero() {
        GfnToPfnCache c = memory.newCache("c");
        c.activate(PAGE, 8);
        MappedArea a = c.lock();
        a.putLong(0, 123);
        c.unlock();
        memory.discard(ram, PAGE, PAGE);
        assertEquals(0, memory.getLong(PAGE));
        assertNotNull(c.lock());
        c.unlock();
    }

    @Test
    void lockedThreadMayNotChangeTheMemoryMapOrItsCache() {
        GfnToPfnCache c = memory.newCache("c");
        c.activate(PAGE, 8);
        assertNotNull(c.lock());
        try {
            assertThrows(IllegalStateException.class, () -> memory.removeSlot(0));
            assertThrows(IllegalStateException.class, () -> memory.invalidateHostRange(ram, 0, PAGE));
            assertThrows(IllegalStateException.class, c::deactivate);
            assertThrows(IllegalStateException.class, () -> c.activate(0, 8));
        } finally {
            c.unlock();
        }
        assertThrows(IllegalStateException.class, c::unlock, "unlock without lock is a programming error");
        assertEquals(1, memory.currentMap().size(), "the refused change left the map alone");
    }

    @Test
    void readOnlySlotIsNotCached() {
        memory.addSlot(1, 16 * PAGE, PAGE, other, 0, Memslot.READONLY);
        GfnToPfnCache c = memory.newCache("c");
        assertEquals(GpcStatus.READ_ONLY, c.activate(16 * PAGE, 8));
        memory.setSlotFlags(1, 0);
        assertNotNull(c.lock());
        c.unlock();
    }

    @Test
    void interruptedLockerStillGetsItsAnswer() throws ExecutionException, InterruptedException, TimeoutException {
        GfnToPfnCache c = memory.newCache("c");
        c.activate(PAGE, 8);
        GuestMemory.HostRangeInvalidation inv = memory.invalidateHostRange(ram, PAGE, PAGE);
        CompletableFuture<MappedArea> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            MappedArea a = c.lock();
            if (a != null) {
                c.unlock();
            }
            f.complete(a);
        });
        t.start();
        Thread.sleep(50);
        t.interrupt();
        Thread.sleep(50);
        inv.close();
        assertNotNull(f.get(WAIT_MS, TimeUnit.MILLISECONDS));
    }
}

package org.jxen.gpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Memslots, memory-map snapshots and listeners, host memory, and reads and writes by gpa. */
class GuestMemoryTest {
    static final long PAGE = HostMemory.PAGE_SIZE;

    @Test
    void mapIsReplacedWholeWithAGenerationPerChangeAndListenersHearEachChange() {
        try (HostMemory a = HostMemory.offHeap("a", 4 * PAGE); HostMemory b = HostMemory.offHeap("b", 4 * PAGE)) {
            GuestMemory m = new GuestMemory("g");
            List<MemoryMapListener.Change> heard = new ArrayList<>();
            m.addListener(heard::add);
            MemoryMap empty = m.currentMap();
            assertEquals(0, empty.generation());
            m.addSlot(0, 0, 2 * PAGE, a, 0, 0);
            MemoryMap one = m.currentMap();
            m.addSlot(1, 8 * PAGE, PAGE, b, PAGE, 0);
            m.moveSlot(1, 16 * PAGE);
            m.setSlotFlags(1, Memslot.READONLY);
            m.removeSlot(0);
            assertEquals(5, m.generation());
            assertEquals(0, empty.size(), "an old snapshot never changes");
            assertEquals(1, one.size());
            assertEquals(List.of(MemoryMapListener.Kind.ADD, MemoryMapListener.Kind.ADD, MemoryMapListener.Kind.MOVE,
                    MemoryMapListener.Kind.FLAGS, MemoryMapListener.Kind.REMOVE),
                    heard.stream().map(MemoryMapListener.Change::kind).toList());
            MemoryMapListener.Change move = heard.get(2);
            assertEquals(8 * PAGE, move.oldSlot().gpa());
            assertEquals(16 * PAGE, move.newSlot().gpa());
            assertEquals(2, move.oldMap().generation());
            assertEquals(3, move.newMap().generation());
            Memslot s = m.currentMap().find(16 * PAGE + 5);
            assertNotNull(s);
            assertTrue(s.isReadOnly());
            assertNull(m.currentMap().find(0));
            m.removeSlot(1);
            assertEquals(0, a.mappedBySlots());
            assertEquals(0, b.mappedBySlots());
        }
    }

    @Test
    void badChangesAreRejectedAndLeaveTheMapAlone() {
        try (HostMemory a = HostMemory.offHeap("a", 4 * PAGE)) {
            GuestMemory m = new GuestMemory("g");
            m.addSlot(0, PAGE, 2 * PAGE, a, 0, 0);
            long gen = m.generation();
            assertThrows(IllegalArgumentException.class, () -> m.addSlot(1, 2 * PAGE, PAGE, a, 0, 0), "overlap");
            assertThrows(IllegalArgumentException.class, () -> m.addSlot(0, 8 * PAGE, PAGE, a, 0, 0), "id in use");
            assertThrows(IllegalArgumentException.class, () -> m.addSlot(2, 8 * PAGE + 1, PAGE, a, 0, 0), "unaligned");
            assertThrows(IllegalArgumentException.class, () -> m.addSlot(2, 8 * PAGE, PAGE, a, 4 * PAGE, 0),
                    "beyond the host memory");
            assertThrows(IllegalArgumentException.class, () -> m.addSlot(2, 8 * PAGE, PAGE, a, 0, 0x80), "flags");
            assertThrows(IllegalArgumentException.class, () -> m.removeSlot(7));
            assertThrows(IllegalArgumentException.class, () -> m.moveSlot(0, PAGE * 3 + 1));
            assertThrows(IllegalArgumentException.class, () -> m.addSlot(3, Long.MAX_VALUE & ~(PAGE - 1), PAGE, a, 0, 0));
            assertEquals(gen, m.generation());
            assertEquals(1, a.mappedBySlots());
            m.removeSlot(0);
        }
    }

    @Test
    void aListenerThatThrowsAbandonsTheChange() {
        try (HostMemory a = HostMemory.offHeap("a", 4 * PAGE)) {
            GuestMemory m = new GuestMemory("g");
            MemoryMapListener refuses = c -> {
                throw new IllegalStateException("KVM_SET_USER_MEMORY_REGION failed");
            };
            m.addListener(refuses);
            assertThrows(IllegalStateException.class, () -> m.addSlot(0, 0, PAGE, a, 0, 0));
            assertEquals(0, m.currentMap().size());
            assertEquals(0, a.mappedBySlots());
            assertEquals(0, m.invalidationsInProgress());
            m.removeListener(refuses);
        }
    }

    @Test
    void exactAndPartialReadsAndWritesAcrossSlots() {
        try (HostMemory a = HostMemory.offHeap("a", 2 * PAGE); HostMemory b = HostMemory.offHeap("b", 2 * PAGE);
                Arena arena = Arena.ofConfined()) {
            GuestMemory m = new GuestMemory("g");
            m.addSlot(0, 0, PAGE, a, PAGE, 0);
            m.addSlot(1, PAGE, PAGE, b, 0, 0);
            MemorySegment src = arena.allocate(16);
            for (int i = 0; i < 16; i++) {
                src.set(ValueLayout.JAVA_BYTE, i, (byte) (i + 1));
            }
            assertTrue(m.write(PAGE - 8, src), "a write may cross a memslot boundary");
            assertEquals(1, a.segment().get(ValueLayout.JAVA_BYTE, 2 * PAGE - 8));
            assertEquals(9, b.segment().get(ValueLayout.JAVA_BYTE, 0));
            MemorySegment dst = arena.allocate(16);
            assertTrue(m.read(PAGE - 8, dst));
            assertEquals(-1, dst.mismatch(src));
            assertEquals(0x100f0e0d0c0b0a09L, m.getLong(PAGE));
            assertEquals(0x0c0b0a0908070605L, m.getLong(PAGE - 4), "a primitive read may cross slots");
            m.putShort(PAGE - 1, (short) 0x1234); // across the slots
            assertEquals((short) 0x1234, m.getShort(PAGE - 1));
            assertEquals(0x34, a.segment().get(ValueLayout.JAVA_BYTE, 2 * PAGE - 1));
            assertEquals(0x12, b.segment().get(ValueLayout.JAVA_BYTE, 0));
            m.putInt(PAGE - 2, 0xa1b2c3d4);
            assertEquals((byte) 0xd4, a.segment().get(ValueLayout.JAVA_BYTE, 2 * PAGE - 2));
            assertEquals((byte) 0xa1, b.segment().get(ValueLayout.JAVA_BYTE, 1));

            // the end of guest RAM: exact fails, partial says how much
            assertFalse(m.read(2 * PAGE - 8, dst));
            assertEquals(8, m.readPartial(2 * PAGE - 8, dst));
            assertEquals(8, m.writePartial(2 * PAGE - 8, src));
            assertEquals(0, m.readPartial(-8, dst));
            assertEquals(0, m.readPartial(Long.MAX_VALUE - 4, dst));
            assertThrows(GuestMemoryFault.class, () -> m.getLong(2 * PAGE - 4));
            GuestMemoryFault f = assertThrows(GuestMemoryFault.class, () -> m.putLong(5 * PAGE, 1));
            assertEquals(5 * PAGE, f.gpa());
            assertTrue(m.isBacked(0, 2 * PAGE));
            assertFalse(m.isBacked(0, 2 * PAGE + 1));
            m.removeSlot(0);
            m.removeSlot(1);
        }
    }

    @Test
    void orderedAndAtomicAccessesByGpa() {
        try (HostMemory a = HostMemory.offHeap("a", PAGE)) {
            GuestMemory m = new GuestMemory("g");
            m.addSlot(0, 0, PAGE, a, 0, 0);
            m.putLongRelease(8, 5);
            assertEquals(5, m.getLongAcquire(8));
            assertEquals(5, m.getAndBitwiseOrLong(8, 0x10));
            assertEquals(0x15, m.getAndBitwiseAndLong(8, ~1L));
            assertEquals(0x14, m.getAndAddLong(8, 2));
            assertTrue(m.compareAndSetLong(8, 0x16, 7));
            assertFalse(m.compareAndSetLong(8, 0x16, 9));
            assertEquals(7, m.getLongVolatile(8));
            m.putLongVolatile(8, 3);
            m.putIntRelease(16, 9);
            assertEquals(9, m.getIntAcquire(16));
            assertEquals(9, m.getAndBitwiseOrInt(16, 2));
            assertEquals(11, m.getAndBitwiseAndInt(16, 3));
            assertEquals(3, m.getAndAddInt(16, 1));
            assertTrue(m.compareAndSetInt(16, 4, 8));
            m.putIntVolatile(16, 1);
            assertEquals(1, m.getIntVolatile(16));
            assertThrows(GuestMemoryFault.class, () -> m.getLongAcquire(12), "misaligned");
            assertThrows(GuestMemoryFault.class, () -> m.compareAndSetInt(18, 0, 1), "misaligned");
            assertThrows(GuestMemoryFault.class, () -> m.getAndBitwiseOrLong(PAGE, 1), "not backed");
            m.removeSlot(0);
        }
    }

    @Test
    void readOnlySlotsRefuseWrites() {
        try (HostMemory a = HostMemory.offHeap("a", PAGE); Arena arena = Arena.ofConfined()) {
            GuestMemory m = new GuestMemory("g");
            a.segment().set(ValueLayout.JAVA_LONG, 0, 42);
            m.addSlot(0, 0, PAGE, a, 0, Memslot.READONLY);
            assertEquals(42, m.getLong(0));
            assertThrows(GuestMemoryFault.class, () -> m.putLong(0, 1));
            assertThrows(GuestMemoryFault.class, () -> m.putLongRelease(0, 1));
            assertFalse(m.write(0, arena.allocate(8)));
            assertEquals(42, a.segment().get(ValueLayout.JAVA_LONG, 0));
            m.removeSlot(0);
        }
    }

    @Test
    void mmapBackedMemoryIsSharedZeroFilledAndDiscardable() {
        for (HostMemory h : new HostMemory[] {HostMemory.anonymous("anon", 4 * PAGE), HostMemory.memfd("fd", 4 * PAGE)}) {
            try (h) {
                assertEquals(0, h.address() % PAGE);
                assertEquals(0, h.segment().get(ValueLayout.JAVA_LONG, 3 * PAGE));
                GuestMemory m = new GuestMemory("g");
                m.addSlot(0, 0x100000, 4 * PAGE, h, 0, 0);
                m.putLong(0x100000 + PAGE, 99);
                assertEquals(99, h.segment().get(ValueLayout.JAVA_LONG, PAGE));
                m.discard(h, PAGE, PAGE);
                assertEquals(0, m.getLong(0x100000 + PAGE), "discarded pages read as zero");
                m.removeSlot(0);
                if (h.kind() == HostMemory.Kind.MEMFD) {
                    assertTrue(h.fd() >= 0);
                }
            }
        }
    }

    @Test
    void hostMemoryCannotBeClosedWhileMappedAndALateAccessFailsInsteadOfCrashing() {
        HostMemory h = HostMemory.anonymous("late", 2 * PAGE);
        GuestMemory m = new GuestMemory("g");
        m.addSlot(0, 0, 2 * PAGE, h, 0, 0);
        GfnToPfnCache c = m.newCache("c");
        assertEquals(GpcStatus.OK, c.activate(8, 8));
        MappedArea stale = c.lock();
        c.unlock();
        assertThrows(IllegalStateException.class, h::close, "still mapped by a memslot");
        m.removeSlot(0);
        h.close();
        assertTrue(h.isClosed());
        // a caller that kept a view past unlock (a bug) gets an exception, never unmapped memory
        assertThrows(IllegalStateException.class, () -> stale.putLong(0, 1));
        assertThrows(IllegalStateException.class, () -> stale.getLong(0));
        assertNull(c.lock());
        assertThrows(IllegalStateException.class, () -> m.addSlot(1, 0, PAGE, h, 0, 0), "closed memory");
        h.close(); // idempotent
        c.deactivate();
    }

    @Test
    void hostCallFailuresNameTheCallAndErrno() {
        HostCallException e = assertThrows(HostCallException.class, () -> HostMemory.anonymous("huge", 1L << 62));
        assertEquals("mmap", e.call());
        assertTrue(e.getMessage().startsWith("mmap failed: ENOMEM (errno 12)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> HostMemory.anonymous("odd", 100));
    }

    @Test
    void findUsesTheSortedSnapshot() {
        try (HostMemory a = HostMemory.offHeap("a", 8 * PAGE)) {
            GuestMemory m = new GuestMemory("g");
            for (int i = 7; i >= 0; i--) {
                m.addSlot(i, i * 4 * PAGE, PAGE, a, i * PAGE, 0);
            }
            MemoryMap map = m.currentMap();
            for (int i = 0; i < 8; i++) {
                Memslot s = map.find(i * 4 * PAGE + PAGE - 1);
                assertNotNull(s);
                assertEquals(i, s.id());
                assertNull(map.find(i * 4 * PAGE + PAGE));
                assertSame(s, map.byId(i));
            }
            assertNull(map.find(-1));
            for (int i = 0; i < 8; i++) {
                m.removeSlot(i);
            }
        }
    }
}

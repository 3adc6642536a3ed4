package org.jxen.gpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** An area that crosses a memslot boundary: two host mappings behind one handle. */
class SplitAreaTest {
    static final long PAGE = HostMemory.PAGE_SIZE;
    HostMemory first;
    HostMemory second;
    GuestMemory memory;

    @BeforeEach
    void setUp() {
        first = HostMemory.offHeap("first", 2 * PAGE);
        second = HostMemory.offHeap("second", 2 * PAGE);
        memory = new GuestMemory("split");
        memory.addSlot(0, 0, PAGE, first, PAGE, 0); // gpa [0, 4096) -> first+4096
        memory.addSlot(1, PAGE, PAGE, second, 0, 0); // gpa [4096, 8192) -> second+0
    }

    @AfterEach
    void tearDown() {
        for (Memslot s : memory.currentMap().slots()) {
            memory.removeSlot(s.id());
        }
        first.close();
        second.close();
    }

    @Test
    void aRunstateAreaAcrossTheBoundaryIsServedAsTwoParts() {
        GfnToPfnCache c = memory.newCache("runstate");
        long gpa = PAGE - 20; // 48 bytes: 20 in the first slot, 28 in the second
        assertEquals(GpcStatus.OK, c.activate(gpa, 48));
        MappedArea a = c.lock();
        assertNotNull(a);
        try {
            assertEquals(2, a.partCount());
            assertEquals(20, a.part(0).byteSize());
            assertEquals(28, a.part(1).byteSize());
            assertEquals(20, a.partOffset(1));
            assertThrows(IllegalStateException.class, a::segment);
            a.putLong(0, 0x0101010101010101L);
            a.putLong(16, 0x8877665544332211L); // straddles: 4 bytes in each part
            a.putLong(40, -1L);
            a.putLong(28, 0);
            assertEquals(0x8877665544332211L, a.getLong(16));
            assertEquals(0x44332211, a.getInt(16));
            assertEquals((short) 0x6655, a.getShort(20));
            assertEquals(0x55, a.getByte(20));
            a.putLongRelease(28, 3); // gpa PAGE + 8: aligned, inside the second part
            assertEquals(3, a.getLongAcquire(28));
            a.putIntRelease(16, 0x44332211); // gpa PAGE - 4: aligned, the last word of the first part
            assertEquals(0x33, a.getAndSetByte(18, (byte) 0x77));
            assertEquals(0x44772211, a.getIntAcquire(16));
            a.putIntRelease(16, 0x44332211);
            // atomics need natural alignment (which, with page-aligned slots, also keeps them in one part)
            assertThrows(IllegalArgumentException.class, () -> a.getAndBitwiseOrLong(16, 1));
            assertThrows(IllegalArgumentException.class, () -> a.compareAndSetLong(15, 0, 1));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment copy = arena.allocate(48);
                a.copyTo(0, copy);
                assertEquals(0x8877665544332211L, copy.get(ValueLayout.JAVA_LONG_UNALIGNED, 16));
                a.fill(0, 48, (byte) 0x5a);
                a.copyFrom(copy, 0);
            }
        } finally {
            c.unlock();
        }
        assertEquals(0x44332211, first.segment().get(ValueLayout.JAVA_INT_UNALIGNED, 2 * PAGE - 4));
        assertEquals((int) (0x8877665544332211L >>> 32), second.segment().get(ValueLayout.JAVA_INT, 0));
        assertEquals(-1L, second.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, 20));
        assertEquals(0, second.segment().get(ValueLayout.JAVA_BYTE, 28), "the byte after the area is untouched");
        assertEquals(0, first.segment().get(ValueLayout.JAVA_BYTE, 2 * PAGE - 21), "the byte before is untouched");
        assertEquals(0x8877665544332211L, memory.getLong(PAGE - 4));
    }

    @Test
    void invalidatingEitherPartInvalidatesTheHandle() {
        GfnToPfnCache c = memory.newCache("runstate");
        c.activate(PAGE - 8, 16);
        try (var inv = memory.invalidateHostRange(second, 0, PAGE)) {
            assertNull(c.tryLock());
        }
        assertNotNull(c.lock());
        c.unlock();
        try (var inv = memory.invalidateHostRange(first, PAGE, PAGE)) {
            assertNull(c.tryLock());
        }
        memory.removeSlot(1);
        assertNull(c.lock(), "half of the area is gone");
        assertEquals(GpcStatus.NOT_BACKED, c.lastStatus());
    }
}

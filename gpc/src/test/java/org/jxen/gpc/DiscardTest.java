package org.jxen.gpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Giving guest pages back to the host (the balloon path): {@link GuestMemory#discardGuestRange}
 * across memslots, what caches see, and {@link HostMemory#residentPages} proving that the host
 * memory really went.
 */
class DiscardTest {
    static final long PAGE = HostMemory.PAGE_SIZE;

    /** Two slots back to back at 1 MiB: [1 MiB, +8 pages) from a and [+8, +16 pages) from b. */
    private static GuestMemory twoSlots(HostMemory a, HostMemory b) {
        GuestMemory m = new GuestMemory("g");
        m.addSlot(0, 0x100000, 8 * PAGE, a, 0, 0);
        m.addSlot(1, 0x100000 + 8 * PAGE, 8 * PAGE, b, 0, 0);
        return m;
    }

    private static void fill(GuestMemory m, long gpa, long pages, long seed) {
        for (long p = 0; p < pages; p++) {
            for (long o = 0; o < PAGE; o += 512) {
                m.putLong(gpa + p * PAGE + o, seed + p * PAGE + o);
            }
        }
    }

    @Test
    void discardAcrossTwoMemslotsFreesTheHostPagesAndLeavesTheRestAlone() {
        for (HostMemory.Kind kind : List.of(HostMemory.Kind.ANONYMOUS_SHARED, HostMemory.Kind.MEMFD)) {
            try (HostMemory a = make(kind, "a"); HostMemory b = make(kind, "b")) {
                GuestMemory m = twoSlots(a, b);
                fill(m, 0x100000, 16, 0x1000);
                assertEquals(8, a.residentPages(0, 8 * PAGE), kind + ": every page touched");
                assertEquals(8, b.residentPages(0, 8 * PAGE), kind.name());

                // pages 6..9: the last two of slot 0 and the first two of slot 1
                m.discardGuestRange(0x100000 + 6 * PAGE, 4 * PAGE);

                assertEquals(0, a.residentPages(6 * PAGE, 2 * PAGE), kind + ": host pages gone from a");
                assertEquals(0, b.residentPages(0, 2 * PAGE), kind + ": host pages gone from b");
                assertEquals(6, a.residentPages(0, 6 * PAGE), kind + ": the rest of a stays");
                assertEquals(6, b.residentPages(2 * PAGE, 6 * PAGE), kind + ": the rest of b stays");
                for (long p = 0; p < 16; p++) {
                    long gpa = 0x100000 + p * PAGE;
                    long expected = p >= 6 && p < 10 ? 0 : 0x1000 + p * PAGE;
                    assertEquals(expected, m.getLong(gpa), kind + ": page " + p);
                    assertEquals(expected == 0 ? 0 : expected + 4096 - 512, m.getLong(gpa + PAGE - 512), kind + ": page " + p);
                }
                // the discarded pages are memory again as soon as anyone writes them
                m.putLong(0x100000 + 7 * PAGE, 5);
                assertEquals(1, a.residentPages(7 * PAGE, PAGE), kind.name());
                m.removeSlot(0);
                m.removeSlot(1);
            }
        }
    }

    private static HostMemory make(HostMemory.Kind kind, String name) {
        return kind == HostMemory.Kind.MEMFD ? HostMemory.memfd(name, 8 * PAGE) : HostMemory.anonymous(name, 8 * PAGE);
    }

    @Test
    void cachesOverTheRangeAreInvalidatedFirstAndOthersAreNot() {
        try (HostMemory a = HostMemory.anonymous("a", 8 * PAGE); HostMemory b = HostMemory.anonymous("b", 8 * PAGE)) {
            GuestMemory m = twoSlots(a, b);
            GfnToPfnCache inside = m.newCache("inside");
            GfnToPfnCache straddling = m.newCache("straddling"); // crosses into the range from below
            GfnToPfnCache outside = m.newCache("outside");
            assertEquals(GpcStatus.OK, inside.activate(0x100000 + 8 * PAGE + 64, 64));
            assertEquals(GpcStatus.OK, straddling.activate(0x100000 + 7 * PAGE - 8, 16));
            assertEquals(GpcStatus.OK, outside.activate(0x100000 + 2 * PAGE, 64));
            MappedArea in = inside.lock();
            in.putLong(0, 77);
            inside.unlock();

            m.discardGuestRange(0x100000 + 7 * PAGE, 2 * PAGE);

            assertEquals(1, inside.invalidationCount());
            assertEquals(1, straddling.invalidationCount());
            assertEquals(0, outside.invalidationCount());
            assertFalse(inside.check(), "invalid until refreshed");
            assertTrue(outside.check());
            MappedArea again = inside.lock();
            assertNotNull(again, "the memslot is still there: the cache refreshes onto the fresh page");
            assertEquals(0, again.getLong(0), "and reads zero, not the old data");
            inside.unlock();
            inside.deactivate();
            straddling.deactivate();
            outside.deactivate();
            m.removeSlot(0);
            m.removeSlot(1);
        }
    }

    @Test
    void badRangesAreRefusedAndNothingIsDiscarded() {
        try (HostMemory a = HostMemory.anonymous("a", 8 * PAGE); HostMemory rom = HostMemory.anonymous("rom", PAGE)) {
            GuestMemory m = new GuestMemory("g");
            m.addSlot(0, 0, 8 * PAGE, a, 0, 0);
            m.addSlot(1, 16 * PAGE, PAGE, rom, 0, Memslot.READONLY);
            fill(m, 0, 8, 1);
            assertThrows(IllegalArgumentException.class, () -> m.discardGuestRange(100, PAGE), "unaligned");
            assertThrows(IllegalArgumentException.class, () -> m.discardGuestRange(0, 100), "partial page");
            assertThrows(IllegalArgumentException.class, () -> m.discardGuestRange(-PAGE, PAGE));
            assertThrows(IllegalArgumentException.class, () -> m.discardGuestRange(0, 0));
            assertThrows(IllegalArgumentException.class, () -> m.discardGuestRange(6 * PAGE, 4 * PAGE),
                    "runs past the slot into a hole");
            assertThrows(IllegalArgumentException.class, () -> m.discardGuestRange(16 * PAGE, PAGE), "read-only");
            assertThrows(IllegalArgumentException.class, () -> m.discardGuestRange(Long.MAX_VALUE & ~(PAGE - 1), 2 * PAGE));
            assertEquals(8, a.residentPages(0, 8 * PAGE), "nothing was discarded by a refused call");
            assertEquals(1 + 6 * PAGE, m.getLong(6 * PAGE));

            GfnToPfnCache c = m.newCache("c");
            c.activate(0, 8);
            assertNotNull(c.lock());
            try {
                assertThrows(IllegalStateException.class, () -> m.discardGuestRange(0, PAGE),
                        "a thread inside a cache may not wait for an invalidation");
                assertTrue(GfnToPfnCache.currentThreadHoldsAny());
            } finally {
                c.unlock();
            }
            assertFalse(GfnToPfnCache.currentThreadHoldsAny());
            c.deactivate();
            m.removeSlot(0);
            m.removeSlot(1);
        }
    }

    @Test
    void residentPagesChecksItsRangeAndFailsOnceClosed() {
        HostMemory h = HostMemory.anonymous("h", 4 * PAGE);
        assertEquals(0, h.residentPages(0, 4 * PAGE), "MAP_NORESERVE memory takes no page before it is touched");
        h.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, 2 * PAGE + 5, (byte) 1);
        assertEquals(1, h.residentPages(0, 4 * PAGE));
        assertEquals(1, h.residentPages(2 * PAGE, PAGE));
        assertThrows(IllegalArgumentException.class, () -> h.residentPages(1, PAGE));
        assertThrows(IllegalArgumentException.class, () -> h.residentPages(0, 5 * PAGE));
        h.close();
        assertThrows(IllegalStateException.class, () -> h.residentPages(0, PAGE));
    }
}

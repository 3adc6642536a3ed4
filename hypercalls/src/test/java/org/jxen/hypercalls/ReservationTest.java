package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.jxen.abi.Hypercall;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenMapSpace;
import org.jxen.abi.XenMem;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.MappedArea;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * XENMEM_decrease_reservation, populate_physmap, increase_reservation, current_reservation and
 * maximum_reservation in-process: the host pages really go (mincore), the limit holds, failures stop
 * the call with the count done, the start extent in the command's high bits, bad input.
 */
class ReservationTest extends PhysmapTestBase {

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void decreaseGivesTheHostPagesBackAndPopulateBringsZeroedPages(WordSize w) {
        long first = 300;
        for (long g = first; g < first + 8; g++) {
            fillPage(g, g);
        }
        assertEquals(8, platform.resident(first, 8), "the guest's pages are in host memory");
        assertEquals(RAM_PAGES, memoryOp(w, XenMem.CURRENT_RESERVATION, reservationDomid()));

        assertEquals(4, reservation(w, XenMem.DECREASE_RESERVATION, 0, first, first + 1, first + 2, first + 3));

        assertEquals(0, platform.resident(first, 4), "the host pages behind the four gfns are gone");
        assertEquals(4, platform.resident(first + 4, 4), "their neighbours stay");
        for (long g = first; g < first + 4; g++) {
            assertTrue(domain.physmap().isBallooned(g));
            assertTrue(pageIsZero(g), "a ballooned-out gfn reads zeroes, not stale data");
        }
        assertTrue(pageHolds(first + 4, first + 4));
        assertEquals(RAM_PAGES - 4, memoryOp(w, XenMem.CURRENT_RESERVATION, reservationDomid()));
        assertEquals(RAM_PAGES, memoryOp(w, XenMem.MAXIMUM_RESERVATION, reservationDomid()));
        assertEquals(4, domain.physmap().balloonedPages());

        assertEquals(0, reservation(w, XenMem.DECREASE_RESERVATION, 0, first), "already given back: stops at once");

        assertEquals(4, reservation(w, XenMem.POPULATE_PHYSMAP, 0, first + 3, first + 2, first + 1, first));
        for (long g = first; g < first + 4; g++) {
            assertTrue(domain.physmap().isPopulated(g));
            assertTrue(pageIsZero(g), "populated pages come back zeroed");
        }
        assertEquals(RAM_PAGES, memoryOp(w, XenMem.CURRENT_RESERVATION, reservationDomid()));
        fillPage(first, 7);
        assertTrue(pageHolds(first, 7), "and the guest can use them");
        assertEquals(0, reservation(w, XenMem.POPULATE_PHYSMAP, 0, first), "populated already: stops at once");
    }

    /** Points at a domid_t DOMID_SELF for the reservation queries. */
    private long reservationDomid() {
        memory.putShort(ARGS + 1024, (short) SELF);
        return ARGS + 1024;
    }

    @Test
    void populateStopsAtTheReservationLimitAndIncreaseReservationCountsAgainstIt() {
        WordSize w = WordSize.BITS_64;
        assertEquals(6, reservation(w, XenMem.DECREASE_RESERVATION, 0, 400, 401, 402, 403, 404, 405));
        assertEquals(RAM_PAGES - 6, domain.physmap().totPages());
        // two pages that no gfn maps: Xen's increase_reservation for a translated guest
        assertEquals(2, reservation(w, XenMem.INCREASE_RESERVATION, 0, 0, 0));
        assertEquals(RAM_PAGES - 4, domain.physmap().totPages());
        assertEquals(4, reservation(w, XenMem.POPULATE_PHYSMAP, 0, 400, 401, 402, 403, 404, 405),
                "only four fit under max_pages");
        assertTrue(domain.physmap().isPopulated(403));
        assertFalse(domain.physmap().isPopulated(404));
        assertEquals(RAM_PAGES, domain.physmap().totPages());
        assertEquals(0, reservation(w, XenMem.INCREASE_RESERVATION, 0, 0), "full");

        domain.physmap().setMaxPages(RAM_PAGES + 1); // the host raises the limit
        assertEquals(1, reservation(w, XenMem.POPULATE_PHYSMAP, 0, 404, 405));
        assertEquals(RAM_PAGES + 1, memoryOp(w, XenMem.MAXIMUM_RESERVATION, reservationDomid()));
    }

    @Test
    void superpageExtentsAreGivenBackWholeAndOrdersAboveNineAreRefused() {
        WordSize w = WordSize.BITS_64;
        long gfn = 1024; // 4 MiB, 2 MiB-aligned
        for (long g = gfn; g < gfn + 512; g += 64) {
            memory.putLong(g * PAGE, g);
        }
        assertEquals(8, platform.resident(gfn, 512));
        assertEquals(0, reservation(w, XenMem.DECREASE_RESERVATION, 10, gfn), "order 10 is above Xen's limit for a domU");
        assertEquals(1, reservation(w, XenMem.DECREASE_RESERVATION, 9, gfn));
        assertEquals(0, platform.resident(gfn, 512));
        assertEquals(RAM_PAGES - 512, domain.physmap().totPages());
        assertEquals(0, reservation(w, XenMem.DECREASE_RESERVATION, 9, 1536 + 256),
                "an extent that runs past the end of RAM is not done, not even in part");
        assertTrue(domain.physmap().isPopulated(1536 + 256));
        assertEquals(1, reservation(w, XenMem.POPULATE_PHYSMAP, 9, gfn));
        assertEquals(RAM_PAGES, domain.physmap().totPages());
        assertEquals(0, memory.getLong((gfn + 64) * PAGE));
    }

    @Test
    void theCallStopsAtTheFirstExtentThatCannotBeDoneAndReportsTheCountDone() {
        WordSize w = WordSize.BITS_64;
        long romGfn = ROM_GPA / PAGE;
        assertEquals(2, reservation(w, XenMem.DECREASE_RESERVATION, 0, 500, 501, romGfn, 502), "ROM is not RAM");
        assertTrue(domain.physmap().isPopulated(502), "nothing after the failed extent is done");
        assertEquals(1, reservation(w, XenMem.DECREASE_RESERVATION, 0, 502, 0x7_0000_0000L));
        assertEquals(0, reservation(w, XenMem.DECREASE_RESERVATION, 0, -1L));
        assertEquals(1, reservation(w, XenMem.DECREASE_RESERVATION, 0, HIGH_GPA / PAGE + 3), "high RAM too");
        assertEquals(0, platform.resident(HIGH_GPA / PAGE + 3, 1));

        // the frame that holds shared_info is not the guest's memory to give back
        long si = 600;
        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.SHARED_INFO, 0, si));
        assertEquals(0, reservation(w, XenMem.DECREASE_RESERVATION, 0, si));
        assertEquals("shared_info", domain.physmap().xenFrameAt(si));
        // nor a grant-table frame
        mapGrantFrame(0, 601);
        assertEquals(0, reservation(w, XenMem.DECREASE_RESERVATION, 0, 601));
        // and populate stops at a frame that was never given back
        assertEquals(1, reservation(w, XenMem.POPULATE_PHYSMAP, 0, 500, 600));
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void anExtentArrayThatRunsIntoUnbackedMemoryEndsTheCallThere(WordSize w) {
        long entry = w.bits() / 8;
        // three readable entries at the very end of low RAM; the fourth is in the hole above it
        long at = LOW_RAM - 3 * entry;
        writeReservation(w, ARGS, at, 5, 0, 0, SELF);
        for (int i = 0; i < 3; i++) {
            putWord(w, at + i * entry, 700 + i);
        }
        assertEquals(3, memoryOp(w, XenMem.DECREASE_RESERVATION, ARGS));
        assertTrue(domain.physmap().isBallooned(702));
        // an unreadable argument structure: Xen returns the start extent, not -EFAULT
        assertEquals(0, memoryOp(w, XenMem.DECREASE_RESERVATION, LOW_RAM + 64));
        assertEquals(5, memoryOp(w, XenMem.DECREASE_RESERVATION | (5L << XenMem.EXTENT_SHIFT), LOW_RAM + 64));
    }

    @Test
    void theStartExtentComesFromTheCommandsHighBits() {
        WordSize w = WordSize.BITS_64;
        assertEquals(4, reservationFrom(w, XenMem.DECREASE_RESERVATION, 2, 0, 0, SELF, 4, 800, 801, 802, 803),
                "extents 2 and 3 done: the count includes the start");
        assertTrue(domain.physmap().isPopulated(800));
        assertTrue(domain.physmap().isPopulated(801));
        assertTrue(domain.physmap().isBallooned(802));
        assertTrue(domain.physmap().isBallooned(803));
        assertEquals(4, reservationFrom(w, XenMem.DECREASE_RESERVATION, 4, 0, 0, SELF, 4, 800, 801, 802, 803),
                "nothing left to do");
        assertEquals(9, reservationFrom(w, XenMem.DECREASE_RESERVATION, 9, 0, 0, SELF, 4, 800),
                "a start past the end returns the start");
        assertTrue(domain.physmap().isPopulated(800));
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void badArgumentsDoNothingAndReturnTheStartExtent(WordSize w) {
        assertEquals(0, reservationFrom(w, XenMem.DECREASE_RESERVATION, 0, 0, 0, 5, 1, 900), "another domain");
        assertEquals(0, reservationFrom(w, XenMem.DECREASE_RESERVATION, 0, 0, 12, SELF, 1, 900), "address_bits 12");
        assertEquals(1, reservationFrom(w, XenMem.DECREASE_RESERVATION, 0, 0, 13, SELF, 1, 900), "address_bits 13 is fine");
        assertEquals(0, reservationFrom(w, XenMem.POPULATE_PHYSMAP, 0, 0, XenMem.MEMF_POPULATE_ON_DEMAND, SELF, 1, 900),
                "populate-on-demand of oneself");
        assertEquals(0, reservationFrom(w, XenMem.DECREASE_RESERVATION, 0, 0, 0, SELF, 0x400_0000L, 901),
                "more extents than Xen can encode in a continuation");
        assertEquals(1, reservationFrom(w, XenMem.DECREASE_RESERVATION, 0, 0, 0, 1, 1, 901), "the domain's own id is fine");
        assertTrue(domain.physmap().isBallooned(901));
        assertEquals(RAM_PAGES - 2, domain.physmap().totPages());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void theLargestCountEndsAsSoonAsAnExtentFails() {
        WordSize w = WordSize.BITS_64;
        // 2^26 - 1 extents: 1000 distinct gfns, then the array repeats the first (already given back)
        long nr = (0xffff_ffffL >>> XenMem.EXTENT_SHIFT);
        long[] gfns = new long[1001];
        for (int i = 0; i < 1000; i++) {
            gfns[i] = 1000 + i;
        }
        gfns[1000] = 1000;
        assertEquals(1000, reservationFrom(w, XenMem.DECREASE_RESERVATION, 0, 0, 0, SELF, nr, gfns));
        assertEquals(RAM_PAGES - 1000, domain.physmap().totPages());
        assertEquals(1000, reservationFrom(w, XenMem.POPULATE_PHYSMAP, 0, 0, 0, SELF, nr, gfns));
        assertEquals(RAM_PAGES, domain.physmap().totPages());
        // populate of an array that names nothing given back fails on the first extent
        assertEquals(0, reservationFrom(w, XenMem.POPULATE_PHYSMAP, 0, 0, 0, SELF, nr, gfns));
        // increase_reservation with the largest count gives what fits
        assertEquals(0, reservationFrom(w, XenMem.INCREASE_RESERVATION, 0, 0, 0, SELF, nr));
    }

    @Test
    void aVcpuThatMustStopEndsTheCallBetweenChunks() {
        WordSize w = WordSize.BITS_64;
        long[] gfns = new long[1024];
        for (int i = 0; i < gfns.length; i++) {
            gfns[i] = 1000 + i;
        }
        platform.mustYield = true;
        assertEquals(512, reservation(w, XenMem.DECREASE_RESERVATION, 0, gfns), "one chunk, then the vCPU obeys");
        platform.mustYield = false;
        assertEquals(1024, reservationFrom(w, XenMem.DECREASE_RESERVATION, 512, 0, 0, SELF, 1024, gfns),
                "the guest resumes from the count it got");
        assertEquals(RAM_PAGES - 1024, domain.physmap().totPages());
    }

    @Test
    void hypercallsAndCachesOverABalloonedOutGfnSeeZeroesNotStaleData() {
        WordSize w = WordSize.BITS_64;
        long gfn = 1000;
        byte[] text = "secret guest data".getBytes(StandardCharsets.US_ASCII);
        memory.write(gfn * PAGE, java.lang.foreign.MemorySegment.ofArray(text));
        GfnToPfnCache c = memory.newCache("over the ballooned page");
        c.activate(gfn * PAGE, 64);
        MappedArea before = c.lock();
        assertNotNull(before);
        assertEquals(text[0], before.getByte(0));
        c.unlock();

        assertEquals(1, reservation(w, XenMem.DECREASE_RESERVATION, 0, gfn));

        assertEquals(1, c.invalidationCount(), "the cache over the page was invalidated before it went");
        MappedArea after = c.lock();
        assertNotNull(after, "the memslot is still there: a read finds a zero page");
        assertEquals(0, after.getLong(0));
        c.unlock();
        c.deactivate();
        assertEquals(0, call(w, Hypercall.CONSOLE_IO, 0, text.length, gfn * PAGE));
        byte[] out = platform.console();
        assertEquals(text.length, out.length);
        for (byte b : out) {
            assertEquals(0, b, "console_io from a ballooned-out page reads zeroes");
        }
    }

    @Test
    void sharedInfoMovedOffAFrameGivesTheGfnBackAsRam() {
        WordSize w = WordSize.BITS_64;
        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.SHARED_INFO, 0, 1200));
        assertEquals(RAM_PAGES - 1, domain.physmap().totPages(), "a Xen frame is not the guest's memory");
        assertEquals(1, reservation(w, XenMem.DECREASE_RESERVATION, 0, 1201));
        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.SHARED_INFO, 0, 1201), "onto a ballooned-out gfn");
        assertFalse(domain.physmap().isBallooned(1201));
        assertEquals("shared_info", domain.physmap().xenFrameAt(1201));
        assertTrue(domain.physmap().isPopulated(1200), "the old frame is RAM again");
        assertEquals(RAM_PAGES - 1, domain.physmap().totPages());
        assertEquals(1, reservation(w, XenMem.DECREASE_RESERVATION, 0, 1200));
    }
}

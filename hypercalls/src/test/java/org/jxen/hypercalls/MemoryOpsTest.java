package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jxen.abi.E820Entry;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenAddToPhysmapBatch;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenMapSpace;
import org.jxen.abi.XenMem;
import org.jxen.abi.XenMemoryMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * memory_op besides the reservation: memory_map, maximum_ram_page, maximum_gpfn, the reservation
 * queries' errors, add_to_physmap for grant-table frames and add_to_physmap_batch, in both guest
 * word sizes where the layout differs.
 */
class MemoryOpsTest extends PhysmapTestBase {
    private static final long MAP = ARGS + 256;
    private static final long BUFFER = ARGS + 1024;

    private long memoryMap(WordSize w, long nrEntries, long buffer) {
        memory.putInt(MAP + XenMemoryMap.offsetOfNrEntries(w), (int) nrEntries);
        putWord(w, MAP + XenMemoryMap.offsetOfBuffer(w), buffer);
        return memoryOp(w, XenMem.MEMORY_MAP, MAP);
    }

    private void assertE820(int i, long addr, long size, int type) {
        long e = BUFFER + i * E820Entry.sizeof(WordSize.BITS_64);
        assertEquals(addr, memory.getLong(e + E820Entry.offsetOfAddr(WordSize.BITS_64)), "entry " + i + " addr");
        assertEquals(size, memory.getLong(e + E820Entry.offsetOfSize(WordSize.BITS_64)), "entry " + i + " size");
        assertEquals(type, memory.getInt(e + E820Entry.offsetOfType(WordSize.BITS_64)), "entry " + i + " type");
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void memoryMapDescribesTheMemslotsAndFitsTheBuffer(WordSize w) {
        assertEquals(0, memoryMap(w, 16, BUFFER));
        assertEquals(3, memory.getInt(MAP), "three entries written, nr_entries says so");
        assertE820(0, 0, LOW_RAM, E820Entry.TYPE_RAM);
        assertE820(1, ROM_GPA, PAGE, E820Entry.TYPE_RESERVED);
        assertE820(2, HIGH_GPA, HIGH_RAM, E820Entry.TYPE_RAM);

        memory.putLong(BUFFER + 20, 0x5a5a5a5a5a5a5a5aL);
        assertEquals(0, memoryMap(w, 1, BUFFER), "a short buffer gets what fits, as in Xen");
        assertEquals(1, memory.getInt(MAP));
        assertEquals(0x5a5a5a5a5a5a5a5aL, memory.getLong(BUFFER + 20), "nothing past the buffer");
        assertEquals(0, memoryMap(w, 0, 0));
        assertEquals(0, memory.getInt(MAP));

        assertEquals(-XenErrno.EFAULT, memoryMap(w, 3, LOW_RAM - 20), "the buffer runs out of RAM");
        assertEquals(-XenErrno.EFAULT, memoryOp(w, XenMem.MEMORY_MAP, LOW_RAM + 8), "the argument is not in RAM");
        assertEquals(-XenErrno.EINVAL, memoryOp(w, XenMem.MEMORY_MAP | (1 << XenMem.EXTENT_SHIFT), MAP));
    }

    @Test
    void neighbouringRamSlotsMergeIntoOneEntry() {
        try (org.jxen.gpc.HostMemory more = org.jxen.gpc.HostMemory.anonymous("more", 2 * PAGE)) {
            memory.addSlot(7, LOW_RAM, 2 * PAGE, more, 0, 0);
            assertEquals(0, memoryMap(WordSize.BITS_64, 16, BUFFER));
            assertEquals(3, memory.getInt(MAP));
            assertE820(0, 0, LOW_RAM + 2 * PAGE, E820Entry.TYPE_RAM);
            memory.removeSlot(7);
        }
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void maximumRamPageMaximumGpfnAndTheReservationQueries(WordSize w) {
        assertEquals((HIGH_GPA + HIGH_RAM) / PAGE, memoryOp(w, XenMem.MAXIMUM_RAM_PAGE, 0), "one past the highest RAM frame");
        assertEquals(-XenErrno.EINVAL, memoryOp(w, XenMem.MAXIMUM_RAM_PAGE | (1 << XenMem.EXTENT_SHIFT), 0));
        memory.putShort(ARGS, (short) SELF);
        assertEquals((HIGH_GPA + HIGH_RAM) / PAGE - 1, memoryOp(w, XenMem.MAXIMUM_GPFN, ARGS));
        assertEquals(RAM_PAGES, memoryOp(w, XenMem.MAXIMUM_RESERVATION, ARGS));
        assertEquals(RAM_PAGES, memoryOp(w, XenMem.CURRENT_RESERVATION, ARGS));
        memory.putShort(ARGS, (short) 1);
        assertEquals(RAM_PAGES, memoryOp(w, XenMem.CURRENT_RESERVATION, ARGS), "its own domid");
        memory.putShort(ARGS, (short) 3);
        assertEquals(-XenErrno.ESRCH, memoryOp(w, XenMem.CURRENT_RESERVATION, ARGS));
        assertEquals(-XenErrno.ESRCH, memoryOp(w, XenMem.MAXIMUM_RESERVATION, ARGS));
        assertEquals(-XenErrno.ESRCH, memoryOp(w, XenMem.MAXIMUM_GPFN, ARGS));
        assertEquals(-XenErrno.EFAULT, memoryOp(w, XenMem.CURRENT_RESERVATION, LOW_RAM + 2));
        assertEquals(-XenErrno.EINVAL, memoryOp(w, XenMem.MAXIMUM_RESERVATION | (1 << XenMem.EXTENT_SHIFT), ARGS));
        assertEquals(-XenErrno.ENOSYS, memoryOp(w, XenMem.ACQUIRE_RESOURCE, ARGS));
        assertEquals(-XenErrno.ENOSYS, memoryOp(w, XenMem.REMOVE_FROM_PHYSMAP, ARGS));
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void grantTableFramesArePlacedMovedAndRefused(WordSize w) {
        long a = 1500;
        long b = 1501;
        fillPage(a, 42);
        long tot = domain.physmap().totPages();
        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 0, a));
        assertTrue(pageIsZero(a), "a new grant frame is empty");
        assertEquals("grant table frame 0", domain.physmap().xenFrameAt(a));
        assertEquals(tot - 1, domain.physmap().totPages(), "the page under a Xen frame is not the guest's memory");
        assertEquals(a, domain.grantTable().frameGfn(0));
        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 0, a), "the same place again: nothing changes");

        memory.putLong(a * PAGE + 8, 0x1234_0000_0001L); // the guest fills in entry 1
        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 0, b));
        assertEquals(0x1234_0000_0001L, memory.getLong(b * PAGE + 8), "entries move with the frame");
        assertEquals(0x1234_0000_0001L, memory.getLong(a * PAGE + 8), "the old gfn is RAM again, as it was");
        assertTrue(domain.physmap().isPopulated(a));
        assertEquals(tot - 1, domain.physmap().totPages());

        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 5, a), "growing the table to six frames");
        assertEquals(6, domain.grantTable().nrFrames());
        assertEquals(-XenErrno.EBUSY, addToPhysmap(w, SELF, XenMapSpace.SHARED_INFO, 0, a), "one Xen frame on another");
        assertEquals(-XenErrno.EBUSY, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 1, b));
        assertEquals(-XenErrno.EINVAL, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, GrantTable.DEFAULT_MAX_FRAMES, 1502),
                "beyond the limit");
        assertEquals(-XenErrno.EINVAL, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE,
                XenMapSpace.IDX_GRANT_TABLE_STATUS, 1502), "no status frames in version 1");
        assertEquals(-XenErrno.EINVAL, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 2, 0xfee00),
                "a hole where the local APIC is");
        assertEquals(-XenErrno.EINVAL, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 2, ROM_GPA / PAGE), "read-only");
        assertEquals(-XenErrno.EINVAL, addToPhysmap(w, SELF, XenMapSpace.SHARED_INFO, 1, 1502), "shared_info has one frame");
        assertEquals(-XenErrno.ENOSYS, addToPhysmap(w, SELF, XenMapSpace.GMFN, 1503, 1502));
        assertEquals(-XenErrno.ENOSYS, addToPhysmap(w, SELF, XenMapSpace.GMFN_RANGE, 1503, 1502));
        assertEquals(-XenErrno.ENOSYS, addToPhysmap(w, SELF, XenMapSpace.GMFN_FOREIGN, 1503, 1502));
        assertEquals(-XenErrno.EACCES, addToPhysmap(w, SELF, XenMapSpace.DEV_MMIO, 1503, 1502));
        assertEquals(-XenErrno.EINVAL, addToPhysmap(w, SELF, 99, 0, 1502));
        assertEquals(-XenErrno.ESRCH, addToPhysmap(w, 4, XenMapSpace.GRANT_TABLE, 2, 1502));
        assertEquals(-XenErrno.EFAULT, memoryOp(w, XenMem.ADD_TO_PHYSMAP, LOW_RAM - 4));
        assertEquals(-XenErrno.EDOM, memoryOp(w, XenMem.ADD_TO_PHYSMAP | (0x10000L << XenMem.EXTENT_SHIFT), ARGS + 512));
        assertNull(domain.physmap().xenFrameAt(1502));
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void framesInAHoleGetAPageOfTheirOwn(WordSize w) {
        long hole = LOW_RAM / PAGE + 16; // between the low RAM and the ROM: no memslot
        GuestPhysmap p = domain.physmap();
        long tot = p.totPages();
        int slots = memory.currentMap().size();
        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 0, hole));
        assertTrue(p.isOverlay(hole));
        assertTrue(!p.isRam(hole), "an overlay page is not RAM");
        assertEquals("grant table frame 0", p.xenFrameAt(hole));
        assertEquals(slots + 1, memory.currentMap().size(), "a one-page memslot");
        assertEquals(tot, p.totPages(), "a frame in a hole takes none of the guest's memory");
        assertTrue(pageIsZero(hole), "a new grant frame is empty");
        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 0, hole), "the same place again");
        assertEquals(slots + 1, memory.currentMap().size());

        memory.putLong(hole * PAGE + 8, 0x1234_0000_0001L); // the guest fills in entry 1 through the page
        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 0, 1700), "moved to RAM");
        assertEquals(0x1234_0000_0001L, memory.getLong(1700 * PAGE + 8), "entries move with the frame");
        assertTrue(!p.isOverlay(hole));
        assertNull(memory.currentMap().find(hole * PAGE), "the gfn is a hole again, as in Xen");
        assertEquals(slots, memory.currentMap().size());
        assertEquals(tot - 1, p.totPages(), "now over a RAM page");

        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 0, hole + 1), "and back into a hole");
        assertEquals(0x1234_0000_0001L, memory.getLong((hole + 1) * PAGE + 8));
        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.SHARED_INFO, 0, hole + 2), "shared_info in a hole too");
        assertEquals(2, p.overlayCount());
        assertEquals(-XenErrno.EBUSY, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 1, hole + 2), "one on another");
        assertEquals(-XenErrno.EINVAL, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 1, 1L << 28), "above 1 TiB");
        assertEquals(-XenErrno.EINVAL, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 1, 0xfeff8), "special pages");
        assertEquals(2, p.overlayCount(), "refusals leave nothing behind");
        p.releaseOverlays();
        assertEquals(0, p.overlayCount());
        assertEquals(slots, memory.currentMap().size(), "the domain's end removes them");
    }

    private static final long IDXS = ARRAY;
    private static final long GPFNS = ARRAY + PAGE;
    private static final long ERRS = ARRAY + 2 * PAGE;
    private static final long BATCH = ARGS + 768;

    private long batch(WordSize w, int domid, int space, int size, long start, long errs) {
        memory.putShort(BATCH + XenAddToPhysmapBatch.offsetOfDomid(w), (short) domid);
        memory.putShort(BATCH + XenAddToPhysmapBatch.offsetOfSpace(w), (short) space);
        memory.putShort(BATCH + XenAddToPhysmapBatch.offsetOfSize(w), (short) size);
        memory.putShort(BATCH + XenAddToPhysmapBatch.offsetOfU(w), (short) 0);
        putWord(w, BATCH + XenAddToPhysmapBatch.offsetOfIdxs(w), IDXS);
        putWord(w, BATCH + XenAddToPhysmapBatch.offsetOfGpfns(w), GPFNS);
        putWord(w, BATCH + XenAddToPhysmapBatch.offsetOfErrs(w), errs);
        return memoryOp(w, XenMem.ADD_TO_PHYSMAP_BATCH | (start << XenMem.EXTENT_SHIFT), BATCH);
    }

    private void entry(WordSize w, int i, long idx, long gpfn) {
        long word = w.bits() / 8;
        putWord(w, IDXS + i * word, idx);
        putWord(w, GPFNS + i * word, gpfn);
        memory.putInt(ERRS + i * 4L, 0x7777);
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void batchGivesEachEntryItsOwnResult(WordSize w) {
        entry(w, 0, 0, 1600);
        entry(w, 1, 1, 1601);
        entry(w, 2, GrantTable.DEFAULT_MAX_FRAMES, 1602);
        entry(w, 3, 2, 0xfec00); // a hole where the IOAPIC is
        entry(w, 4, 1 | XenMapSpace.IDX_GRANT_TABLE_STATUS, 1603);
        entry(w, 5, 3, 1600); // frame 0 is there
        entry(w, 6, 3, 1603);
        memory.putInt(ERRS + 7 * 4L, 0x7777);
        assertEquals(0, batch(w, SELF, XenMapSpace.GRANT_TABLE, 7, 0, ERRS));
        int[] expected = {0, 0, -XenErrno.EINVAL, -XenErrno.EINVAL, -XenErrno.EINVAL, -XenErrno.EBUSY, 0};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], memory.getInt(ERRS + i * 4L), "errs[" + i + "]");
        }
        assertEquals(1601, domain.grantTable().frameGfn(1));
        assertEquals(1603, domain.grantTable().frameGfn(3));
        assertEquals(4, domain.grantTable().nrFrames());
        assertEquals(0x7777, memory.getInt(ERRS + 7 * 4L), "nothing past size");
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void batchErrorsAndTheStartEntry(WordSize w) {
        for (int i = 0; i < 4; i++) {
            entry(w, i, i, 1700 + i);
        }
        assertEquals(0, batch(w, SELF, XenMapSpace.GRANT_TABLE, 4, 2, ERRS), "resume at entry 2");
        assertEquals(0x7777, memory.getInt(ERRS), "entries before the start are not done");
        assertEquals(-1, domain.grantTable().frameGfn(0));
        assertEquals(1702, domain.grantTable().frameGfn(2));
        assertEquals(0, memory.getInt(ERRS + 8));
        assertEquals(-XenErrno.EILSEQ, batch(w, SELF, XenMapSpace.GRANT_TABLE, 4, 5, ERRS), "start past size");
        assertEquals(0, batch(w, SELF, XenMapSpace.GRANT_TABLE, 4, 4, ERRS), "start == size: nothing to do");
        assertEquals(-XenErrno.EDOM, batch(w, SELF, XenMapSpace.GRANT_TABLE, 4, 0x10000, ERRS));
        assertEquals(-XenErrno.EOPNOTSUPP, batch(w, SELF, XenMapSpace.GMFN_RANGE, 4, 0, ERRS));
        assertEquals(-XenErrno.ESRCH, batch(w, 9, XenMapSpace.GRANT_TABLE, 4, 0, ERRS));
        assertEquals(-XenErrno.EACCES, batch(w, SELF, XenMapSpace.DEV_MMIO, 4, 0, ERRS));
        assertEquals(-XenErrno.EFAULT, batch(w, SELF, XenMapSpace.GRANT_TABLE, 4, 0, LOW_RAM - 8),
                "errs runs out of RAM after two entries");
        assertEquals(1700, domain.grantTable().frameGfn(0), "entries before the fault are done");
        assertEquals(1701, domain.grantTable().frameGfn(1));
        assertEquals(-XenErrno.EFAULT, memoryOp(w, XenMem.ADD_TO_PHYSMAP_BATCH, LOW_RAM - 4));
        entry(w, 0, 0, 1700);
        assertEquals(0, batch(w, SELF, XenMapSpace.GMFN_FOREIGN, 1, 0, ERRS));
        assertEquals(-XenErrno.ENOSYS, memory.getInt(ERRS), "no other domain to map from");
    }

    @Test
    void theLargestBatchIsDoneInOneCall() {
        WordSize w = WordSize.BITS_64;
        // 65535 entries that all fail: every one gets its result in this one call
        // idxs, gpfns and errs in separate 512 KiB areas
        long idxs = 64 * PAGE;
        long gpfns = idxs + 128 * PAGE;
        long errs = gpfns + 128 * PAGE;
        for (int i = 0; i < 0xffff; i++) {
            memory.putLong(idxs + i * 8L, GrantTable.DEFAULT_MAX_FRAMES + i);
            memory.putLong(gpfns + i * 8L, 1800);
        }
        memory.putShort(BATCH, (short) SELF);
        memory.putShort(BATCH + 2, (short) XenMapSpace.GRANT_TABLE);
        memory.putShort(BATCH + 4, (short) 0xffff);
        memory.putShort(BATCH + 6, (short) 0);
        memory.putLong(BATCH + 8, idxs);
        memory.putLong(BATCH + 16, gpfns);
        memory.putLong(BATCH + 24, errs);
        assertEquals(0, memoryOp(w, XenMem.ADD_TO_PHYSMAP_BATCH, BATCH));
        for (int i = 0; i < 0xffff; i += 4099) {
            assertEquals(-XenErrno.EINVAL, memory.getInt(errs + i * 4L));
        }
        assertEquals(-XenErrno.EINVAL, memory.getInt(errs + 0xfffeL * 4));
    }
}

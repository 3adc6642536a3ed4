package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import org.jxen.abi.GnttabGetVersion;
import org.jxen.abi.GnttabOp;
import org.jxen.abi.GnttabQuerySize;
import org.jxen.abi.GnttabSetVersion;
import org.jxen.abi.GnttabSetupTable;
import org.jxen.abi.Gntst;
import org.jxen.abi.Gtf;
import org.jxen.abi.Hypercall;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenMapSpace;
import org.jxen.abi.XenMem;
import org.jxen.gpc.GfnToPfnCache;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * grant_table_op (setup_table, query_size, set_version, get_version) and the host side
 * ({@link GrantTable#mapForeign}) in-process, with good and bad input: flags set while mapped and
 * cleared after, read-only grants, wrong domains, bad references and frames, pins that stop the
 * balloon, a frame that moves while mapped, a seeded model test of pins, and concurrent backends.
 */
class GrantTableTest extends PhysmapTestBase {
    static final long FRAME0 = 1900;
    static final long GRANTED = 1910;

    long gnttab(WordSize w, long cmd, long uop, long count) {
        return call(w, Hypercall.GRANT_TABLE_OP, cmd, uop, count);
    }

    /** The guest writes entry {@code ref} of frame 0 the way Linux does: frame and domid, then flags. */
    void grant(int ref, int flags, int domid, long frame) {
        long e = FRAME0 * PAGE + ref * 8L;
        memory.putInt(e + 4, (int) frame);
        memory.putShort(e + 2, (short) domid);
        memory.putShort(e, (short) flags);
    }

    int flags(int ref) {
        return Short.toUnsignedInt(memory.getShort(FRAME0 * PAGE + ref * 8L));
    }

    GrantException mapFails(int ref, boolean write, int status) {
        GrantException e = assertThrows(GrantException.class, () -> domain.grantTable().mapForeign(ref, write));
        assertEquals(status, e.status(), e.getMessage());
        return e;
    }

    // ------------------------------------------------------------------ the hypercall

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void querySizeAndVersions(WordSize w) {
        long q = ARGS;
        memory.putShort(q, (short) SELF);
        assertEquals(0, gnttab(w, GnttabOp.QUERY_SIZE, q, 1));
        assertEquals(1, memory.getInt(q + GnttabQuerySize.offsetOfNrFrames(w)), "one frame to start with, as Xen");
        assertEquals(GrantTable.DEFAULT_MAX_FRAMES, memory.getInt(q + GnttabQuerySize.offsetOfMaxNrFrames(w)));
        assertEquals(Gntst.OKAY, memory.getShort(q + GnttabQuerySize.offsetOfStatus(w)));
        assertEquals(0, addToPhysmap(w, SELF, XenMapSpace.GRANT_TABLE, 5, FRAME0));
        assertEquals(0, gnttab(w, GnttabOp.QUERY_SIZE, q, 1));
        assertEquals(6, memory.getInt(q + GnttabQuerySize.offsetOfNrFrames(w)));
        memory.putShort(q, (short) 7);
        assertEquals(0, gnttab(w, GnttabOp.QUERY_SIZE, q, 1));
        assertEquals(Gntst.BAD_DOMAIN, memory.getShort(q + GnttabQuerySize.offsetOfStatus(w)));
        assertEquals(-XenErrno.EINVAL, gnttab(w, GnttabOp.QUERY_SIZE, q, 2));
        assertEquals(-XenErrno.EFAULT, gnttab(w, GnttabOp.QUERY_SIZE, LOW_RAM + 4, 1));

        long v = ARGS + 64;
        memory.putInt(v + GnttabSetVersion.offsetOfVersion(w), 1);
        assertEquals(0, gnttab(w, GnttabOp.SET_VERSION, v, 1));
        assertEquals(1, memory.getInt(v));
        memory.putInt(v, 2);
        assertEquals(-XenErrno.ENOSYS, gnttab(w, GnttabOp.SET_VERSION, v, 1), "version 2 is not there, as with max-ver:1");
        assertEquals(1, memory.getInt(v), "the version in effect is written back");
        memory.putInt(v, 3);
        assertEquals(-XenErrno.EINVAL, gnttab(w, GnttabOp.SET_VERSION, v, 1));
        assertEquals(1, memory.getInt(v));
        assertEquals(-XenErrno.EFAULT, gnttab(w, GnttabOp.SET_VERSION, LOW_RAM, 1));

        long gv = ARGS + 128;
        memory.putShort(gv + GnttabGetVersion.offsetOfDom(w), (short) SELF);
        memory.putInt(gv + GnttabGetVersion.offsetOfVersion(w), 99);
        assertEquals(0, gnttab(w, GnttabOp.GET_VERSION, gv, 1));
        assertEquals(1, memory.getInt(gv + GnttabGetVersion.offsetOfVersion(w)));
        memory.putShort(gv, (short) 3);
        assertEquals(-XenErrno.ESRCH, gnttab(w, GnttabOp.GET_VERSION, gv, 1));
        assertEquals(-XenErrno.EFAULT, gnttab(w, GnttabOp.GET_VERSION, LOW_RAM - 1, 1));

        assertEquals(-XenErrno.ENOSYS, gnttab(w, 0 /* map_grant_ref */, q, 1), "no peer domain's grants to map");
        assertEquals(-XenErrno.ENOSYS, gnttab(w, 5 /* copy */, q, 1));
        assertEquals(-XenErrno.EINVAL, gnttab(w, GnttabOp.QUERY_SIZE | (1 << 12), q, 1), "continuation bits");
        assertEquals(-XenErrno.EINVAL, gnttab(w, GnttabOp.QUERY_SIZE, q, 0x8000_0000L), "a count negative as an int");
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void setupTableGrowsTheTableAndListsWhereEachFrameIs(WordSize w) {
        long s = ARGS;
        long list = ARRAY;
        long word = w.bits() / 8;
        mapGrantFrame(0, FRAME0);
        mapGrantFrame(2, FRAME0 + 2);
        memory.putShort(s + GnttabSetupTable.offsetOfDom(w), (short) SELF);
        memory.putInt(s + GnttabSetupTable.offsetOfNrFrames(w), 4);
        putWord(w, s + GnttabSetupTable.offsetOfFrameList(w), list);
        putWord(w, list + 4 * word, 0x55);
        assertEquals(0, gnttab(w, GnttabOp.SETUP_TABLE, s, 1));
        assertEquals(Gntst.OKAY, memory.getShort(s + GnttabSetupTable.offsetOfStatus(w)));
        long none = w == WordSize.BITS_64 ? -1L : 0xffff_ffffL;
        assertArrayEquals(new long[] {FRAME0, none, FRAME0 + 2, none},
                LongStream.range(0, 4).map(i -> getWord(w, list + i * word)).toArray());
        assertEquals(0x55, getWord(w, list + 4 * word), "only nr_frames entries are written");
        assertEquals(4, domain.grantTable().nrFrames());

        memory.putInt(s + GnttabSetupTable.offsetOfNrFrames(w), GrantTable.DEFAULT_MAX_FRAMES + 1);
        assertEquals(0, gnttab(w, GnttabOp.SETUP_TABLE, s, 1));
        assertEquals(Gntst.GENERAL_ERROR, memory.getShort(s + GnttabSetupTable.offsetOfStatus(w)));
        assertEquals(4, domain.grantTable().nrFrames());

        memory.putInt(s + GnttabSetupTable.offsetOfNrFrames(w), 8);
        putWord(w, s + GnttabSetupTable.offsetOfFrameList(w), LOW_RAM - 3 * word);
        assertEquals(0, gnttab(w, GnttabOp.SETUP_TABLE, s, 1));
        assertEquals(Gntst.BAD_VIRT_ADDR, memory.getShort(s + GnttabSetupTable.offsetOfStatus(w)));
        assertEquals(8, domain.grantTable().nrFrames());

        memory.putShort(s + GnttabSetupTable.offsetOfDom(w), (short) 2);
        assertEquals(0, gnttab(w, GnttabOp.SETUP_TABLE, s, 1));
        assertEquals(Gntst.BAD_DOMAIN, memory.getShort(s + GnttabSetupTable.offsetOfStatus(w)));
        assertEquals(-XenErrno.EINVAL, gnttab(w, GnttabOp.SETUP_TABLE, s, 0));
        assertEquals(-XenErrno.EFAULT, gnttab(w, GnttabOp.SETUP_TABLE, LOW_RAM - 8, 1));
    }

    // ------------------------------------------------------------------ the host side

    @Test
    void aBackendReadsAndWritesAGrantedPageWhileTheFlagsSayItIsMapped() throws Exception {
        mapGrantFrame(0, FRAME0);
        fillPage(GRANTED, 0xabc);
        grant(10, Gtf.PERMIT_ACCESS | Gtf.READONLY, 0, GRANTED);
        grant(11, Gtf.PERMIT_ACCESS, 0, GRANTED + 1);

        try (GrantMapping ro = domain.grantTable().mapForeign(10, false)) {
            assertEquals(Gtf.PERMIT_ACCESS | Gtf.READONLY | Gtf.READING, flags(10));
            assertEquals(0, memory.getShort(FRAME0 * PAGE + 10 * 8 + 2), "domid untouched");
            assertEquals(GRANTED, ro.gfn());
            byte[] b = new byte[PAGE_BYTES];
            assertTrue(ro.read(0, MemorySegment.ofArray(b)));
            assertEquals(memory.getLong(GRANTED * PAGE + 8), MemorySegment.ofArray(b).get(
                    java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 8));
            assertThrows(IllegalStateException.class, () -> ro.write(0, MemorySegment.ofArray(new byte[8])));
            assertThrows(IllegalArgumentException.class, () -> ro.read(4090, MemorySegment.ofArray(new byte[8])));
            assertThrows(IllegalArgumentException.class, () -> ro.read(-1, MemorySegment.ofArray(new byte[1])));
            assertEquals(1, domain.physmap().pinCount(GRANTED));
        }
        assertEquals(Gtf.PERMIT_ACCESS | Gtf.READONLY, flags(10), "GTF_reading cleared at unmap");
        assertEquals(0, domain.physmap().pinCount(GRANTED));

        GrantMapping rw = domain.grantTable().mapForeign(11, true);
        assertEquals(Gtf.PERMIT_ACCESS | Gtf.READING | Gtf.WRITING, flags(11));
        byte[] data = "from the backend".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertTrue(rw.write(100, MemorySegment.ofArray(data)));
        byte[] seen = new byte[data.length];
        memory.read((GRANTED + 1) * PAGE + 100, MemorySegment.ofArray(seen));
        assertArrayEquals(data, seen, "the guest sees what the backend wrote");
        GrantMapping second = domain.grantTable().mapForeign(11, false);
        assertEquals(2, domain.physmap().pinCount(GRANTED + 1));
        rw.close();
        assertEquals(Gtf.PERMIT_ACCESS | Gtf.READING, flags(11), "the last writer went: GTF_writing cleared");
        rw.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> rw.read(0, MemorySegment.ofArray(new byte[1])));
        second.close();
        assertEquals(Gtf.PERMIT_ACCESS, flags(11));
        assertEquals(0, domain.grantTable().mappingCount());
    }

    private static final int PAGE_BYTES = 4096;

    @Test
    void badEntriesAreRefusedAndLeaveNoFlagBehind() {
        mapGrantFrame(0, FRAME0);
        assertEquals(0, addToPhysmap(WordSize.BITS_64, SELF, XenMapSpace.SHARED_INFO, 0, 1950));
        grant(1, Gtf.INVALID, 0, GRANTED);
        grant(2, Gtf.PERMIT_ACCESS, 5, GRANTED);
        grant(3, Gtf.PERMIT_ACCESS | Gtf.READONLY, 0, GRANTED);
        grant(4, Gtf.PERMIT_ACCESS | Gtf.SUB_PAGE, 0, GRANTED);
        grant(5, Gtf.ACCEPT_TRANSFER, 0, GRANTED);
        grant(6, Gtf.TRANSITIVE, 0, GRANTED);
        grant(7, Gtf.PERMIT_ACCESS, 0, LOW_RAM / PAGE);
        grant(8, Gtf.PERMIT_ACCESS, 0, ROM_GPA / PAGE);
        grant(9, Gtf.PERMIT_ACCESS, 0, 1950);
        grant(12, Gtf.PERMIT_ACCESS, 0, FRAME0);
        grant(13, Gtf.PERMIT_ACCESS, 0, 1960);
        assertEquals(1, reservation(WordSize.BITS_64, XenMem.DECREASE_RESERVATION, 0, 1960));

        mapFails(1, false, Gntst.GENERAL_ERROR);
        mapFails(2, false, Gntst.GENERAL_ERROR);
        assertTrue(mapFails(3, true, Gntst.GENERAL_ERROR).getMessage().contains("read-only"));
        mapFails(4, false, Gntst.GENERAL_ERROR);
        mapFails(5, false, Gntst.GENERAL_ERROR);
        mapFails(6, false, Gntst.GENERAL_ERROR);
        mapFails(7, false, Gntst.BAD_PAGE);
        mapFails(8, false, Gntst.BAD_PAGE);
        mapFails(9, true, Gntst.BAD_PAGE);
        mapFails(12, true, Gntst.BAD_PAGE);
        mapFails(13, false, Gntst.BAD_PAGE);
        assertEquals(Gtf.PERMIT_ACCESS | Gtf.READONLY, flags(3), "no GTF_reading left by a refused write");
        for (int ref : new int[] {7, 8, 9, 12, 13}) {
            assertEquals(Gtf.PERMIT_ACCESS, flags(ref), "ref " + ref + ": the flags set before the frame check are undone");
        }
        mapFails(-1, false, Gntst.BAD_GNTREF);
        mapFails(GrantTable.ENTRIES_PER_FRAME, false, Gntst.BAD_GNTREF);
        assertEquals(0, domain.grantTable().mappingCount());
        assertThrows(GrantException.class, () -> domain.grantTable().mapForeign(4, 2, false), "granted to 0, not 4");
    }

    @Test
    void aReferenceInAFrameThatWasNeverPlacedIsBad() throws Exception {
        mapFails(0, false, Gntst.BAD_GNTREF); // the one frame is placed nowhere yet
        mapGrantFrame(1, FRAME0); // grows the table to two frames; frame 0 is still nowhere
        long e = FRAME0 * PAGE + 3 * 8L;
        memory.putInt(e + 4, (int) GRANTED);
        memory.putShort(e, (short) Gtf.PERMIT_ACCESS);
        mapFails(3, false, Gntst.BAD_GNTREF);
        try (GrantMapping m = domain.grantTable().mapForeign(GrantTable.ENTRIES_PER_FRAME + 3, false)) {
            assertEquals(GRANTED, m.gfn());
            assertEquals(Gtf.PERMIT_ACCESS | Gtf.READING, Short.toUnsignedInt(memory.getShort(e)));
        }
        GrantTable.Entry entry = domain.grantTable().entry(GrantTable.ENTRIES_PER_FRAME + 3);
        assertEquals(new GrantTable.Entry(Gtf.PERMIT_ACCESS, 0, GRANTED), entry);
        assertNull(domain.grantTable().entry(3));
    }

    @Test
    void aMappedPageIsNotBallooned() throws Exception {
        mapGrantFrame(0, FRAME0);
        grant(20, Gtf.PERMIT_ACCESS, 0, GRANTED);
        GrantMapping m = domain.grantTable().mapForeign(20, true);
        assertEquals(0, reservation(WordSize.BITS_64, XenMem.DECREASE_RESERVATION, 0, GRANTED),
                "a backend holds the page: the balloon stops there");
        assertEquals(-XenErrno.EBUSY, addToPhysmap(WordSize.BITS_64, SELF, XenMapSpace.GRANT_TABLE, 1, GRANTED),
                "nor may a Xen frame be placed over it");
        m.close();
        assertEquals(1, reservation(WordSize.BITS_64, XenMem.DECREASE_RESERVATION, 0, GRANTED));
    }

    @Test
    void theFlagsFollowAFrameThatMovesWhileMapped() throws Exception {
        mapGrantFrame(0, FRAME0);
        grant(30, Gtf.PERMIT_ACCESS, 0, GRANTED);
        GrantMapping m = domain.grantTable().mapForeign(30, true);
        mapGrantFrame(0, FRAME0 + 5);
        long moved = (FRAME0 + 5) * PAGE + 30 * 8L;
        assertEquals(Gtf.PERMIT_ACCESS | Gtf.READING | Gtf.WRITING, Short.toUnsignedInt(memory.getShort(moved)));
        assertTrue(m.write(0, MemorySegment.ofArray(new byte[] {1, 2, 3})));
        m.close();
        assertEquals(Gtf.PERMIT_ACCESS, Short.toUnsignedInt(memory.getShort(moved)), "cleared where the frame is now");
        assertEquals(Gtf.PERMIT_ACCESS | Gtf.READING | Gtf.WRITING, flags(30), "the old gfn is just RAM now");
    }

    @Test
    void theHostApiRefusesCallersInsideACacheAndAClosedTable() throws Exception {
        mapGrantFrame(0, FRAME0);
        grant(40, Gtf.PERMIT_ACCESS, 0, GRANTED);
        GrantMapping m = domain.grantTable().mapForeign(40, false);
        GfnToPfnCache c = memory.newCache("held");
        c.activate(GRANTED * PAGE, 8);
        assertNotNull(c.lock());
        try {
            assertThrows(IllegalStateException.class, () -> domain.grantTable().mapForeign(40, false));
            assertThrows(IllegalStateException.class, m::close);
        } finally {
            c.unlock();
        }
        c.deactivate();
        domain.grantTable().close();
        assertTrue(m.isClosed(), "closing the table unmaps what is mapped");
        assertEquals(Gtf.PERMIT_ACCESS, flags(40));
        assertThrows(IllegalStateException.class, () -> domain.grantTable().mapForeign(40, false));
        assertThrows(IllegalStateException.class, () -> m.read(0, MemorySegment.ofArray(new byte[1])),
                "a closed mapping is a host bug to use");
    }

    @Test
    void aGrantedPageWhoseMemslotGoesReadsFalseInsteadOfFailing() throws Exception {
        mapGrantFrame(0, FRAME0);
        long highGfn = HIGH_GPA / PAGE + 10;
        memory.putLong(highGfn * PAGE, 77);
        grant(50, Gtf.PERMIT_ACCESS, 0, highGfn);
        GrantMapping m = domain.grantTable().mapForeign(50, true);
        MemorySegment b = MemorySegment.ofArray(new byte[8]);
        assertTrue(m.read(0, b));
        assertEquals(77, b.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0));
        memory.removeSlot(2); // the host takes the high RAM away
        assertFalse(m.read(0, b), "not reachable: false, no exception, nothing touched");
        assertFalse(m.write(0, b));
        m.close();
        assertEquals(Gtf.PERMIT_ACCESS, flags(50));
    }

    // ------------------------------------------------------------------ model and concurrency

    static long[] seeds() {
        long[] s = new long[6];
        Random r = new Random();
        s[0] = 1;
        s[1] = 42;
        for (int i = 2; i < s.length; i++) {
            s[i] = r.nextLong();
        }
        return s;
    }

    /** Random map/unmap sequences over a few references; the flags always say what the model says. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void pinsAgreeWithAModel(long seed) throws Exception {
        System.out.println("GrantTableTest.pinsAgreeWithAModel seed " + seed);
        Random r = new Random(seed);
        mapGrantFrame(0, FRAME0);
        int refs = 4;
        for (int ref = 0; ref < refs; ref++) {
            grant(ref, Gtf.PERMIT_ACCESS | (ref == 3 ? Gtf.READONLY : 0), 0, GRANTED + ref);
        }
        List<List<GrantMapping>> open = new ArrayList<>();
        for (int ref = 0; ref < refs; ref++) {
            open.add(new ArrayList<>());
        }
        for (int step = 0; step < 400; step++) {
            int ref = r.nextInt(refs);
            List<GrantMapping> mine = open.get(ref);
            if (mine.isEmpty() || r.nextInt(3) != 0) {
                boolean write = r.nextBoolean();
                if (ref == 3 && write) {
                    mapFails(ref, true, Gntst.GENERAL_ERROR);
                } else {
                    mine.add(domain.grantTable().mapForeign(ref, write));
                }
            } else {
                mine.remove(r.nextInt(mine.size())).close();
            }
            for (int k = 0; k < refs; k++) {
                List<GrantMapping> ms = open.get(k);
                boolean reading = !ms.isEmpty();
                boolean writing = ms.stream().anyMatch(GrantMapping::isWritable);
                int expected = Gtf.PERMIT_ACCESS | (k == 3 ? Gtf.READONLY : 0) | (reading ? Gtf.READING : 0)
                        | (writing ? Gtf.WRITING : 0);
                assertEquals(expected, flags(k), "seed " + seed + " step " + step + " ref " + k);
                assertEquals(ms.size(), domain.physmap().pinCount(GRANTED + k), "seed " + seed + " step " + step);
            }
        }
        for (List<GrantMapping> ms : open) {
            ms.forEach(GrantMapping::close);
        }
        for (int k = 0; k < refs; k++) {
            assertEquals(Gtf.PERMIT_ACCESS | (k == 3 ? Gtf.READONLY : 0), flags(k));
        }
    }

    /**
     * Backends map, read, write and unmap on two threads while the guest's vCPU moves the grant frame
     * back and forth and balloons pages next to the granted ones. Nothing throws, every read sees a
     * whole value some writer wrote, and no flag is left behind.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void backendsRaceWithTheGuestMovingItsFrameAndBallooning() throws Exception {
        mapGrantFrame(0, FRAME0);
        grant(60, Gtf.PERMIT_ACCESS, 0, GRANTED);
        grant(61, Gtf.PERMIT_ACCESS, 0, GRANTED);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(2);
        List<Thread> backends = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            int ref = 60 + t;
            Thread th = new Thread(() -> {
                started.countDown();
                MemorySegment b = MemorySegment.ofArray(new byte[8]);
                try {
                    long n = 0;
                    while (!stop.get()) {
                        try (GrantMapping m = domain.grantTable().mapForeign(ref, true)) {
                            b.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0, 0x0101_0101_0101_0101L * (n++ & 0x7f));
                            m.write(8 * (ref - 60), b);
                            if (m.read(8 * (ref - 60), b)) {
                                long v = b.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0);
                                if (v % 0x0101_0101_0101_0101L != 0) {
                                    throw new AssertionError("torn value 0x" + Long.toHexString(v));
                                }
                            }
                        } catch (GrantException e) {
                            throw new AssertionError(e);
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "backend-" + t);
            backends.add(th);
            th.start();
        }
        assertTrue(started.await(30, TimeUnit.SECONDS));
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
        int moves = 0;
        while (System.nanoTime() < deadline && failure.get() == null) {
            long to = moves % 2 == 0 ? FRAME0 + 7 : FRAME0;
            assertEquals(0, addToPhysmap(WordSize.BITS_64, SELF, XenMapSpace.GRANT_TABLE, 0, to));
            assertEquals(1, reservation(WordSize.BITS_64, XenMem.DECREASE_RESERVATION, 0, GRANTED + 1));
            assertEquals(1, reservation(WordSize.BITS_64, XenMem.POPULATE_PHYSMAP, 0, GRANTED + 1));
            moves++;
        }
        stop.set(true);
        for (Thread th : backends) {
            th.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(th.isAlive());
        }
        if (failure.get() != null) {
            throw new AssertionError("a backend failed after " + moves + " moves", failure.get());
        }
        long frame = domain.grantTable().frameGfn(0);
        for (int ref = 60; ref <= 61; ref++) {
            assertEquals(Gtf.PERMIT_ACCESS, Short.toUnsignedInt(memory.getShort(frame * PAGE + ref * 8L)),
                    "ref " + ref + " after " + moves + " moves");
        }
        assertEquals(0, domain.physmap().pinCount(GRANTED));
        assertTrue(moves > 0);
    }
}

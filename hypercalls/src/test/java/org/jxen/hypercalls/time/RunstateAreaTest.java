package org.jxen.hypercalls.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jxen.abi.Runstate;
import org.jxen.abi.VcpuRunstateInfo;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.gpc.Memslot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The guest's runstate area (scenarios 2, 3, 19): every offset around a page boundary that is also a
 * memslot boundary, both layouts, one cache (contiguous pages) or two (pages at unrelated gpas),
 * with a concurrent reader that follows the guest's protocol.
 */
class RunstateAreaTest {
    static final long PAGE = HostMemory.PAGE_SIZE;
    /** Where the second page goes when the guest's pages are not contiguous. */
    static final long FAR_PAGE = 5 * PAGE;
    static final byte SENTINEL = (byte) 0xa5;

    HostMemory low;
    HostMemory high;
    GuestMemory memory;

    @BeforeEach
    void setUp() {
        low = HostMemory.offHeap("low", 2 * PAGE);
        high = HostMemory.offHeap("high", 4 * PAGE);
        memory = new GuestMemory("runstate");
        memory.addSlot(0, 0, 2 * PAGE, low, 0, 0); // gpa [0, 2P): one host mapping
        memory.addSlot(1, 2 * PAGE, 4 * PAGE, high, 0, 0); // gpa [2P, 6P): another
    }

    @AfterEach
    void tearDown() {
        for (Memslot s : memory.currentMap().slots()) {
            memory.removeSlot(s.id());
        }
        low.close();
        high.close();
    }

    /** The gpa of record byte {@code i} (may be negative or past the end: the bytes around it). */
    static long locate(long gpa, long i, long size, boolean scattered) {
        long pageEnd = (gpa | (PAGE - 1)) + 1;
        boolean crosses = (gpa & (PAGE - 1)) + size > PAGE;
        if (scattered && crosses && gpa + i >= pageEnd) {
            return FAR_PAGE + (gpa + i - pageEnd);
        }
        return gpa + i;
    }

    void fillSentinels() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(256).fill(SENTINEL);
            memory.write(2 * PAGE - 128, s);
            memory.write(FAR_PAGE, s);
        }
    }

    /** The record decoded straight from guest memory, byte by byte. */
    RunstateAccount.Snapshot decode(long gpa, WordSize w, boolean scattered) {
        long size = RunstateArea.sizeOf(w);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(size);
            for (long i = 0; i < size; i++) {
                seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, memory.getByte(locate(gpa, i, size, scattered)));
            }
            return new RunstateAccount.Snapshot(VcpuRunstateInfo.state(seg), VcpuRunstateInfo.stateEntryTime(seg, w),
                    VcpuRunstateInfo.time(seg, w, 0), VcpuRunstateInfo.time(seg, w, 1),
                    VcpuRunstateInfo.time(seg, w, 2), VcpuRunstateInfo.time(seg, w, 3));
        }
    }

    void assertSentinels(long gpa, WordSize w, boolean scattered, String where) {
        long size = RunstateArea.sizeOf(w);
        for (long g = 2 * PAGE - 128; g < 2 * PAGE + 128; g++) {
            if (!inArea(g, gpa, size, scattered)) {
                assertEquals(SENTINEL, memory.getByte(g), where + ": byte at gpa 0x" + Long.toHexString(g) + " changed");
            }
        }
        for (long g = FAR_PAGE; g < FAR_PAGE + 256; g++) {
            if (!inArea(g, gpa, size, scattered)) {
                assertEquals(SENTINEL, memory.getByte(g), where + ": byte at gpa 0x" + Long.toHexString(g) + " changed");
            }
        }
    }

    static boolean inArea(long g, long gpa, long size, boolean scattered) {
        for (long i = 0; i < size; i++) {
            if (locate(gpa, i, size, scattered) == g) {
                return true;
            }
        }
        return false;
    }

    @Test
    void sweepEveryOffsetAcrossAPageAndMemslotBoundaryWithAConcurrentGuestReader() throws Exception {
        long seed = Long.getLong("jxen.seed", System.nanoTime());
        System.out.println("RunstateAreaTest sweep seed " + seed + " (rerun with -Djxen.seed=" + seed + ")");
        SplittableRandom r = new SplittableRandom(seed);
        int configs = 0;
        for (WordSize w : WordSize.values()) {
            long size = RunstateArea.sizeOf(w);
            for (boolean scattered : new boolean[] {false, true}) {
                for (long gpa = 2 * PAGE - size - 4; gpa <= 2 * PAGE + 4; gpa++) {
                    String where = w + (scattered ? " scattered" : " contiguous") + " gpa 0x" + Long.toHexString(gpa)
                            + " seed " + seed;
                    fillSentinels();
                    RunstateArea area = new RunstateArea(memory, "vcpu0");
                    boolean crosses = (gpa & (PAGE - 1)) + size > PAGE;
                    assertEquals(0, area.register(gpa, scattered && crosses ? FAR_PAGE : -1, w), where);
                    // entry times just below a carry into the top byte: the flag byte changes value too
                    long start = 0x00ff_ffff_ff00_0000L - r.nextLong(1 << 20);
                    RunstateAccount acct = new RunstateAccount(start);
                    assertTrue(area.update(acct.snapshot(), true), where);
                    assertEquals(acct.snapshot(), decode(gpa, w, scattered), where);

                    AtomicBoolean stop = new AtomicBoolean();
                    AtomicReference<String> error = new AtomicReference<>();
                    AtomicLong reads = new AtomicLong();
                    Thread reader = new Thread(() -> {
                        long last = 0;
                        while (!stop.get()) {
                            RunstateAccount.Snapshot s = area.readAsGuest(1_000_000);
                            if (s == null) {
                                continue;
                            }
                            reads.incrementAndGet();
                            if (s.sum() != s.stateEntryTime() || s.stateEntryTime() < last
                                    || s.state() < 0 || s.state() > 3) {
                                error.compareAndSet(null, "torn read " + s + " after entry " + last);
                            }
                            last = s.stateEntryTime();
                        }
                    });
                    reader.start();
                    long now = start;
                    int updates = 150 + r.nextInt(100);
                    for (int i = 0; i < updates; i++) {
                        now += r.nextLong(1 << 20);
                        acct.change(r.nextInt(4), now);
                        assertTrue(area.update(acct.snapshot(), (i & 1) == 0), where);
                    }
                    stop.set(true);
                    reader.join();
                    assertNull(error.get(), where);
                    RunstateAccount.Snapshot fin = acct.snapshot();
                    RunstateAccount.Snapshot seen = decode(gpa, w, scattered);
                    assertEquals(fin, seen, where);
                    assertEquals(seen.sum(), seen.stateEntryTime(), where);
                    assertEquals(0, seen.stateEntryTime() & Runstate.XEN_RUNSTATE_UPDATE, where);
                    assertEquals(fin, area.readAsGuest(1), where);
                    assertSentinels(gpa, w, scattered, where);
                    assertEquals(0, area.skippedUpdates(), where);
                    area.unregister();
                    configs++;
                }
            }
        }
        System.out.println("RunstateAreaTest swept " + configs + " configurations");
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void aNonBlockingUpdateGivesUpWhenTheCacheIsNotValidAndCountsIt(WordSize w) {
        RunstateArea area = new RunstateArea(memory, "vcpu1");
        long gpa = 2 * PAGE - 20;
        assertEquals(0, area.register(gpa, -1, w));
        RunstateAccount acct = new RunstateAccount(10);
        acct.change(Runstate.RUNNING, 30);
        // a memory-map change (new generation) leaves the cache needing a refresh
        HostMemory extra = HostMemory.offHeap("extra", PAGE);
        try {
            memory.addSlot(7, 16 * PAGE, PAGE, extra, 0, 0);
            assertFalse(area.update(acct.snapshot(), false));
            assertEquals(1, area.skippedUpdates());
            assertTrue(area.update(acct.snapshot(), true)); // may block: refreshes
            assertEquals(acct.snapshot(), decode(gpa, w, false));
            assertEquals(1, area.writtenUpdates());
            memory.removeSlot(7);
        } finally {
            extra.close();
        }
    }

    @Test
    void unregisteredAndBadRegistrations() {
        RunstateArea area = new RunstateArea(memory, "vcpu2");
        RunstateAccount acct = new RunstateAccount(0);
        assertFalse(area.update(acct.snapshot(), true));
        assertEquals(0, area.skippedUpdates());
        assertEquals(-XenErrno.EINVAL, area.register(2 * PAGE - 8, FAR_PAGE + 8, WordSize.BITS_64));
        assertFalse(area.isRegistered());
        assertEquals(0, area.register(2 * PAGE - 8, FAR_PAGE, WordSize.BITS_32));
        assertTrue(area.isRegistered());
        assertEquals(WordSize.BITS_32, area.wordSize());
        area.unregister();
        assertFalse(area.update(acct.snapshot(), true));
        // an unbacked gpa is legal (the cache refreshes later); the update is given up meanwhile
        assertEquals(0, area.register(64 * PAGE, -1, WordSize.BITS_64));
        assertFalse(area.update(acct.snapshot(), true));
        assertEquals(1, area.skippedUpdates());
        area.unregister();
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void encodeForGetRunstateInfoUsesTheGuestLayout(WordSize w) {
        RunstateAccount.Snapshot s = new RunstateAccount.Snapshot(Runstate.BLOCKED, 10, 1, 2, 3, 4);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(RunstateArea.sizeOf(w));
            RunstateArea.encode(s, w, seg);
            assertEquals(Runstate.BLOCKED, VcpuRunstateInfo.state(seg));
            assertEquals(10, VcpuRunstateInfo.stateEntryTime(seg, w));
            for (int i = 0; i < 4; i++) {
                assertEquals(i + 1, VcpuRunstateInfo.time(seg, w, i));
            }
            assertEquals(w == WordSize.BITS_64 ? 48 : 44, seg.byteSize());
        }
    }

    @Test
    void hostSetDataShowsExactlyInTheGuestArea() {
        RunstateArea area = new RunstateArea(memory, "vcpu3");
        assertEquals(0, area.register(PAGE + 8, -1, WordSize.BITS_64));
        RunstateAccount acct = new RunstateAccount(0);
        assertTrue(acct.setData(Runstate.RUNNABLE, 0x1234_5678_9abcL + 6, 1, 2, 3, 0x1234_5678_9abcL));
        assertTrue(area.update(acct.snapshot(), true));
        assertEquals(new RunstateAccount.Snapshot(Runstate.RUNNABLE, 0x1234_5678_9abcL + 6, 1, 2, 3, 0x1234_5678_9abcL),
                decode(PAGE + 8, WordSize.BITS_64, false));
        assertNotNull(area.readAsGuest(1));
        area.unregister();
    }
}

package org.jxen.hypercalls.mm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.HostMemory;
import org.jxen.gpc.Memslot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Copies by guest-virtual address: page by page, across page boundaries, -EFAULT without partial writes. */
class GuestVirtualMemoryTest {
    static final long ALL = 7;
    static final long RO = 5; // present, user, not writable
    static final long PAGE_A = 0x9000; // gva 0x40_0000 maps here
    static final long PAGE_B = 0x3000; // gva 0x40_1000 maps here: physically before PAGE_A
    static final long GVA = 0x40_0000;

    final TestGuest g = new TestGuest(16L << 20, 0x10_0000);
    final GuestVirtualMemory gvm = new GuestVirtualMemory();
    final Arena arena = Arena.ofConfined();
    long cr3;
    long pt;

    @BeforeEach
    void tables() {
        cr3 = g.newTable();
        long pdpt = g.newTable();
        long pd = g.newTable();
        pt = g.newTable();
        g.put64(cr3, pdpt | ALL);
        g.put64(pdpt, pd | ALL);
        g.put64(pd + 8 * 2, pt | ALL); // gva 4 MiB
        g.put64(pt, PAGE_A | ALL);
        g.put64(pt + 8, PAGE_B | ALL);
        gvm.bind(g.memory, state(0, true));
    }

    PagingState state(int cpl, boolean wp) {
        return PagingState.of(0x80000001L | (wp ? 1L << 16 : 0), cr3, 0x20, 0x500, cpl);
    }

    @AfterEach
    void close() {
        arena.close();
        g.close();
    }

    MemorySegment pattern(int n, int seed) {
        MemorySegment s = arena.allocate(n);
        for (int i = 0; i < n; i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + seed));
        }
        return s;
    }

    byte guestByte(long gpa) {
        return g.ram.segment().get(ValueLayout.JAVA_BYTE, gpa);
    }

    @Test
    void aStructAcrossAPageBoundaryIsCopiedPiecewiseFromTwoPhysicalPages() {
        MemorySegment src = pattern(64, 1);
        assertEquals(0, gvm.copyToGuest(src, GVA + 0x1000 - 24));
        for (int i = 0; i < 24; i++) {
            assertEquals(src.get(ValueLayout.JAVA_BYTE, i), guestByte(PAGE_A + 0x1000 - 24 + i));
        }
        for (int i = 24; i < 64; i++) {
            assertEquals(src.get(ValueLayout.JAVA_BYTE, i), guestByte(PAGE_B + i - 24));
        }
        MemorySegment back = arena.allocate(64);
        assertEquals(0, gvm.copyFromGuest(GVA + 0x1000 - 24, back));
        assertEquals(-1, back.mismatch(src));
        assertEquals(0x0807060504030201L, readU64Across(0x0807060504030201L));
        assertEquals(0x0201, writeReadU16Across(0x0201));
    }

    long readU64Across(long v) {
        gvm.writeU64(GVA + 0xffd, v);
        assertEquals((byte) (v >>> 24), guestByte(PAGE_B));
        return gvm.readU64(GVA + 0xffd);
    }

    int writeReadU16Across(int v) {
        gvm.writeU16(GVA + 0xfff, v);
        return gvm.readU16(GVA + 0xfff);
    }

    @Test
    void typedAccessors() {
        gvm.writeU8(GVA + 1, 0xfe);
        gvm.writeU32(GVA + 4, 0xdead_beef);
        assertEquals(0xfe, gvm.readU8(GVA + 1));
        assertEquals(0xdead_beefL, gvm.readU32(GVA + 4));
        assertEquals(0xbeef, gvm.readU16(GVA + 4));
        assertEquals(0xefL, guestByte(PAGE_A + 4) & 0xff);
    }

    @Test
    void aFaultOnTheSecondPageIsEfaultAndWritesNothing() {
        g.put64(pt + 8, 0); // second page not present
        MemorySegment src = pattern(64, 2);
        assertEquals(-XenErrno.EFAULT, gvm.copyToGuest(src, GVA + 0x1000 - 24));
        assertEquals(GVA + 0x1000, gvm.lastFaultGva());
        assertEquals(WalkFault.NOT_PRESENT, PageWalker.fault(gvm.lastWalkResult()));
        for (int i = 0; i < 24; i++) {
            assertEquals(0, guestByte(PAGE_A + 0x1000 - 24 + i), "nothing written to the first page");
        }
        assertEquals(-XenErrno.EFAULT, gvm.copyFromGuest(GVA + 0x1000 - 24, arena.allocate(64)));
        assertEquals(0, gvm.copyFromGuest(GVA + 0x1000 - 24, arena.allocate(24)), "the first page alone is fine");
        assertFalse(gvm.isReadable(GVA + 0xff0, 0x20));
        assertTrue(gvm.isReadable(GVA, 0x1000));
    }

    @Test
    void aReadOnlySecondPageFailsWritesUnderWpAndForUsers() {
        g.put64(pt + 8, PAGE_B | RO);
        MemorySegment src = pattern(64, 3);
        assertEquals(-XenErrno.EFAULT, gvm.copyToGuest(src, GVA + 0x1000 - 24));
        assertEquals(WalkFault.WRITE_TO_READ_ONLY, PageWalker.fault(gvm.lastWalkResult()));
        assertEquals(0, guestByte(PAGE_A + 0x1000 - 24));
        gvm.bind(g.memory, state(3, false));
        assertEquals(-XenErrno.EFAULT, gvm.copyToGuest(src, GVA + 0x1000 - 24));
        assertEquals(0, guestByte(PAGE_A + 0x1000 - 24));
        gvm.bind(g.memory, state(0, false)); // a supervisor write with CR0.WP = 0 goes through
        assertEquals(0, gvm.copyToGuest(src, GVA + 0x1000 - 24));
        assertEquals(src.get(ValueLayout.JAVA_BYTE, 63), guestByte(PAGE_B + 39));
        gvm.bind(g.memory, state(3, true)); // reads by users are fine
        assertEquals(0, gvm.copyFromGuest(GVA + 0x1000 - 24, arena.allocate(64)));
    }

    @Test
    void aSecondPageOutsideRamOrInAReadOnlySlotIsEfault() {
        g.put64(pt + 8, (1L << 40) | ALL);
        MemorySegment src = pattern(64, 4);
        assertEquals(-XenErrno.EFAULT, gvm.copyToGuest(src, GVA + 0x1000 - 24));
        assertEquals(1L << 40, gvm.lastWalkResult(), "translated, but not in RAM");
        assertEquals(0, guestByte(PAGE_A + 0x1000 - 24));
        assertEquals(-XenErrno.EFAULT, gvm.copyFromGuest(GVA + 0x1000 - 24, arena.allocate(64)));
        GuestPointerFault f = assertThrows(GuestPointerFault.class, () -> gvm.readU64(GVA + 0xffc));
        assertEquals(GVA + 0x1000, f.gva());
        assertNull(f.walkFault());
        assertEquals(-XenErrno.EFAULT, f.errno());
        assertEquals(0, f.getStackTrace().length, "stackless");
        GuestPointerFault again = assertThrows(GuestPointerFault.class, () -> gvm.writeU32(0x7000_0000L, 1));
        assertSame(f, again, "one preallocated fault per object");
        assertEquals(WalkFault.NOT_PRESENT, again.walkFault());

        try (HostMemory rom = HostMemory.offHeap("rom", 0x1000)) {
            g.memory.addSlot(1, 1L << 32, 0x1000, rom, 0, Memslot.READONLY);
            g.put64(pt + 8, (1L << 32) | ALL);
            assertEquals(-XenErrno.EFAULT, gvm.copyToGuest(src, GVA + 0x1000 - 24));
            assertEquals(0, guestByte(PAGE_A + 0x1000 - 24));
            assertEquals(0, gvm.copyFromGuest(GVA + 0x1000 - 24, arena.allocate(64)), "readable");
            assertFalse(gvm.isWritable(GVA + 0xff0, 0x20));
            g.memory.removeSlot(1);
        }
    }

    @Test
    void bigCopiesGoInChunksThroughLargeAndSmallPages() {
        // gva 2 MiB..4 MiB: one 2 MiB page at gpa 6 MiB; then gva 4 MiB + 4 KiB pages as above
        long pd = g.get64(g.get64(cr3) & ~0xfffL) & ~0xfffL;
        g.put64(pd + 8, (6L << 20) | ALL | 0x80);
        int n = (2 << 20) + 0x1800;
        MemorySegment src = pattern(n, 5);
        assertEquals(0, gvm.copyToGuest(src, 2L << 20));
        assertEquals(-1, g.ram.segment().asSlice(6L << 20, 2 << 20).mismatch(src.asSlice(0, 2 << 20)));
        assertEquals(-1, g.ram.segment().asSlice(PAGE_A, 0x1000).mismatch(src.asSlice(2 << 20, 0x1000)));
        assertEquals(-1, g.ram.segment().asSlice(PAGE_B, 0x800).mismatch(src.asSlice((2 << 20) + 0x1000, 0x800)));
        MemorySegment back = arena.allocate(n);
        assertEquals(0, gvm.copyFromGuest(2L << 20, back));
        assertEquals(-1, back.mismatch(src));
        assertEquals(0, gvm.copyFromGuest(GVA, MemorySegment.NULL), "an empty copy touches nothing");
    }

    @Test
    void rangesThatWrapOrLeaveTheAddressSpaceAreEfault() {
        assertEquals(-XenErrno.EFAULT, gvm.copyFromGuest(-8L, arena.allocate(16)));
        assertEquals(WalkFault.NON_CANONICAL, PageWalker.fault(gvm.lastWalkResult()));
        gvm.bind(g.memory, PagingState.pagingOff());
        assertEquals(-XenErrno.EFAULT, gvm.copyFromGuest(0xffff_fff8L, arena.allocate(16)));
        assertEquals(0, gvm.copyFromGuest(PAGE_A, arena.allocate(16)));
        assertEquals(-XenErrno.EFAULT, gvm.copyFromGuest(15L << 20 | 0xff000, arena.allocate(0x2000)), "past RAM");
    }
}

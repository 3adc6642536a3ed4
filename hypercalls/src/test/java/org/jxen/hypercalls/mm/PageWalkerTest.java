package org.jxen.hypercalls.mm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The walker on page tables built by hand, one check at a time, in every mode. */
class PageWalkerTest {
    static final long P = 1;
    static final long RW = 2;
    static final long US = 4;
    static final long PS = 0x80;
    static final long ALL = P | RW | US;

    static final long CR0_PE = 1;
    static final long CR0_WP = 1L << 16;
    static final long CR0_PG = 1L << 31;
    static final long CR4_PSE = 0x10;
    static final long CR4_PAE = 0x20;
    static final long CR4_LA57 = 1L << 12;
    static final long EFER_LONG = 0x500;
    static final long EFER_NXE = 0x800;

    final TestGuest g = new TestGuest(16L << 20, 0x10_0000);
    final PageWalker w = new PageWalker();

    @AfterEach
    void close() {
        g.close();
    }

    long t(PagingState s, long gva, Access a) {
        return w.translate(g.memory, s, gva, a);
    }

    void assertFault(WalkFault f, int level, long result) {
        assertEquals(f, PageWalker.fault(result), PageWalker.describe(result));
        assertEquals(level, PageWalker.faultLevel(result), PageWalker.describe(result));
    }

    void assertGpa(long gpa, long result) {
        assertEquals(gpa, result, () -> "expected gpa 0x" + Long.toHexString(gpa) + ", got " + PageWalker.describe(result));
    }

    // ------------------------------------------------------------------ 4-level

    /** Four tables for gva, each entry with its flags; returns the PTE's address. flags[0] is the PML4E's. */
    long map4(long cr3, long gva, long gpa, long... flags) {
        long table = cr3;
        for (int level = 4; level >= 1; level--) {
            long at = table + ((gva >>> (12 + 9 * (level - 1))) & 0x1ff) * 8;
            if (level == 1) {
                g.put64(at, gpa | flags[0]);
                return at;
            }
            long e = g.get64(at);
            long next = (e & P) != 0 ? e & 0x000f_ffff_ffff_f000L : g.newTable();
            g.put64(at, next | flags[4 - level]);
            table = next;
        }
        throw new AssertionError();
    }

    long map4(long cr3, long gva, long gpa, long f4, long f3, long f2, long f1) {
        long table = cr3;
        long[] f = {f4, f3, f2, f1};
        for (int level = 4; level >= 2; level--) {
            long at = table + ((gva >>> (12 + 9 * (level - 1))) & 0x1ff) * 8;
            long e = g.get64(at);
            long next = (e & P) != 0 ? e & 0x000f_ffff_ffff_f000L : g.newTable();
            g.put64(at, next | f[4 - level]);
            table = next;
        }
        long pte = table + ((gva >>> 12) & 0x1ff) * 8;
        g.put64(pte, gpa | f1);
        return pte;
    }

    static PagingState longMode(long cr3, int cpl, boolean wp) {
        return PagingState.of(CR0_PE | CR0_PG | (wp ? CR0_WP : 0), cr3, CR4_PAE, EFER_LONG, cpl);
    }

    @Test
    void fourLevelMapsA4KiBPage() {
        long cr3 = g.newTable();
        map4(cr3, 0xffff_8000_1234_5000L, 0x7000, ALL, ALL, ALL, ALL);
        PagingState s = longMode(cr3, 0, true);
        assertEquals(PagingMode.FOUR_LEVEL, s.mode());
        assertGpa(0x7abc, t(s, 0xffff_8000_1234_5abcL, Access.READ));
        assertEquals(4096, w.lastPageSize());
        assertTrue(w.lastUserAccessible());
        assertTrue(w.lastWritable());
        assertGpa(0x7abc, t(s.withCpl(3), 0xffff_8000_1234_5abcL, Access.WRITE));
        assertFault(WalkFault.NOT_PRESENT, 1, t(s, 0xffff_8000_1234_6000L, Access.READ));
        assertFault(WalkFault.NOT_PRESENT, 2, t(s, 0xffff_8000_1240_0000L, Access.READ));
        assertFault(WalkFault.NOT_PRESENT, 3, t(s, 0xffff_8000_4000_0000L, Access.READ));
        assertFault(WalkFault.NOT_PRESENT, 4, t(s, 0x1000, Access.READ));
    }

    @Test
    void fourLevelRejectsNonCanonicalAddresses() {
        long cr3 = g.newTable();
        map4(cr3, 0x0000_7fff_ffff_f000L, 0x7000, ALL, ALL, ALL, ALL);
        PagingState s = longMode(cr3, 0, true);
        assertGpa(0x7fff, t(s, 0x0000_7fff_ffff_ffffL, Access.READ));
        assertFault(WalkFault.NON_CANONICAL, 0, t(s, 0x0000_8000_0000_0000L, Access.READ));
        assertFault(WalkFault.NON_CANONICAL, 0, t(s, 0xfff0_7fff_ffff_f000L, Access.READ));
        assertFault(WalkFault.NON_CANONICAL, 0, t(s, 0x8000_7fff_ffff_f000L, Access.READ));
    }

    @Test
    void fourLevelWriteToReadOnlyHonoursCr0WpAndCpl() {
        long cr3 = g.newTable();
        long gva = 0x40_0000;
        for (int ro = 0; ro < 4; ro++) { // read-only at one level each, gva 4 MiB apart... distinct paths per level
            long va = gva + ((long) ro << 39); // a different PML4 slot each time
            long[] f = {ALL, ALL, ALL, ALL};
            f[ro] = P | US;
            map4(cr3, va, 0x9000, f[0], f[1], f[2], f[3]);
            int level = 4 - ro;
            String where = "read-only at level " + level;
            assertGpa(0x9000, t(longMode(cr3, 0, true), va, Access.READ));
            assertFalse(w.lastWritable(), where);
            assertGpa(0x9000, t(longMode(cr3, 3, true), va, Access.READ));
            assertFault(WalkFault.WRITE_TO_READ_ONLY, 0, t(longMode(cr3, 0, true), va, Access.WRITE));
            assertGpa(0x9000, t(longMode(cr3, 0, false), va, Access.WRITE)); // supervisor, WP=0
            assertFault(WalkFault.WRITE_TO_READ_ONLY, 0, t(longMode(cr3, 3, false), va, Access.WRITE));
            assertFault(WalkFault.WRITE_TO_READ_ONLY, 0, t(longMode(cr3, 3, true), va, Access.WRITE));
        }
    }

    @Test
    void fourLevelUserNeedsUserAtEveryLevel() {
        long cr3 = g.newTable();
        for (int sup = 0; sup < 4; sup++) {
            long va = 0x1000 + ((long) sup << 39);
            long[] f = {ALL, ALL, ALL, ALL};
            f[sup] = P | RW;
            map4(cr3, va, 0xa000, f[0], f[1], f[2], f[3]);
            assertGpa(0xa000, t(longMode(cr3, 0, true), va, Access.WRITE));
            assertFalse(w.lastUserAccessible());
            assertGpa(0xa000, t(longMode(cr3, 1, true), va, Access.READ)); // CPL 1 and 2 are supervisor
            assertGpa(0xa000, t(longMode(cr3, 2, true), va, Access.READ));
            assertFault(WalkFault.USER_TO_SUPERVISOR_PAGE, 0, t(longMode(cr3, 3, true), va, Access.READ));
            assertFault(WalkFault.USER_TO_SUPERVISOR_PAGE, 0, t(longMode(cr3, 3, false), va, Access.WRITE));
        }
    }

    @Test
    void fourLevelLargePages() {
        long cr3 = g.newTable();
        long pdpt = g.newTable();
        long pd = g.newTable();
        g.put64(cr3, pdpt | ALL);
        g.put64(pdpt + 8, 0x1_4000_0000L | ALL | PS); // gva 1 GiB -> gpa 5 GiB, 1 GiB page
        g.put64(pdpt, pd | ALL);
        g.put64(pd + 8 * 3, 0x0060_0000L | P | PS); // gva 6 MiB -> gpa 6 MiB, 2 MiB page, supervisor read-only
        g.put64(pdpt + 16, 0x8000_0000L | ALL | PS | 0x1000); // PAT bit 12 of a 1 GiB page is not an address bit
        PagingState s = longMode(cr3, 0, true);
        assertGpa(0x1_4000_0000L + 0x3456_789aL, t(s, 0x4000_0000L + 0x3456_789aL, Access.WRITE));
        assertEquals(1L << 30, w.lastPageSize());
        assertGpa(0x8000_0000L + 0x123L, t(s, 0x8000_0123L, Access.READ));
        assertGpa(0x0060_0000L + 0x1f_fff8L, t(s, 0x0060_0000L + 0x1f_fff8L, Access.READ));
        assertEquals(1L << 21, w.lastPageSize());
        assertFault(WalkFault.WRITE_TO_READ_ONLY, 0, t(s, 0x0060_0000L, Access.WRITE));
        assertFault(WalkFault.USER_TO_SUPERVISOR_PAGE, 0, t(s.withCpl(3), 0x0060_0000L, Access.READ));
        // reserved low address bits of large pages
        g.put64(pd + 8 * 4, 0x0080_0000L | 0x2000 | ALL | PS);
        assertFault(WalkFault.RESERVED_BIT, 2, t(s, 0x0080_0000L, Access.READ));
        g.put64(pdpt + 24, 0xc000_0000L | 0x2000_0000L | ALL | PS);
        assertFault(WalkFault.RESERVED_BIT, 3, t(s, 0xc000_0000L, Access.READ));
    }

    @Test
    void fourLevelReservedBits() {
        long cr3 = g.newTable();
        long pte = map4(cr3, 0x5000, 0xb000, ALL, ALL, ALL, ALL);
        PagingState s46 = PagingState.of(CR0_PE | CR0_PG | CR0_WP, cr3, CR4_PAE, EFER_LONG, 0, 46);
        assertGpa(0xb000, t(s46, 0x5000, Access.READ));
        g.put64(pte, 0xb000 | ALL | (1L << 46));
        assertFault(WalkFault.RESERVED_BIT, 1, t(s46, 0x5000, Access.READ));
        assertGpa((1L << 46) | 0xb000, t(longMode(cr3, 0, true), 0x5000, Access.READ)); // MAXPHYADDR 52
        g.put64(pte, 0xb000 | ALL | (1L << 63)); // XD without EFER.NXE is reserved
        assertFault(WalkFault.RESERVED_BIT, 1, t(s46, 0x5000, Access.READ));
        PagingState nxe = PagingState.of(CR0_PE | CR0_PG, cr3, CR4_PAE, EFER_LONG | EFER_NXE, 0, 46);
        assertGpa(0xb000, t(nxe, 0x5000, Access.READ)); // NX does not matter for data
        long pml4e = g.get64(cr3);
        g.put64(cr3, pml4e | PS); // PS in a PML4E is reserved
        assertFault(WalkFault.RESERVED_BIT, 4, t(nxe, 0x5000, Access.READ));
        g.put64(cr3, pml4e | (1L << 62)); // bits 62:52 are ignored in 4-level paging
        assertGpa(0xb000, t(nxe, 0x5000, Access.READ));
    }

    @Test
    void tablesOutsideRamFailCleanly() {
        long cr3 = g.newTable();
        long pte = map4(cr3, 0x5000, 0xb000, ALL, ALL, ALL, ALL);
        long pdpt = g.get64(cr3) & ~0xfffL;
        g.put64(pdpt, (64L << 20) | ALL); // a page directory beyond the end of RAM
        assertFault(WalkFault.TABLE_NOT_IN_RAM, 2, t(longMode(cr3, 0, true), 0x5000, Access.READ));
        assertFault(WalkFault.TABLE_NOT_IN_RAM, 4, t(longMode(1L << 40, 0, true), 0x5000, Access.READ));
        assertTrue(pte > 0);
        // a translation to a gpa outside RAM succeeds: the copy that follows fails
        long cr3b = g.newTable();
        map4(cr3b, 0x5000, 1L << 40, ALL, ALL, ALL, ALL);
        assertGpa(1L << 40, t(longMode(cr3b, 0, true), 0x5000, Access.READ));
    }

    @Test
    void fiveLevelPagingIsRefused() {
        PagingState s = PagingState.of(CR0_PE | CR0_PG, 0x1000, CR4_PAE | CR4_LA57, EFER_LONG, 0);
        assertEquals(PagingMode.FIVE_LEVEL_UNSUPPORTED, s.mode());
        assertFault(WalkFault.LA57_UNSUPPORTED, 5, t(s, 0x1000, Access.READ));
    }

    // ------------------------------------------------------------------ paging off

    @Test
    void pagingOffIsIdentityBelow4GiB() {
        PagingState s = PagingState.pagingOff();
        assertEquals(PagingMode.NONE, s.mode());
        assertGpa(0xffff_ffffL, t(s, 0xffff_ffffL, Access.WRITE));
        assertGpa(0x1234, t(s.withCpl(3), 0x1234, Access.WRITE));
        assertFault(WalkFault.NON_CANONICAL, 0, t(s, 0x1_0000_0000L, Access.READ));
    }

    // ------------------------------------------------------------------ PAE

    static PagingState pae(long cr3, int cpl, boolean wp) {
        return PagingState.of(CR0_PE | CR0_PG | (wp ? CR0_WP : 0), cr3, CR4_PAE, 0, cpl, 36);
    }

    @Test
    void paeWalk() {
        long pdptPage = g.newTable();
        long cr3 = pdptPage + 0x20; // PAE's CR3 is 32-byte aligned
        long pd = g.newTable();
        long pt = g.newTable();
        g.put64(cr3 + 8 * 2, pd | P); // gva 0x8000_0000..0xbfff_ffff
        g.put64(pd + 8 * 1, pt | P | RW);
        g.put64(pt + 8 * 5, 0xc000 | P | US); // gva 0x8020_5000: read-only, PDE supervisor
        g.put64(pd + 8 * 2, 0x0060_0000L | ALL | PS); // 2 MiB at gva 0x8040_0000
        PagingState s = pae(cr3, 0, true);
        assertEquals(PagingMode.PAE, s.mode());
        assertGpa(0xc123, t(s, 0x8020_5123L, Access.READ));
        assertFault(WalkFault.WRITE_TO_READ_ONLY, 0, t(s, 0x8020_5123L, Access.WRITE));
        assertGpa(0xc123, t(pae(cr3, 0, false), 0x8020_5123L, Access.WRITE));
        assertFault(WalkFault.USER_TO_SUPERVISOR_PAGE, 0, t(pae(cr3, 3, true), 0x8020_5123L, Access.READ));
        assertGpa(0x0060_0000L + 0x1_2345L, t(pae(cr3, 3, true), 0x8041_2345L, Access.WRITE));
        assertEquals(1L << 21, w.lastPageSize());
        assertFault(WalkFault.NOT_PRESENT, 3, t(s, 0x4000_0000L, Access.READ));
        assertFault(WalkFault.NOT_PRESENT, 2, t(s, 0x8060_0000L, Access.READ));
        assertFault(WalkFault.NOT_PRESENT, 1, t(s, 0x8020_6000L, Access.READ));
        assertFault(WalkFault.NON_CANONICAL, 0, t(s, 0x1_8020_5000L, Access.READ));
        // PDPTE reserved bits: R/W (bit 1), bits 5-8, and address bits above MAXPHYADDR
        g.put64(cr3 + 8 * 2, pd | P | RW);
        assertFault(WalkFault.RESERVED_BIT, 3, t(s, 0x8020_5123L, Access.READ));
        g.put64(cr3 + 8 * 2, pd | P | (1L << 36));
        assertFault(WalkFault.RESERVED_BIT, 3, t(s, 0x8020_5123L, Access.READ));
        g.put64(cr3 + 8 * 2, pd | P);
        g.put64(pt + 8 * 5, 0xc000 | P | (1L << 62)); // bits 62:MAXPHYADDR are reserved in PAE
        assertFault(WalkFault.RESERVED_BIT, 1, t(s, 0x8020_5123L, Access.READ));
        g.put64(pd + 8 * 2, 0x0060_0000L | ALL | PS | 0x10_0000L);
        assertFault(WalkFault.RESERVED_BIT, 2, t(s, 0x8040_0000L, Access.READ));
    }

    // ------------------------------------------------------------------ 2-level

    static PagingState twoLevel(long cr3, long cr4, int cpl, boolean wp) {
        return PagingState.of(CR0_PE | CR0_PG | (wp ? CR0_WP : 0), cr3, cr4, 0, cpl, 40);
    }

    @Test
    void twoLevelWalk() {
        long pd = g.newTable();
        long pt = g.newTable();
        g.put32(pd + 4 * 0x300, (int) (pt | P | RW)); // gva 0xc000_0000, supervisor
        g.put32(pt + 4 * 7, (int) (0xd000 | ALL));
        g.put32(pd + 4 * 1, (int) (0x00c0_0000L | P | US | PS)); // 4 MiB at gva 4 MiB, read-only
        PagingState s = twoLevel(pd, CR4_PSE, 0, true);
        assertEquals(PagingMode.TWO_LEVEL, s.mode());
        assertGpa(0xd456, t(s, 0xc000_7456L, Access.WRITE));
        assertFault(WalkFault.USER_TO_SUPERVISOR_PAGE, 0, t(twoLevel(pd, CR4_PSE, 3, true), 0xc000_7456L,
                Access.READ));
        assertFault(WalkFault.NOT_PRESENT, 1, t(s, 0xc000_8000L, Access.READ));
        assertFault(WalkFault.NOT_PRESENT, 2, t(s, 0x8000_0000L, Access.READ));
        assertGpa(0x00c0_0000L + 0x3f_fffcL, t(twoLevel(pd, CR4_PSE, 3, true), 0x007f_fffcL, Access.READ));
        assertEquals(1L << 22, w.lastPageSize());
        assertFault(WalkFault.WRITE_TO_READ_ONLY, 0, t(s, 0x0040_0000L, Access.WRITE));
        assertGpa(0x00c0_0000L, t(twoLevel(pd, CR4_PSE, 0, false), 0x0040_0000L, Access.WRITE));
        // PSE-36: PDE bits 13-20 are physical address bits 32-39 (MAXPHYADDR 40); bit 21 is reserved
        g.put32(pd + 4 * 1, (int) (0x00c0_0000L | P | PS | (0x5L << 13)));
        assertGpa(0x5_00c0_0000L + 0x10, t(s, 0x0040_0010L, Access.READ));
        assertGpa(0x5_00c0_0000L + 0x10, t(PagingState.of(CR0_PG, pd, CR4_PSE, 0, 0, 36), 0x0040_0010L,
                Access.READ));
        assertFault(WalkFault.RESERVED_BIT, 2, t(PagingState.of(CR0_PG, pd, CR4_PSE, 0, 0, 34), 0x0040_0010L,
                Access.READ)); // bit 15 (address bit 34) is above MAXPHYADDR 34
        g.put32(pd + 4 * 1, (int) (0x00c0_0000L | P | PS | (1L << 21)));
        assertFault(WalkFault.RESERVED_BIT, 2, t(s, 0x0040_0010L, Access.READ));
        // without CR4.PSE, PDE.PS is ignored: the PDE points at a page table (gpa 0x00c0_0000, zeroes)
        g.put32(pd + 4 * 1, (int) (0x00c0_0000L | P | PS));
        assertFault(WalkFault.NOT_PRESENT, 1, t(twoLevel(pd, 0, 0, true), 0x0040_0010L, Access.READ));
        g.put32(0x00c0_0000, (int) (0xe000 | P));
        assertGpa(0xe010, t(twoLevel(pd, 0, 0, true), 0x0040_0010L, Access.READ));
        assertFault(WalkFault.NON_CANONICAL, 0, t(s, 0x1_0000_0000L, Access.READ));
        assertFault(WalkFault.TABLE_NOT_IN_RAM, 2, t(twoLevel(0xff00_0000L, 0, 0, true), 0x1000, Access.READ));
    }
}

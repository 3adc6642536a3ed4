package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.jxen.abi.VcpuHvmContext;
import org.jxen.abi.VcpuHvmContext.Reg32;
import org.jxen.abi.VcpuHvmContext.Reg64;
import org.jxen.abi.VcpuHvmContext.Segment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** VCPUOP_initialise's context checked by Xen's rules (arch_set_info_hvm_guest) and completed. */
class VcpuContextTest {

    static MemorySegment ctx64(Arena a) {
        MemorySegment m = a.allocate(VcpuContext.SIZE, 8);
        VcpuHvmContext.setMode(m, VcpuHvmContext.MODE_64B);
        VcpuHvmContext.set(m, Reg64.RIP, 0xffffffff80001000L);
        VcpuHvmContext.set(m, Reg64.RSP, 0xffffffff80200000L);
        VcpuHvmContext.set(m, Reg64.RDI, 1);
        VcpuHvmContext.set(m, Reg64.RFLAGS, 0x2);
        VcpuHvmContext.set(m, Reg64.CR0, 0x80050033L);
        VcpuHvmContext.set(m, Reg64.CR3, 0x400000);
        VcpuHvmContext.set(m, Reg64.CR4, 0x6a0);
        VcpuHvmContext.set(m, Reg64.EFER, VcpuContext.EFER_LME);
        return m;
    }

    static MemorySegment ctx32(Arena a) {
        MemorySegment m = a.allocate(VcpuContext.SIZE, 8);
        VcpuHvmContext.setMode(m, VcpuHvmContext.MODE_32B);
        VcpuHvmContext.set(m, Reg32.EIP, 0x100000);
        VcpuHvmContext.set(m, Reg32.EBX, 0xabcd);
        VcpuHvmContext.set(m, Reg32.CR0, 0x11);
        for (Segment s : new Segment[] {Segment.CS, Segment.DS, Segment.SS, Segment.ES}) {
            VcpuHvmContext.setLimit(m, s, 0xffffffffL);
        }
        VcpuHvmContext.setAr(m, Segment.CS, 0xc9a); // code, exec/read, s, p, db, g (not accessed yet)
        VcpuHvmContext.setAr(m, Segment.DS, 0xc92);
        VcpuHvmContext.setAr(m, Segment.SS, 0xc92);
        VcpuHvmContext.setAr(m, Segment.ES, 0xc92);
        VcpuHvmContext.setLimit(m, Segment.TR, 0x67);
        VcpuHvmContext.setAr(m, Segment.TR, 0x89); // available 32-bit TSS, p
        return m;
    }

    static VcpuContext accepted(MemorySegment m) {
        VcpuContext.Decoded d = VcpuContext.decode(m);
        return assertInstanceOf(VcpuContext.Accepted.class, d, () -> "refused: " + d).context();
    }

    @Test
    void mode64GivesFlatLongModeSegmentsAndLma() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = ctx64(a);
            VcpuHvmContext.set(m, Reg64.RFLAGS, 0xffff_ffff_ffff_ffffL);
            VcpuContext c = accepted(m);
            assertTrue(c.longMode());
            assertEquals(0xffffffff80001000L, c.rip());
            assertEquals(1, c.rdi());
            assertEquals(0x400000, c.cr3());
            assertEquals(VcpuContext.EFER_LME | VcpuContext.EFER_LMA, c.efer(), "LMA follows LME");
            assertEquals(0x3f7fd7L, c.rflags(), "architectural flags only, bit 1 set");
            assertEquals(new VcpuContext.Segment(0, 0xffffffffL, 0xa9b), c.cs());
            assertTrue(c.cs().l() && c.cs().present() && c.cs().s() && c.cs().g() && !c.cs().db());
            assertEquals(VcpuContext.FLAT_DATA, c.ds());
            assertEquals(VcpuContext.FLAT_DATA, c.ss());
            assertEquals(VcpuContext.FLAT_DATA, c.es());
            assertEquals(new VcpuContext.Segment(0, 0x67, 0x8b), c.tr());
            assertEquals(0xb, c.tr().type());
        }
    }

    @Test
    void mode32KeepsTheGivenSegmentsWithAccessedAndBusyBits() {
        try (Arena a = Arena.ofConfined()) {
            VcpuContext c = accepted(ctx32(a));
            assertTrue(!c.longMode());
            assertEquals(0x100000, c.rip());
            assertEquals(0xabcd, c.rbx());
            assertEquals(0x2, c.rflags());
            assertEquals(0, c.efer());
            assertEquals(new VcpuContext.Segment(0, 0xffffffffL, 0xc9b), c.cs(), "accessed");
            assertEquals(new VcpuContext.Segment(0, 0xffffffffL, 0xc93), c.ds());
            assertEquals(new VcpuContext.Segment(0, 0x67, 0x8b), c.tr(), "busy");
            assertEquals(3, c.ds().type());
            assertTrue(c.cs().db() && !c.cs().l() && c.cs().dpl() == 0);
        }
    }

    @Test
    void nullDataSegmentsAreAllowedForDsAndEs() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = ctx32(a);
            VcpuHvmContext.setAr(m, Segment.DS, 0);
            VcpuHvmContext.setAr(m, Segment.ES, 0);
            VcpuContext c = accepted(m);
            assertTrue(c.ds().unusable() && c.es().unusable());
        }
    }

    static Stream<Arguments> refusals() {
        return Stream.of(
                refused("mode 2", true, m -> VcpuHvmContext.setMode(m, 2)),
                refused("mode -1", true, m -> VcpuHvmContext.setMode(m, -1)),
                refused("pad", true, m -> VcpuHvmContext.setPad(m, 1)),
                refused("64: RIP not canonical", true, m -> VcpuHvmContext.set(m, Reg64.RIP, 0x0000800000000000L)),
                refused("64: paging off", true, m -> VcpuHvmContext.set(m, Reg64.CR0, 0x11)),
                refused("64: no PAE", true, m -> VcpuHvmContext.set(m, Reg64.CR4, 0x680)),
                refused("64: no LME", true, m -> VcpuHvmContext.set(m, Reg64.EFER, 0)),
                refused("64: reserved CR4 bit 15", true, m -> VcpuHvmContext.set(m, Reg64.CR4, 0x6a0 | 1L << 15)),
                refused("64: CR4 bit 30", true, m -> VcpuHvmContext.set(m, Reg64.CR4, 0x6a0 | 1L << 30)),
                refused("64: EFER SVME", true, m -> VcpuHvmContext.set(m, Reg64.EFER, VcpuContext.EFER_LME | 1L << 12)),
                refused("64: CR0 high bits", true, m -> VcpuHvmContext.set(m, Reg64.CR0, 0x80050033L | 1L << 40)),
                refused("64: PG without PE", true, m -> VcpuHvmContext.set(m, Reg64.CR0, 0x80000000L)),
                refused("32: pad1", false, m -> VcpuHvmContext.set(m, Reg32.PAD1, 1)),
                refused("32: pad2[1]", false, m -> VcpuHvmContext.setPad2(m, 1, 1)),
                refused("32: attribute bit 12", false, m -> VcpuHvmContext.setAr(m, Segment.DS, 0x1c92)),
                refused("32: null CS", false, m -> VcpuHvmContext.setAr(m, Segment.CS, 0)),
                refused("32: null SS", false, m -> VcpuHvmContext.setAr(m, Segment.SS, 0)),
                refused("32: null TR", false, m -> VcpuHvmContext.setAr(m, Segment.TR, 0)),
                refused("32: TR a data segment", false, m -> VcpuHvmContext.setAr(m, Segment.TR, 0x93)),
                refused("32: TR a 16-bit TSS", false, m -> VcpuHvmContext.setAr(m, Segment.TR, 0x81)),
                refused("32: CS a system segment", false, m -> VcpuHvmContext.setAr(m, Segment.CS, 0xc8b)),
                refused("32: CS not present", false, m -> VcpuHvmContext.setAr(m, Segment.CS, 0xc1b)),
                refused("32: CS a data segment", false, m -> VcpuHvmContext.setAr(m, Segment.CS, 0xc93)),
                refused("32: SS read-only", false, m -> VcpuHvmContext.setAr(m, Segment.SS, 0xc91)),
                refused("32: SS code", false, m -> VcpuHvmContext.setAr(m, Segment.SS, 0xc9b)),
                refused("32: DS execute-only code", false, m -> VcpuHvmContext.setAr(m, Segment.DS, 0xc99)),
                refused("32: EIP past the CS limit", false, m -> {
                    VcpuHvmContext.setAr(m, Segment.CS, 0x49a); // byte granular
                    VcpuHvmContext.setLimit(m, Segment.CS, 0xffff);
                }),
                refused("32: SS.DPL != CS.DPL", false, m -> VcpuHvmContext.setAr(m, Segment.SS, 0xcf2)),
                refused("32: DS.DPL > CS.DPL", false, m -> VcpuHvmContext.setAr(m, Segment.DS, 0xcb2)),
                refused("32: LMA without LME", false, m -> VcpuHvmContext.setEfer32(m, VcpuContext.EFER_LMA)),
                refused("32: LME without paging", false, m -> VcpuHvmContext.setEfer32(m, VcpuContext.EFER_LME)));
    }

    static Arguments refused(String why, boolean mode64, Consumer<MemorySegment> change) {
        return Arguments.of(why, mode64, change);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void refusedLikeXen(String why, boolean mode64, Consumer<MemorySegment> change) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = mode64 ? ctx64(a) : ctx32(a);
            accepted(m); // the base is fine
            change.accept(m);
            VcpuContext.Decoded d = VcpuContext.decode(m);
            assertInstanceOf(VcpuContext.Refused.class, d, why + " was accepted: " + d);
        }
    }

    @Test
    void aShortBufferIsTheCallersBug() {
        try (Arena a = Arena.ofConfined()) {
            assertThrows(IllegalArgumentException.class, () -> VcpuContext.decode(a.allocate(64)));
        }
    }

    /** Random bytes never make decode throw, and whatever it accepts obeys the rules. */
    @ParameterizedTest(name = "seed offset {0}")
    @ValueSource(ints = {0, 1})
    void randomContextsNeverThrowAndAcceptedOnesAreRunnable(int offset) {
        long seed = Long.getLong("jxen.seed", System.nanoTime()) + offset;
        System.out.println("VcpuContextTest seed " + seed + " (rerun with -Djxen.seed)");
        SplittableRandom r = new SplittableRandom(seed);
        int accepted = 0;
        try (Arena a = Arena.ofConfined()) {
            for (int i = 0; i < 50_000; i++) {
                MemorySegment m = r.nextBoolean() ? ctx64(a) : ctx32(a);
                for (int k = r.nextInt(4); k >= 0; k--) { // a few random bytes over a valid base
                    m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, r.nextInt(VcpuContext.SIZE), (byte) r.nextInt());
                }
                if (VcpuContext.decode(m) instanceof VcpuContext.Accepted(VcpuContext c)) {
                    accepted++;
                    assertEquals(0, c.cr4() & ~VcpuContext.CR4_KNOWN, "seed " + seed);
                    assertTrue((c.cr0() & VcpuContext.CR0_PG) == 0 || (c.cr0() & VcpuContext.CR0_PE) != 0, "seed " + seed);
                    assertTrue((c.efer() & VcpuContext.EFER_LMA) == 0 || (c.cr4() & VcpuContext.CR4_PAE) != 0, "seed " + seed);
                    assertEquals(2, c.rflags() & 2, "seed " + seed);
                    assertTrue(c.cs().present() && c.ss().present() && c.tr().present(), "seed " + seed);
                }
            }
        }
        assertTrue(accepted > 1000, "seed " + seed + ": only " + accepted + " accepted");
    }
}

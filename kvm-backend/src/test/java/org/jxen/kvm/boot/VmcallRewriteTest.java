package org.jxen.kvm.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.junit.jupiter.api.Test;

/** Finding and rewriting a kernel's own vmcall/vmmcall pair (Linux's shapes since XSA-466). */
class VmcallRewriteTest {
    static final long PADDR = 0x100000;
    static final long VADDR = 0xffffffff81000000L;
    static final byte[] ENDBR = {(byte) 0xf3, 0x0f, 0x1e, (byte) 0xfa};

    /** Code with nops, a vmmcall function at {@code amd} and a vmcall one at {@code intel}, each ending as told. */
    static byte[] code(int size, int amd, int intel, boolean endbr, byte[] amdRet, byte[] intelRet) {
        byte[] c = new byte[size];
        java.util.Arrays.fill(c, (byte) 0x90);
        put(c, amd, endbr, VmcallRewrite.VMMCALL, amdRet);
        put(c, intel, endbr, VmcallRewrite.VMCALL, intelRet);
        return c;
    }

    static void put(byte[] c, int at, boolean endbr, byte[] insn, byte[] ret) {
        int p = at;
        if (endbr) {
            System.arraycopy(ENDBR, 0, c, p, 4);
            p += 4;
        }
        System.arraycopy(insn, 0, c, p, 3);
        System.arraycopy(ret, 0, c, p + 3, ret.length);
    }

    /** {@code jmp} from the byte after {@code insnEnd} (an offset in the code) to {@code target} (an offset). */
    static byte[] jmp(int from, int target) {
        int rel = target - (from + 5);
        return new byte[] {(byte) 0xe9, (byte) rel, (byte) (rel >> 8), (byte) (rel >> 16), (byte) (rel >> 24)};
    }

    static ElfImage image(byte[] code) throws Exception {
        return ElfImage.parse(ElfBuilder.elf64().entry(PADDR).load(PADDR, VADDR, code, code.length,
                LoadSegment.PF_R | LoadSegment.PF_X).phys32Entry(PADDR).build());
    }

    @Test
    void linux61ShapeSixteenBytesApartWithAReturnThunk() throws Exception {
        byte[] c = code(4096, 0x800, 0x810, false, jmp(0x803, 0xf00), jmp(0x813, 0xf00));
        VmcallRewrite.Sites s = VmcallRewrite.find(image(c));
        assertEquals(List.of(PADDR + 0x800, PADDR + 0x810), s.gpas());
    }

    @Test
    void linux612ShapeWithEndbrThirtyTwoBytesApart() throws Exception {
        byte[] c = code(4096, 0x980, 0x9a0, true, jmp(0x987, 0xe00), jmp(0x9a7, 0xe00));
        assertEquals(List.of(PADDR + 0x984, PADDR + 0x9a4), VmcallRewrite.find(image(c)).gpas());
    }

    @Test
    void plainReturns() throws Exception {
        byte[] ret = {(byte) 0xc3, (byte) 0xcc};
        assertEquals(2, VmcallRewrite.find(image(code(4096, 0x100, 0x110, false, ret, ret))).gpas().size());
    }

    @Test
    void differentReturnTargetsUnalignedSitesOrALoneInstructionAreNotRewritten() throws Exception {
        assertTrue(VmcallRewrite.find(image(code(4096, 0x800, 0x810, false, jmp(0x803, 0xf00), jmp(0x813, 0xf10))))
                .gpas().isEmpty(), "two different returns: not the pair");
        assertTrue(VmcallRewrite.find(image(code(4096, 0x808, 0x818, false, jmp(0x80b, 0xf00), jmp(0x81b, 0xf00))))
                .gpas().isEmpty(), "not function starts");
        assertTrue(VmcallRewrite.find(image(code(4096, 0x800, 0x900, false, jmp(0x803, 0xf00), jmp(0x903, 0xf00))))
                .gpas().isEmpty(), "too far apart");
        byte[] onlyVmcall = new byte[4096];
        put(onlyVmcall, 0x100, false, VmcallRewrite.VMCALL, new byte[] {(byte) 0xc3});
        assertTrue(VmcallRewrite.find(image(onlyVmcall)).gpas().isEmpty());
    }

    @Test
    void twoPairsAreAmbiguousAndNothingIsRewritten() throws Exception {
        byte[] c = code(4096, 0x800, 0x810, false, jmp(0x803, 0xf00), jmp(0x813, 0xf00));
        put(c, 0x400, false, VmcallRewrite.VMMCALL, new byte[] {(byte) 0xc3});
        put(c, 0x410, false, VmcallRewrite.VMCALL, new byte[] {(byte) 0xc3});
        VmcallRewrite.Sites s = VmcallRewrite.find(image(c));
        assertTrue(s.gpas().isEmpty());
        assertEquals(2, s.pairsFound());
    }

    @Test
    void applyWritesTheDoorbellOverBothInstructions() throws Exception {
        byte[] c = code(4096, 0x800, 0x810, false, jmp(0x803, 0xf00), jmp(0x813, 0xf00));
        ElfImage img = image(c);
        try (HostMemory ram = HostMemory.offHeap("ram", 4 << 20)) {
            GuestMemory m = new GuestMemory("t");
            m.addSlot(0, 0, ram.size(), ram, 0, 0);
            ElfLoader.load(img, m);
            VmcallRewrite.apply(img, m);
            byte[] got = new byte[0x20];
            m.read(PADDR + 0x800, MemorySegment.ofArray(got));
            assertArrayEquals(new byte[] {(byte) 0xe7, (byte) 0xe4, (byte) 0x90}, java.util.Arrays.copyOf(got, 3));
            assertEquals((byte) 0xe9, got[3], "the return is kept");
            assertArrayEquals(new byte[] {(byte) 0xe7, (byte) 0xe4, (byte) 0x90},
                    java.util.Arrays.copyOfRange(got, 0x10, 0x13));
            m.removeSlot(0);
        }
    }
}

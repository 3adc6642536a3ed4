package org.jxen.kvm.boot;

import static org.jxen.kvm.boot.ElfBuilder.bytes;
import static org.jxen.kvm.boot.ElfImageTest.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jxen.gpc.Memslot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ElfLoaderTest {
    private static final long MIB = 1 << 20;
    private static final byte M = TestGuest.MARKER;

    @ParameterizedTest(name = "ELF64 {0}")
    @ValueSource(booleans = {false, true})
    void placesSegmentsAtTheirPhysicalAddressesAndZeroesTheBss(boolean is64) throws Exception {
        byte[] code = bytes(0x1234, 1);
        byte[] data = bytes(0x77, 2);
        long bss = 3 * ElfLoader.ZERO_CHUNK + 123; // several zero chunks
        ElfBuilder b = (is64 ? ElfBuilder.elf64() : ElfBuilder.elf32()).entry(MIB + 0x10)
                .load(MIB, code, code.length, 5)
                .load(MIB + 0x4000, data, data.length + bss, 6)
                .phys32Entry(MIB + 0x20);
        ElfImage img = ElfImage.parse(b.build());
        try (TestGuest g = new TestGuest().slot(0, 4 * MIB)) {
            LoadedKernel k = ElfLoader.load(img, g.memory);
            assertEquals(new LoadedKernel(MIB + 0x20, MIB, MIB + 0x4000 + data.length + bss), k);
            for (int i = 0; i < code.length; i++) {
                assertEquals(code[i], g.get(MIB + i), "code byte " + i);
            }
            assertEquals(M, g.get(MIB + code.length), "the gap between segments is untouched");
            assertEquals(M, g.get(MIB - 1), "the byte below the kernel is untouched");
            for (int i = 0; i < data.length; i++) {
                assertEquals(data[i], g.get(MIB + 0x4000 + i), "data byte " + i);
            }
            for (long a = MIB + 0x4000 + data.length; a < k.physicalEnd(); a++) {
                if (g.get(a) != 0) {
                    throw new AssertionError(String.format("BSS byte at 0x%x is not zero", a));
                }
            }
            assertEquals(M, g.get(k.physicalEnd()), "the byte after memsz is untouched");
            assertEquals(MIB + 0x20, BootState.pvh32(k.entry(), 0).rip());
        }
    }

    @Test
    void segmentsMaySpanSeveralMemslots() throws Exception {
        byte[] code = bytes(3 * 4096, 3);
        ElfImage img = ElfImage.parse(ElfBuilder.simple(true, MIB - 4096, code, 8192).build());
        try (TestGuest g = new TestGuest().slot(0, MIB).slot(MIB, 4096).slot(MIB + 4096, MIB)) {
            ElfLoader.load(img, g.memory);
            for (int i = 0; i < code.length; i++) {
                assertEquals(code[i], g.get(MIB - 4096 + i));
            }
            for (long a = MIB - 4096 + code.length; a < MIB - 4096 + code.length + 8192; a++) {
                assertEquals(0, g.get(a));
            }
        }
    }

    @Test
    void aSegmentNotBackedIsAClearErrorAndNothingIsWritten() throws Exception {
        ElfBuilder b = ElfBuilder.simple(false, MIB, bytes(0x100, 1), 0)
                .load(2 * MIB - 0x100, bytes(0x10, 2), 0x200, 6);
        ElfImage img = ElfImage.parse(b.build());
        try (TestGuest g = new TestGuest().slot(0, 2 * MIB)) {
            ElfLoadException e = assertThrows(ElfLoadException.class, () -> ElfLoader.load(img, g.memory));
            assertContains(e, "PT_LOAD segment 1 (of 2) [0x1fff00, 0x200100): guest-physical address 0x200000 is not"
                    + " backed by writable guest RAM");
            assertTrue(g.untouched(), "the first segment, which fits, was not written either");
        }
    }

    @Test
    void aHoleBetweenSlotsIsNamed() throws Exception {
        ElfImage img = ElfImage.parse(ElfBuilder.simple(true, 0x1000, bytes(0x10, 1), 0x3000).build());
        try (TestGuest g = new TestGuest().slot(0, 0x2000).slot(0x3000, 0x2000)) {
            ElfLoadException e = assertThrows(ElfLoadException.class, () -> ElfLoader.load(img, g.memory));
            assertContains(e, "guest-physical address 0x2000 is not backed");
            assertTrue(g.untouched());
        }
    }

    @Test
    void readOnlyMemoryIsNotWritable() throws Exception {
        ElfImage img = ElfImage.parse(ElfBuilder.simple(false, 0x1000, bytes(0x10, 1), 0).build());
        try (TestGuest g = new TestGuest().slot(0, 0x4000, Memslot.READONLY)) {
            ElfLoadException e = assertThrows(ElfLoadException.class, () -> ElfLoader.load(img, g.memory));
            assertContains(e, "guest-physical address 0x1000 is not backed by writable guest RAM");
            assertTrue(g.untouched());
        }
    }

    @Test
    void aHighPhysicalAddressIsNotBacked() throws Exception {
        long high = 0xffffffff80000000L; // a kernel linked without AT(): paddr == vaddr
        ElfImage img = ElfImage.parse(ElfBuilder.simple(true, high, bytes(0x10, 1), 0).build());
        try (TestGuest g = new TestGuest().slot(0, 0x4000)) {
            ElfLoadException e = assertThrows(ElfLoadException.class, () -> ElfLoader.load(img, g.memory));
            assertContains(e, "boot entry 0xffffffff80000000 is not below 4 GiB");
        }
        ElfImage img2 = ElfImage.parse(ElfBuilder.simple(true, 0x1000, bytes(0x10, 1), 0)
                .load(high, bytes(0x10, 2), 0x10, 4).build());
        try (TestGuest g = new TestGuest().slot(0, 0x4000)) {
            ElfLoadException e = assertThrows(ElfLoadException.class, () -> ElfLoader.load(img2, g.memory));
            assertContains(e, "PT_LOAD segment 1 (of 2) [0xffffffff80000000, 0xffffffff80000010): guest-physical"
                    + " address 0xffffffff80000000 is not backed");
        }
    }

    @Test
    void anEntryAbove4GibIsRefused() throws Exception {
        long at = 5L << 30;
        ElfImage img = ElfImage.parse(ElfBuilder.simple(true, at, bytes(0x10, 1), 0).build());
        try (TestGuest g = new TestGuest().slot(at, 0x1000)) {
            ElfLoadException e = assertThrows(ElfLoadException.class, () -> ElfLoader.load(img, g.memory));
            assertContains(e, "boot entry 0x140000000 is not below 4 GiB, so 32-bit protected mode cannot reach it");
            assertTrue(g.untouched());
        }
    }

    @Test
    void loadedKernelAlignsItsEnd() {
        LoadedKernel k = new LoadedKernel(0x1000, 0x1000, 0x12345);
        assertEquals(0x13000, k.physicalEndAlignedTo(0x1000));
        assertEquals(0x12348, k.physicalEndAlignedTo(8));
        assertThrows(IllegalArgumentException.class, () -> k.physicalEndAlignedTo(3));
    }
}

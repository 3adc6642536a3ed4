package org.jxen.kvm.boot;

import static org.jxen.kvm.boot.ElfBuilder.bytes;
import static org.jxen.kvm.boot.ElfBuilder.le64;
import static org.jxen.kvm.boot.ElfBuilder.put16;
import static org.jxen.kvm.boot.ElfBuilder.put32;
import static org.jxen.kvm.boot.ElfBuilder.put64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ElfImageTest {
    private static final long KERNEL = 0x100000;

    // ------------------------------------------------------------------ valid images

    @ParameterizedTest(name = "ELF64 {0}")
    @ValueSource(booleans = {false, true})
    void parsesSegmentsEntryAndNotes(boolean is64) throws Exception {
        byte[] code = bytes(0x300, 1);
        byte[] data = bytes(0x40, 2);
        ElfBuilder b = (is64 ? ElfBuilder.elf64() : ElfBuilder.elf32())
                .entry(KERNEL + 0x10)
                .load(KERNEL, code, code.length, LoadSegment.PF_R | LoadSegment.PF_X)
                .load(KERNEL + 0x1000, data, 0x2000, LoadSegment.PF_R | LoadSegment.PF_W)
                .note("GNU", 3, bytes(20, 3))
                .xenNote(ElfImage.XEN_ELFNOTE_HYPERCALL_PAGE, le64(0xffffffff81001000L))
                .xenNote(6, "generic".getBytes());
        ElfImage img = ElfImage.parse(b.build());

        assertEquals(is64 ? ElfImage.ElfClass.ELF64 : ElfImage.ElfClass.ELF32, img.elfClass());
        assertEquals(is64 ? ElfImage.EM_X86_64 : ElfImage.EM_386, img.machine());
        assertEquals(KERNEL + 0x10, img.entry());
        assertEquals(KERNEL + 0x10, img.bootEntry(), "no PHYS32_ENTRY: the ELF entry");
        assertTrue(img.phys32Entry().isEmpty());
        assertEquals(List.of(
                new LoadSegment(img.segments().get(0).fileOffset(), 0x300, KERNEL, KERNEL,
                        0x300, 5),
                new LoadSegment(img.segments().get(1).fileOffset(), 0x40, KERNEL + 0x1000, KERNEL + 0x1000, 0x2000, 6)),
                img.segments());
        byte[] seg0 = img.segmentData(img.segments().get(0)).toArray(ValueLayout.JAVA_BYTE);
        assertArrayEquals(code, seg0);
        assertEquals(List.of(2, 6), List.copyOf(img.xenNotes().keySet()), "only notes named Xen are kept");
        assertEquals(0xffffffff81001000L, img.xenNoteNumber(ElfImage.XEN_ELFNOTE_HYPERCALL_PAGE).getAsLong());
        assertArrayEquals("generic".getBytes(), img.xenNote(6).orElseThrow());
        assertTrue(img.xenNoteNumber(6).isEmpty(), "a 7-byte note is not a number");
        assertTrue(img.xenNote(99).isEmpty());
    }

    @ParameterizedTest(name = "ELF64 {0}")
    @ValueSource(booleans = {false, true})
    void phys32EntryNoteIsTheBootEntry(boolean is64) throws Exception {
        ElfBuilder b = ElfBuilder.simple(is64, KERNEL, bytes(0x100, 1), 0).entry(KERNEL + 4).phys32Entry(KERNEL + 0x40);
        ElfImage img = ElfImage.parse(b.build());
        assertEquals(KERNEL + 4, img.entry());
        assertEquals(KERNEL + 0x40, img.phys32Entry().getAsLong());
        assertEquals(KERNEL + 0x40, img.bootEntry());
    }

    @Test
    void phys32EntryMayBeAnEightByteValue() throws Exception {
        ElfBuilder b = ElfBuilder.simple(true, KERNEL, bytes(0x100, 1), 0)
                .xenNote(ElfImage.XEN_ELFNOTE_PHYS32_ENTRY, le64(KERNEL + 8));
        assertEquals(KERNEL + 8, ElfImage.parse(b.build()).bootEntry());
    }

    @Test
    void linuxStyleVirtualEntryIsTranslatedToItsPhysicalAddress() throws Exception {
        long va = 0xffffffff81000000L;
        ElfBuilder b = ElfBuilder.elf64().entry(va + 0x20).load(0x1000000, va, bytes(0x100, 1), 0x100, 5);
        ElfImage img = ElfImage.parse(b.build());
        assertEquals(va + 0x20, img.entry());
        assertEquals(0x1000020, img.bootEntry());
    }

    @ParameterizedTest(name = "ELF64 {0}")
    @ValueSource(booleans = {false, true})
    void xenNotesInSectionsWhenNoSegmentHasThem(boolean is64) throws Exception {
        ElfBuilder b = ElfBuilder.simple(is64, KERNEL, bytes(0x100, 1), 0x100).phys32Entry(KERNEL + 0x80);
        b.notesInSection = true;
        ElfImage img = ElfImage.parse(b.build());
        assertEquals(KERNEL + 0x80, img.bootEntry());
    }

    @Test
    void eightByteAlignedNotes() throws Exception {
        ElfBuilder b = ElfBuilder.simple(true, KERNEL, bytes(0x100, 1), 0).note("GNU", 5, bytes(12, 2))
                .phys32Entry(KERNEL + 0x10);
        b.noteAlign = 8;
        assertEquals(KERNEL + 0x10, ElfImage.parse(b.build()).bootEntry());
    }

    @Test
    void duplicateIdenticalXenNotesAreAccepted() throws Exception {
        ElfBuilder b = ElfBuilder.simple(false, KERNEL, bytes(0x100, 1), 0).phys32Entry(KERNEL + 4).phys32Entry(KERNEL + 4);
        assertEquals(KERNEL + 4, ElfImage.parse(b.build()).bootEntry());
    }

    @Test
    void zeroSizedLoadSegmentsAreKeptButIgnored() throws Exception {
        ElfBuilder b = ElfBuilder.simple(false, KERNEL, bytes(0x100, 1), 0).load(KERNEL + 0x10, new byte[0], 0, 4);
        ElfImage img = ElfImage.parse(b.build());
        assertEquals(2, img.segments().size(), "zero-sized segments do not overlap anything");
    }

    @Test
    void parseCopiesItsInput() throws Exception {
        byte[] file = ElfBuilder.simple(false, KERNEL, bytes(0x100, 1), 0).build();
        ElfImage img = ElfImage.parse(file);
        Arrays.fill(file, (byte) 0);
        assertArrayEquals(bytes(0x100, 1), img.segmentData(img.segments().get(0)).toArray(ValueLayout.JAVA_BYTE));
        assertThrows(RuntimeException.class, // read-only
                () -> img.segmentData(img.segments().get(0)).set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
        assertThrows(IllegalArgumentException.class,
                () -> img.segmentData(new LoadSegment(0, 10, 0, 0, 10, 0)));
        img.xenNotes().clear(); // a copy
    }

    @Test
    void readsAFileWithinTheLimit(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("kernel");
        Files.write(p, ElfBuilder.simple(true, KERNEL, bytes(0x100, 1), 0).build());
        assertEquals(KERNEL, ElfImage.read(p).bootEntry());
        ElfFormatException e = assertThrows(ElfFormatException.class, () -> ElfImage.read(p, 100));
        assertContains(e, "more than the limit of 100 bytes");
        assertContains(assertThrows(ElfFormatException.class, () -> ElfImage.read(dir)), "is not a regular file");
    }

    // ------------------------------------------------------------------ every validation

    interface Mutation {
        byte[] make() throws Exception;
    }

    static Arguments bad(String name, String fragment, Mutation m) {
        return Arguments.of(name, fragment, m);
    }

    static ElfBuilder ok32() {
        return ElfBuilder.simple(false, KERNEL, bytes(0x100, 1), 0x100);
    }

    static ElfBuilder ok64() {
        return ElfBuilder.simple(true, KERNEL, bytes(0x100, 1), 0x100);
    }

    static byte[] with(ElfBuilder b, java.util.function.Consumer<byte[]> patch) {
        byte[] f = b.build();
        patch.accept(f);
        return f;
    }

    static Stream<Arguments> invalidImages() {
        return Stream.of(
                bad("empty", "too short for an ELF identification", () -> new byte[0]),
                bad("15 bytes", "too short for an ELF identification", () -> Arrays.copyOf(ok32().build(), 15)),
                bad("magic", "not an ELF file: the magic at offset 0 is 7f 45 4c 47",
                        () -> with(ok32(), f -> f[3] = 'G')),
                bad("class 0", "EI_CLASS 0 is neither", () -> with(ok32(), f -> f[4] = 0)),
                bad("class 3", "EI_CLASS 3 is neither", () -> with(ok32(), f -> f[4] = 3)),
                bad("big-endian", "big-endian", () -> with(ok32(), f -> f[5] = 2)),
                bad("data 0", "EI_DATA 0 is not ELFDATA2LSB", () -> with(ok32(), f -> f[5] = 0)),
                bad("ident version", "EI_VERSION 0 is not EV_CURRENT", () -> with(ok32(), f -> f[6] = 0)),
                bad("truncated ELF32 header", "shorter than the ELF32 header (52 bytes)",
                        () -> Arrays.copyOf(ok32().build(), 51)),
                bad("truncated ELF64 header", "shorter than the ELF64 header (64 bytes)",
                        () -> Arrays.copyOf(ok64().build(), 40)),
                bad("ET_DYN", "e_type 3 (ET_DYN) is not supported", () -> with(ok64(), f -> put16(f, 16, 3))),
                bad("ET_REL", "e_type 1 is not ET_EXEC", () -> with(ok64(), f -> put16(f, 16, 1))),
                bad("ARM", "e_machine 40 is not EM_386 (3) for an ELF32 file", () -> with(ok32(), f -> put16(f, 18, 40))),
                bad("ELF32 x86-64", "e_machine 62 is not EM_386", () -> with(ok32(), f -> put16(f, 18, 62))),
                bad("ELF64 i386", "e_machine 3 is not EM_X86_64 (62) for an ELF64 file",
                        () -> with(ok64(), f -> put16(f, 18, 3))),
                bad("e_version", "e_version 2 is not EV_CURRENT", () -> with(ok64(), f -> put32(f, 20, 2))),
                bad("e_ehsize", "e_ehsize 60 is not the ELF64 header size 64", () -> with(ok64(), f -> put16(f, 52, 60))),
                bad("e_phentsize", "e_phentsize 40 is not the ELF32 program header size 32",
                        () -> with(ok32(), f -> put16(f, 42, 40))),
                bad("e_phnum 0", "e_phnum is 0: the file has no program headers", () -> with(ok32(), f -> put16(f, 44, 0))),
                bad("e_phnum 0xffff", "e_phnum 65535 exceeds the limit of 256", () -> with(ok64(), f -> put16(f, 56, 0xffff))),
                bad("phoff past end", "the program header table [0xfffffff0, +0x38) extends past the end of the file",
                        () -> with(ok64(), f -> put64(f, 32, 0xfffffff0L))),
                bad("phoff huge", "the program header table [0x8000000000000000, +0x38)",
                        () -> with(ok64(), f -> put64(f, 32, Long.MIN_VALUE))),
                bad("phnum past end", "program header table", () -> with(ok32(), f -> put16(f, 44, 200))),
                bad("filesz > memsz", "ELF program header 0 (offset 0x34): p_filesz 0x100 is larger than p_memsz 0xff",
                        () -> with(ok32(), f -> put32(f, 52 + 20, 0xff))),
                bad("segment past end", "ELF program header 0 (offset 0x40): segment [0x80, +0x10000) extends past the"
                                + " end of the file (size 0x",
                        () -> with(ok64(), f -> {
                            put64(f, 64 + 32, 0x10000);
                            put64(f, 64 + 40, 0x10000);
                        })),
                bad("segment offset huge", "segment [0xffffffffffffff00, +0x100) extends past the end",
                        () -> with(ok64(), f -> put64(f, 64 + 8, -0x100L))),
                bad("memsz > 4 GiB", "p_memsz 0x100000001 exceeds the limit of 0x100000000",
                        () -> with(ok64(), f -> put64(f, 64 + 40, (1L << 32) + 1))),
                bad("memsz negative", "p_memsz 0xffffffffffffffff exceeds the limit",
                        () -> with(ok64(), f -> put64(f, 64 + 40, -1L))),
                bad("paddr wraps", "physical range [0xffffffffffffff00, +0x200) wraps past the top",
                        () -> with(ok64(), f -> put64(f, 64 + 24, -0x100L))),
                bad("paddr ends at 2^64", "physical range [0xfffffffffffffe00, +0x200) wraps",
                        () -> with(ok64(), f -> put64(f, 64 + 24, -0x200L))),
                bad("vaddr wraps", "virtual range [0xffffffffffffff00, +0x200) wraps past the top",
                        () -> with(ok64(), f -> put64(f, 64 + 16, -0x100L))),
                bad("ELF32 paddr past 4 GiB", "physical range [0xffffff00, +0x200) of an ELF32 segment extends past 4 GiB",
                        () -> with(ok32(), f -> put32(f, 52 + 12, 0xffffff00L))),
                bad("ELF32 vaddr past 4 GiB", "virtual range [0xffffff00, +0x200) of an ELF32 segment extends past 4 GiB",
                        () -> with(ok32(), f -> put32(f, 52 + 8, 0xffffff00L))),
                bad("total memory", "need 0x180000000 bytes of memory, more than the limit of 0x100000000",
                        () -> ElfBuilder.elf64().entry(0).load(0, new byte[0], 3L << 30, 6)
                                .load(4L << 30, new byte[0], 3L << 30, 6).build()),
                bad("overlap", "ELF program headers 0 and 1: PT_LOAD segments overlap in physical memory:"
                                + " [0x100000, 0x100200) and [0x1001ff, 0x1002ff)",
                        () -> ok32().load(KERNEL + 0x1ff, bytes(0x10, 2), 0x100, 6).build()),
                bad("overlap, same start", "overlap in physical memory",
                        () -> ok64().load(KERNEL, 0x5000000, bytes(0x10, 2), 0x10, 6).build()),
                bad("no PT_LOAD", "no PT_LOAD segment with memory",
                        () -> with(ok32(), f -> put32(f, 52, 6 /* PT_PHDR */))),
                bad("only empty PT_LOAD", "no PT_LOAD segment with memory",
                        () -> ElfBuilder.elf32().load(0, new byte[0], 0, 4).build()),
                bad("entry outside", "e_entry 0x200000 lies in no PT_LOAD segment, and there is no"
                                + " XEN_ELFNOTE_PHYS32_ENTRY note", () -> ok32().entry(0x200000).build()),
                bad("entry at end", "e_entry 0x100200 lies in no PT_LOAD", () -> ok32().entry(KERNEL + 0x200).build()),
                bad("phys32 outside", "Xen note XEN_ELFNOTE_PHYS32_ENTRY 0x300000 lies in no PT_LOAD segment",
                        () -> ok32().phys32Entry(0x300000).build()),
                bad("phys32 above 4 GiB", "Xen note XEN_ELFNOTE_PHYS32_ENTRY 0x100100000 is not below 4 GiB",
                        () -> ok64().xenNote(18, le64((1L << 32) + KERNEL)).build()),
                bad("phys32 3 bytes", "XEN_ELFNOTE_PHYS32_ENTRY has a 3-byte value; expected 4 or 8",
                        () -> ok64().xenNote(18, new byte[3]).build()),
                bad("conflicting notes", "(type 18 (XEN_ELFNOTE_PHYS32_ENTRY)) conflicts with an earlier note",
                        () -> ok32().phys32Entry(KERNEL).phys32Entry(KERNEL + 4).build()),
                bad("note segment past end", "ELF program header 1 (offset 0x54): note segment [",
                        () -> with(ok32().phys32Entry(KERNEL), f -> put32(f, 52 + 32 + 16, 0x10000))),
                bad("note truncated", "is truncated: 8 bytes left, a note header needs 12",
                        () -> with(ok32().phys32Entry(KERNEL), f -> put32(f, 52 + 32 + 16, 8))),
                bad("note trailing bytes", "is truncated: 4 bytes left",
                        () -> with(ok32().phys32Entry(KERNEL), f -> put32(f, 52 + 32 + 16, 20 + 4))),
                bad("namesz past end", "name size 0x1000 runs past the end of the note area",
                        () -> xenNotePatched(0, 0x1000)),
                bad("namesz huge", "name size 0xffffffff runs past the end", () -> xenNotePatched(0, 0xffffffffL)),
                bad("descsz past end", "descriptor size 0x5 runs past the end of the note area",
                        () -> xenNotePatched(4, 5)),
                bad("descsz huge", "descriptor size 0xffffffff runs past", () -> xenNotePatched(4, 0xffffffffL)),
                bad("Xen note too large", "has a 0x10001-byte value, more than the limit of 65536",
                        () -> ok32().xenNote(7, new byte[65537]).build()),
                bad("too many Xen notes", "more than 256 Xen notes", () -> {
                    ElfBuilder b = ok32();
                    for (int i = 0; i < 257; i++) {
                        b.xenNote(1000 + i, new byte[4]);
                    }
                    return b.build();
                }),
                bad("note areas too large", "note areas total more than the limit of 0x1000000 bytes",
                        ElfImageTest::manyNoteHeaders),
                bad("section e_shentsize", "e_shentsize 12 is not the ELF64 section header size 64", () -> {
                    ElfBuilder b = ok64().phys32Entry(KERNEL);
                    b.notesInSection = true;
                    return with(b, f -> put16(f, 58, 12));
                }),
                bad("section table past end", "the section header table [", () -> {
                    ElfBuilder b = ok32().phys32Entry(KERNEL);
                    b.notesInSection = true;
                    return with(b, f -> put32(f, 32, 0x7fff0000));
                }),
                bad("too many sections", "e_shnum 5000 exceeds the limit of 4096", () -> {
                    ElfBuilder b = ok32().phys32Entry(KERNEL);
                    b.notesInSection = true;
                    return with(b, f -> put16(f, 48, 5000));
                }),
                bad("note section past end", "ELF section header 1 (offset 0x", () -> {
                    ElfBuilder b = ok64().phys32Entry(KERNEL);
                    b.notesInSection = true;
                    byte[] f = b.build();
                    int shoff = (int) java.nio.ByteBuffer.wrap(f).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(40);
                    put64(f, shoff + 64 + 32, 0x7fffffff);
                    return f;
                }));
    }

    /** An ELF32 with one Xen note whose namesz (field 0) or descsz (field 4) is replaced. */
    private static byte[] xenNotePatched(int field, long value) {
        ElfBuilder b = ok32().xenNote(9, new byte[4]);
        byte[] f = b.build();
        int noteOffset = (int) java.nio.ByteBuffer.wrap(f).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(52 + 32 + 4);
        put32(f, noteOffset + field, value);
        return f;
    }

    /** 256 PT_NOTE headers over one 70 KiB note area: 17.5 MiB of notes scanned. */
    private static byte[] manyNoteHeaders() {
        ElfBuilder b = ElfBuilder.elf64().entry(KERNEL);
        b.load(KERNEL, bytes(16, 1), 16, 5).note("GNU", 1, new byte[70 * 1024]);
        byte[] one = b.build();
        int phnum = 256;
        int noteHeader = 64 + 56;
        byte[] f = new byte[64 + phnum * 56 + one.length];
        System.arraycopy(one, 0, f, 0, 64);
        put16(f, 56, phnum);
        int shift = (phnum - 2) * 56;
        System.arraycopy(one, 64, f, 64, 2 * 56);
        System.arraycopy(one, 64 + 2 * 56, f, 64 + phnum * 56, one.length - 64 - 2 * 56);
        put64(f, 64 + 8, java.nio.ByteBuffer.wrap(one).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(64 + 8) + shift);
        long noteOff = java.nio.ByteBuffer.wrap(one).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(noteHeader + 8) + shift;
        put64(f, noteHeader + 8, noteOff);
        for (int i = 2; i < phnum; i++) {
            System.arraycopy(f, noteHeader, f, 64 + i * 56, 56);
        }
        return f;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidImages")
    void rejectsWithAClearMessage(String name, String fragment, Mutation m) throws Exception {
        byte[] file = m.make();
        ElfFormatException e = assertThrows(ElfFormatException.class, () -> ElfImage.parse(file), name);
        assertContains(e, fragment);
    }

    @Test
    void theBuilderBaseImagesAreValid() throws Exception {
        ElfImage.parse(ok32().build());
        ElfImage.parse(ok64().build());
        ElfImage.parse(ok32().phys32Entry(KERNEL).build());
        assertFalse(ElfImage.parse(ok64().build()).segments().isEmpty());
    }

    static void assertContains(Exception e, String fragment) {
        assertTrue(e.getMessage().contains(fragment),
                () -> "message \"" + e.getMessage() + "\" lacks \"" + fragment + "\"");
    }
}

package org.jxen.kvm.boot;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Emits small, valid x86 ELF32/ELF64 executables for tests: an ELF header, the program header
 * table right after it ({@code PT_LOAD}s in order, then one {@code PT_NOTE} when there are notes
 * and they are not put in a section), then each segment's file bytes (16-byte aligned), then the
 * notes, then (with {@link #notesInSection}) a section header table.
 */
final class ElfBuilder {
    record Seg(long paddr, long vaddr, byte[] data, long memsz, int flags) {
    }

    record Note(String name, int type, byte[] desc) {
    }

    final boolean is64;
    int type = ElfImage.ET_EXEC;
    int machine;
    long entry;
    boolean notesInSection;
    int noteAlign = 4;
    final List<Seg> segs = new ArrayList<>();
    final List<Note> notes = new ArrayList<>();

    private ElfBuilder(boolean is64) {
        this.is64 = is64;
        this.machine = is64 ? ElfImage.EM_X86_64 : ElfImage.EM_386;
    }

    static ElfBuilder elf32() {
        return new ElfBuilder(false);
    }

    static ElfBuilder elf64() {
        return new ElfBuilder(true);
    }

    /** A simple kernel: code at paddr with {@code code} bytes and a BSS of {@code bss} bytes, entry at paddr. */
    static ElfBuilder simple(boolean is64, long paddr, byte[] code, long bss) {
        ElfBuilder b = new ElfBuilder(is64);
        b.entry = paddr;
        b.load(paddr, code, code.length + bss, LoadSegment.PF_R | LoadSegment.PF_X);
        return b;
    }

    ElfBuilder entry(long e) {
        entry = e;
        return this;
    }

    ElfBuilder load(long paddr, byte[] data, long memsz, int flags) {
        segs.add(new Seg(paddr, paddr, data, memsz, flags));
        return this;
    }

    ElfBuilder load(long paddr, long vaddr, byte[] data, long memsz, int flags) {
        segs.add(new Seg(paddr, vaddr, data, memsz, flags));
        return this;
    }

    ElfBuilder note(String name, int type, byte[] desc) {
        notes.add(new Note(name, type, desc));
        return this;
    }

    ElfBuilder xenNote(int type, byte[] desc) {
        return note("Xen", type, desc);
    }

    ElfBuilder phys32Entry(long value) {
        return xenNote(ElfImage.XEN_ELFNOTE_PHYS32_ENTRY, le32((int) value));
    }

    int ehsize() {
        return is64 ? 64 : 52;
    }

    int phentsize() {
        return is64 ? 56 : 32;
    }

    int phnum() {
        return segs.size() + (notes.isEmpty() || notesInSection ? 0 : 1);
    }

    /** File offset of program header {@code i}. */
    int ph(int i) {
        return ehsize() + i * phentsize();
    }

    // program header field offsets (relative to the header)
    int phOffset() {
        return is64 ? 8 : 4;
    }

    int phVaddr() {
        return is64 ? 16 : 8;
    }

    int phPaddr() {
        return is64 ? 24 : 12;
    }

    int phFilesz() {
        return is64 ? 32 : 16;
    }

    int phMemsz() {
        return is64 ? 40 : 20;
    }

    int ehPhoff() {
        return is64 ? 32 : 28;
    }

    int ehEhsize() {
        return is64 ? 52 : 40;
    }

    byte[] notesBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Note n : notes) {
            byte[] name = (n.name() + "\0").getBytes(StandardCharsets.US_ASCII);
            out.writeBytes(le32(name.length));
            out.writeBytes(le32(n.desc().length));
            out.writeBytes(le32(n.type()));
            out.writeBytes(name);
            pad(out, noteAlign);
            out.writeBytes(n.desc());
            pad(out, noteAlign);
        }
        return out.toByteArray();
    }

    byte[] build() {
        int phnum = phnum();
        long pos = ehsize() + (long) phnum * phentsize();
        long[] offsets = new long[segs.size()];
        for (int i = 0; i < segs.size(); i++) {
            pos = (pos + 15) & ~15L;
            offsets[i] = pos;
            pos += segs.get(i).data().length;
        }
        pos = (pos + 7) & ~7L;
        long noteOffset = pos;
        byte[] noteBytes = notesBytes();
        pos += noteBytes.length;
        pos = (pos + 7) & ~7L;
        long shoff = notesInSection && !notes.isEmpty() ? pos : 0;
        int shentsize = is64 ? 64 : 40;
        int shnum = shoff != 0 ? 2 : 0;
        long total = pos + (long) shnum * shentsize;
        ByteBuffer b = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', (byte) (is64 ? 2 : 1), 1, 1, 0});
        b.position(16);
        b.putShort((short) type).putShort((short) machine).putInt(1);
        if (is64) {
            b.putLong(entry).putLong(ehsize()).putLong(shoff).putInt(0);
        } else {
            b.putInt((int) entry).putInt(ehsize()).putInt((int) shoff).putInt(0);
        }
        b.putShort((short) ehsize()).putShort((short) phentsize()).putShort((short) phnum)
                .putShort((short) shentsize).putShort((short) shnum).putShort((short) 0);
        for (int i = 0; i < segs.size(); i++) {
            Seg s = segs.get(i);
            b.position(ph(i));
            phdr(b, ElfImage.PT_LOAD, s.flags(), offsets[i], s.vaddr(), s.paddr(), s.data().length, s.memsz(), 0x1000);
            b.position((int) offsets[i]);
            b.put(s.data());
        }
        if (!notes.isEmpty() && !notesInSection) {
            b.position(ph(segs.size()));
            phdr(b, ElfImage.PT_NOTE, LoadSegment.PF_R, noteOffset, 0, 0, noteBytes.length, noteBytes.length, noteAlign);
        }
        b.position((int) noteOffset);
        b.put(noteBytes);
        if (shnum != 0) {
            b.position((int) shoff + shentsize); // section 0 is the null section
            b.putInt(0).putInt(ElfImage.SHT_NOTE);
            if (is64) {
                b.putLong(2).putLong(0).putLong(noteOffset).putLong(noteBytes.length).putInt(0).putInt(0)
                        .putLong(noteAlign).putLong(0);
            } else {
                b.putInt(2).putInt(0).putInt((int) noteOffset).putInt(noteBytes.length).putInt(0).putInt(0)
                        .putInt(noteAlign).putInt(0);
            }
        }
        return b.array();
    }

    private void phdr(ByteBuffer b, int type, int flags, long offset, long vaddr, long paddr, long filesz, long memsz,
                      long align) {
        if (is64) {
            b.putInt(type).putInt(flags).putLong(offset).putLong(vaddr).putLong(paddr).putLong(filesz).putLong(memsz)
                    .putLong(align);
        } else {
            b.putInt(type).putInt((int) offset).putInt((int) vaddr).putInt((int) paddr).putInt((int) filesz)
                    .putInt((int) memsz).putInt(flags).putInt((int) align);
        }
    }

    private static void pad(ByteArrayOutputStream out, int align) {
        while (out.size() % align != 0) {
            out.write(0);
        }
    }

    static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    static byte[] le64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    static void put16(byte[] b, int off, int v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putShort(off, (short) v);
    }

    static void put32(byte[] b, int off, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(off, (int) v);
    }

    static void put64(byte[] b, int off, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(off, v);
    }

    /** Writes a word of the builder's class (4 or 8 bytes). */
    void putWord(byte[] b, int off, long v) {
        if (is64) {
            put64(b, off, v);
        } else {
            put32(b, off, v);
        }
    }

    static byte[] bytes(int n, int seed) {
        byte[] d = new byte[n];
        for (int i = 0; i < n; i++) {
            d[i] = (byte) (i * 31 + seed * 7 + 1);
        }
        return d;
    }
}

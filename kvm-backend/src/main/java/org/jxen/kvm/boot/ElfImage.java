package org.jxen.kvm.boot;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.SortedMap;
import java.util.TreeMap;
import org.jxen.abi.XenElfNote;

/**
 * A parsed and validated x86 ELF kernel image: its class, entry point, {@code PT_LOAD} segments
 * and {@code "Xen"} ELF notes.
 *
 * <p>The image is untrusted input. Parsing never throws anything but {@link ElfFormatException}
 * (and {@link IOException} when reading a file); every offset and size from the file is checked
 * with overflow-safe arithmetic before use, and every count has a limit:
 * <ul>
 *   <li>identification: magic {@code 7f 'E' 'L' 'F'}, {@code ELFCLASS32} or {@code ELFCLASS64},
 *       little-endian, {@code EV_CURRENT};</li>
 *   <li>header: {@code ET_EXEC} only, {@code EM_386} for ELF32 and {@code EM_X86_64} for ELF64,
 *       {@code e_ehsize} and {@code e_phentsize} exactly the standard sizes,
 *       {@code 1 <= e_phnum <=} {@value #MAX_PROGRAM_HEADERS}, the program header table inside the
 *       file;</li>
 *   <li>each {@code PT_LOAD}: {@code p_filesz <= p_memsz}, the file bytes inside the file, the
 *       physical and virtual ranges not wrapping past 2^64 (nor past 4 GiB for ELF32), all
 *       {@code p_memsz} together at most {@link #MAX_TOTAL_MEMORY_SIZE}, no two segments
 *       overlapping in physical memory, at least one segment with memory;</li>
 *   <li>notes ({@code PT_NOTE} segments, or {@code SHT_NOTE} sections when no segment has a Xen
 *       note, as Xen's libelf does): every header, name and descriptor inside its note area, at
 *       most {@value #MAX_XEN_NOTES} Xen notes of at most {@value #MAX_XEN_NOTE_SIZE} bytes each,
 *       at most {@link #MAX_NOTE_BYTES} of note areas scanned, no two different Xen notes of one
 *       type, {@code XEN_ELFNOTE_PHYS32_ENTRY} a 4- or 8-byte value below 4 GiB;</li>
 *   <li>the boot entry ({@link #bootEntry()}) inside a {@code PT_LOAD} segment.</li>
 * </ul>
 *
 * <p>ET_DYN (position-independent) images are rejected: the direct-boot convention places every
 * segment at its own {@code p_paddr}, with no relocation and no choice of load base; a PVH kernel
 * (Linux, FreeBSD, Xen's own test kernels) is {@code ET_EXEC}.
 *
 * <p>Immutable and safe to share between threads.
 */
public final class ElfImage {
    /** The default limit on the size of an image file read by {@link #read(Path)}: 256 MiB. */
    public static final long MAX_FILE_SIZE = 256L << 20;
    /** The limit on {@code e_phnum}. */
    public static final int MAX_PROGRAM_HEADERS = 256;
    /** The limit on {@code e_shnum}, when section headers are read for notes. */
    public static final int MAX_SECTION_HEADERS = 4096;
    /** The limit on the sum of all {@code PT_LOAD} {@code p_memsz}: 4 GiB. */
    public static final long MAX_TOTAL_MEMORY_SIZE = 4L << 30;
    /** The limit on the number of Xen notes. */
    public static final int MAX_XEN_NOTES = 256;
    /** The limit on one Xen note's descriptor size in bytes. */
    public static final int MAX_XEN_NOTE_SIZE = 64 * 1024;
    /** The limit on the bytes of note segments or sections scanned, all together: 16 MiB. */
    public static final long MAX_NOTE_BYTES = 16L << 20;

    public static final int ET_EXEC = 2;
    public static final int ET_DYN = 3;
    public static final int EM_386 = 3;
    public static final int EM_X86_64 = 62;
    public static final int PT_LOAD = 1;
    public static final int PT_NOTE = 4;
    public static final int SHT_NOTE = 7;

    /** {@code XEN_ELFNOTE_ENTRY}: the PV entry (virtual). */
    public static final int XEN_ELFNOTE_ENTRY = 1;
    /** {@code XEN_ELFNOTE_HYPERCALL_PAGE}: the virtual address of the hypercall page. */
    public static final int XEN_ELFNOTE_HYPERCALL_PAGE = 2;
    /** {@code XEN_ELFNOTE_PHYS32_ENTRY}: the PVH 32-bit physical entry. */
    public static final int XEN_ELFNOTE_PHYS32_ENTRY = XenElfNote.PHYS32_ENTRY;

    private static final long FOUR_GIB = 1L << 32;
    private static final int EHDR32_SIZE = 52;
    private static final int EHDR64_SIZE = 64;
    private static final int PHDR32_SIZE = 32;
    private static final int PHDR64_SIZE = 56;
    private static final int SHDR32_SIZE = 40;
    private static final int SHDR64_SIZE = 64;
    private static final int NOTE_HEADER_SIZE = 12;
    private static final byte[] XEN_NAME = {'X', 'e', 'n', 0};

    /** The ELF file class. */
    public enum ElfClass {
        ELF32, ELF64
    }

    private final byte[] file;
    private final ElfClass elfClass;
    private final int machine;
    private final long entry;
    private final long bootEntry;
    private final OptionalLong phys32Entry;
    private final List<LoadSegment> segments;
    private final SortedMap<Integer, byte[]> xenNotes;

    /** Parses {@code bytes} (copied; later changes to the array do not affect the image). */
    public static ElfImage parse(byte[] bytes) throws ElfFormatException {
        return new ElfImage(bytes.clone());
    }

    /** Reads and parses the file at {@code path}, at most {@link #MAX_FILE_SIZE} bytes. */
    public static ElfImage read(Path path) throws IOException, ElfFormatException {
        return read(path, MAX_FILE_SIZE);
    }

    /**
     * Reads and parses the file at {@code path}. The size is checked before reading, and the read
     * itself stops after {@code maxSize + 1} bytes, so a file that grows meanwhile is also refused.
     */
    public static ElfImage read(Path path, long maxSize) throws IOException, ElfFormatException {
        if (maxSize < 0 || maxSize > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("maxSize out of range: " + maxSize);
        }
        if (!Files.isRegularFile(path)) {
            throw new ElfFormatException(path + " is not a regular file");
        }
        long size = Files.size(path);
        if (size > maxSize) {
            throw new ElfFormatException(String.format("%s is %s bytes, more than the limit of %s bytes",
                    path, size, maxSize));
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(path)) {
            bytes = in.readNBytes((int) maxSize + 1);
        }
        if (bytes.length > maxSize) {
            throw new ElfFormatException(String.format("%s grew past the limit of %s bytes while being read",
                    path, maxSize));
        }
        return new ElfImage(bytes);
    }

    private ElfImage(byte[] b) throws ElfFormatException {
        this.file = b;
        long len = b.length;
        if (len < 16) {
            throw fail("file is %d bytes, too short for an ELF identification (16 bytes)", len);
        }
        if (b[0] != 0x7f || b[1] != 'E' || b[2] != 'L' || b[3] != 'F') {
            throw fail("not an ELF file: the magic at offset 0 is %02x %02x %02x %02x, expected 7f 45 4c 46",
                    b[0] & 0xff, b[1] & 0xff, b[2] & 0xff, b[3] & 0xff);
        }
        elfClass = switch (b[4]) {
            case 1 -> ElfClass.ELF32;
            case 2 -> ElfClass.ELF64;
            default -> throw fail("ELF header (offset 0x4): EI_CLASS %d is neither ELFCLASS32 (1) nor ELFCLASS64 (2)",
                    b[4] & 0xff);
        };
        boolean is64 = elfClass == ElfClass.ELF64;
        if (b[5] == 2) {
            throw fail("ELF header (offset 0x5): the file is big-endian (ELFDATA2MSB); x86 images are little-endian");
        }
        if (b[5] != 1) {
            throw fail("ELF header (offset 0x5): EI_DATA %d is not ELFDATA2LSB (1)", b[5] & 0xff);
        }
        if (b[6] != 1) {
            throw fail("ELF header (offset 0x6): EI_VERSION %d is not EV_CURRENT (1)", b[6] & 0xff);
        }
        int ehsize = is64 ? EHDR64_SIZE : EHDR32_SIZE;
        if (len < ehsize) {
            throw fail("file is %d bytes, shorter than the %s header (%d bytes)", len, elfClass, ehsize);
        }
        int type = u16(16);
        if (type == ET_DYN) {
            throw fail("ELF header (offset 0x10): e_type 3 (ET_DYN) is not supported: a direct-boot kernel must be"
                    + " ET_EXEC, linked at the physical addresses it is loaded at");
        }
        if (type != ET_EXEC) {
            throw fail("ELF header (offset 0x10): e_type %d is not ET_EXEC (2)", type);
        }
        machine = u16(18);
        int wantMachine = is64 ? EM_X86_64 : EM_386;
        if (machine != wantMachine) {
            throw fail("ELF header (offset 0x12): e_machine %d is not %s for an %s file", machine,
                    is64 ? "EM_X86_64 (62)" : "EM_386 (3)", elfClass);
        }
        long version = u32(20);
        if (version != 1) {
            throw fail("ELF header (offset 0x14): e_version %d is not EV_CURRENT (1)", version);
        }
        entry = is64 ? u64(24) : u32(24);
        long phoff = is64 ? u64(32) : u32(28);
        long shoff = is64 ? u64(40) : u32(32);
        int base = is64 ? 52 : 40;
        int eEhsize = u16(base);
        int phentsize = u16(base + 2);
        int phnum = u16(base + 4);
        int shentsize = u16(base + 6);
        int shnum = u16(base + 8);
        if (eEhsize != ehsize) {
            throw fail("ELF header (offset 0x%x): e_ehsize %d is not the %s header size %d", base, eEhsize,
                    elfClass, ehsize);
        }
        int wantPhent = is64 ? PHDR64_SIZE : PHDR32_SIZE;
        if (phentsize != wantPhent) {
            throw fail("ELF header (offset 0x%x): e_phentsize %d is not the %s program header size %d",
                    base + 2, phentsize, elfClass, wantPhent);
        }
        if (phnum == 0) {
            throw fail("ELF header (offset 0x%x): e_phnum is 0: the file has no program headers", base + 4);
        }
        if (phnum > MAX_PROGRAM_HEADERS) {
            throw fail("ELF header (offset 0x%x): e_phnum %d exceeds the limit of %d program headers", base + 4,
                    phnum, MAX_PROGRAM_HEADERS);
        }
        long phtableSize = (long) phnum * phentsize;
        if (!inFile(phoff, phtableSize, len)) {
            throw fail("ELF header: the program header table [%s, +%s) extends past the end of the file (size %s)",
                    hex(phoff), hex(phtableSize), hex(len));
        }

        List<LoadSegment> loads = new ArrayList<>();
        List<Integer> loadHeaders = new ArrayList<>();
        List<long[]> noteAreas = new ArrayList<>();
        List<String> noteWhere = new ArrayList<>();
        long totalMemory = 0;
        for (int i = 0; i < phnum; i++) {
            int ph = (int) (phoff + (long) i * phentsize);
            long pType = u32(ph);
            long offset = is64 ? u64(ph + 8) : u32(ph + 4);
            long vaddr = is64 ? u64(ph + 16) : u32(ph + 8);
            long paddr = is64 ? u64(ph + 24) : u32(ph + 12);
            long filesz = is64 ? u64(ph + 32) : u32(ph + 16);
            long memsz = is64 ? u64(ph + 40) : u32(ph + 20);
            int flags = (int) (is64 ? u32(ph + 4) : u32(ph + 24));
            long align = is64 ? u64(ph + 48) : u32(ph + 28);
            String where = String.format("ELF program header %d (offset %s)", i, hex(ph));
            if (pType == PT_LOAD) {
                if (Long.compareUnsigned(filesz, memsz) > 0) {
                    throw fail("%s: p_filesz %s is larger than p_memsz %s", where, hex(filesz), hex(memsz));
                }
                if (!inFile(offset, filesz, len)) {
                    throw fail("%s: segment [%s, +%s) extends past the end of the file (size %s)", where,
                            hex(offset), hex(filesz), hex(len));
                }
                if (Long.compareUnsigned(memsz, MAX_TOTAL_MEMORY_SIZE) > 0) {
                    throw fail("%s: p_memsz %s exceeds the limit of %s", where, hex(memsz), hex(MAX_TOTAL_MEMORY_SIZE));
                }
                if (wraps(paddr, memsz)) {
                    throw fail("%s: physical range [%s, +%s) wraps past the top of the address space", where,
                            hex(paddr), hex(memsz));
                }
                if (wraps(vaddr, memsz)) {
                    throw fail("%s: virtual range [%s, +%s) wraps past the top of the address space", where,
                            hex(vaddr), hex(memsz));
                }
                if (!is64 && paddr + memsz > FOUR_GIB) {
                    throw fail("%s: physical range [%s, +%s) of an ELF32 segment extends past 4 GiB", where,
                            hex(paddr), hex(memsz));
                }
                if (!is64 && vaddr + memsz > FOUR_GIB) {
                    throw fail("%s: virtual range [%s, +%s) of an ELF32 segment extends past 4 GiB", where,
                            hex(vaddr), hex(memsz));
                }
                totalMemory += memsz; // both at most 4 GiB apart from this sum: no overflow
                if (totalMemory > MAX_TOTAL_MEMORY_SIZE) {
                    throw fail("%s: the PT_LOAD segments up to here need %s bytes of memory, more than the limit of %s",
                            where, hex(totalMemory), hex(MAX_TOTAL_MEMORY_SIZE));
                }
                loads.add(new LoadSegment(offset, filesz, paddr, vaddr, memsz, flags));
                loadHeaders.add(i);
            } else if (pType == PT_NOTE) {
                if (!inFile(offset, filesz, len)) {
                    throw fail("%s: note segment [%s, +%s) extends past the end of the file (size %s)", where,
                            hex(offset), hex(filesz), hex(len));
                }
                noteAreas.add(new long[] {offset, filesz, align == 8 ? 8 : 4});
                noteWhere.add(where + " (PT_NOTE)");
            }
        }
        boolean anyMemory = false;
        for (int i = 0; i < loads.size(); i++) {
            LoadSegment a = loads.get(i);
            if (a.memorySize() == 0) {
                continue;
            }
            anyMemory = true;
            for (int j = i + 1; j < loads.size(); j++) {
                LoadSegment c = loads.get(j);
                if (c.memorySize() != 0 && Long.compareUnsigned(a.physicalAddress(), c.physicalEnd()) < 0
                        && Long.compareUnsigned(c.physicalAddress(), a.physicalEnd()) < 0) {
                    throw fail("ELF program headers %d and %d: PT_LOAD segments overlap in physical memory:"
                                    + " [%s, %s) and [%s, %s)", loadHeaders.get(i), loadHeaders.get(j),
                            hex(a.physicalAddress()), hex(a.physicalEnd()), hex(c.physicalAddress()),
                            hex(c.physicalEnd()));
                }
            }
        }
        if (!anyMemory) {
            throw fail("the file has no PT_LOAD segment with memory (p_memsz > 0): nothing to load");
        }
        segments = List.copyOf(loads);

        TreeMap<Integer, byte[]> notes = new TreeMap<>();
        long[] budget = {MAX_NOTE_BYTES};
        for (int i = 0; i < noteAreas.size(); i++) {
            long[] area = noteAreas.get(i);
            parseNotes(noteWhere.get(i), area[0], area[1], (int) area[2], notes, budget);
        }
        if (notes.isEmpty() && shnum != 0 && shoff != 0) {
            parseNoteSections(shoff, shentsize, shnum, base + 6, notes, budget);
        }
        xenNotes = Collections.unmodifiableSortedMap(notes);

        byte[] phys32 = notes.get(XEN_ELFNOTE_PHYS32_ENTRY);
        if (phys32 != null) {
            long value = switch (phys32.length) {
                case 4 -> leU32(phys32, 0);
                case 8 -> leU64(phys32, 0);
                default -> throw fail("Xen note XEN_ELFNOTE_PHYS32_ENTRY has a %d-byte value; expected 4 or 8 bytes",
                        phys32.length);
            };
            if (Long.compareUnsigned(value, FOUR_GIB) >= 0) {
                throw fail("Xen note XEN_ELFNOTE_PHYS32_ENTRY %s is not below 4 GiB", hex(value));
            }
            if (findPhysical(value) == null) {
                throw fail("Xen note XEN_ELFNOTE_PHYS32_ENTRY %s lies in no PT_LOAD segment", hex(value));
            }
            phys32Entry = OptionalLong.of(value);
            bootEntry = value;
        } else {
            phys32Entry = OptionalLong.empty();
            if (findPhysical(entry) != null) {
                bootEntry = entry;
            } else {
                LoadSegment s = findVirtual(entry);
                if (s == null) {
                    throw fail("ELF header (offset 0x18): e_entry %s lies in no PT_LOAD segment, and there is no"
                            + " XEN_ELFNOTE_PHYS32_ENTRY note", hex(entry));
                }
                bootEntry = s.physicalAddress() + (entry - s.virtualAddress());
            }
        }
    }

    private void parseNoteSections(long shoff, int shentsize, int shnum, int headerOffset,
                                   TreeMap<Integer, byte[]> notes, long[] budget) throws ElfFormatException {
        boolean is64 = elfClass == ElfClass.ELF64;
        int want = is64 ? SHDR64_SIZE : SHDR32_SIZE;
        if (shentsize != want) {
            throw fail("ELF header (offset 0x%x): e_shentsize %d is not the %s section header size %d",
                    headerOffset, shentsize, elfClass, want);
        }
        if (shnum > MAX_SECTION_HEADERS) {
            throw fail("ELF header (offset 0x%x): e_shnum %d exceeds the limit of %d section headers",
                    headerOffset + 2, shnum, MAX_SECTION_HEADERS);
        }
        long tableSize = (long) shnum * shentsize;
        if (!inFile(shoff, tableSize, file.length)) {
            throw fail("ELF header: the section header table [%s, +%s) extends past the end of the file (size %s)",
                    hex(shoff), hex(tableSize), hex(file.length));
        }
        for (int i = 0; i < shnum; i++) {
            int sh = (int) (shoff + (long) i * shentsize);
            if (u32(sh + 4) != SHT_NOTE) {
                continue;
            }
            long offset = is64 ? u64(sh + 24) : u32(sh + 16);
            long size = is64 ? u64(sh + 32) : u32(sh + 20);
            long align = is64 ? u64(sh + 48) : u32(sh + 32);
            String where = String.format("ELF section header %d (offset %s, SHT_NOTE)", i, hex(sh));
            if (!inFile(offset, size, file.length)) {
                throw fail("%s: note section [%s, +%s) extends past the end of the file (size %s)", where,
                        hex(offset), hex(size), hex(file.length));
            }
            parseNotes(where, offset, size, align == 8 ? 8 : 4, notes, budget);
        }
    }

    /** Scans the notes in {@code [offset, offset + size)} (inside the file) and keeps the Xen ones. */
    private void parseNotes(String where, long offset, long size, int align, TreeMap<Integer, byte[]> notes,
                            long[] budget) throws ElfFormatException {
        if (size > budget[0]) {
            throw fail("%s: note areas total more than the limit of %s bytes", where, hex(MAX_NOTE_BYTES));
        }
        budget[0] -= size;
        long end = offset + size;
        long pos = offset;
        while (pos < end) {
            if (end - pos < NOTE_HEADER_SIZE) {
                throw fail("%s: note at offset %s is truncated: %d bytes left, a note header needs %d", where,
                        hex(pos), end - pos, NOTE_HEADER_SIZE);
            }
            int p = (int) pos;
            long namesz = u32(p);
            long descsz = u32(p + 4);
            int type = (int) u32(p + 8);
            long nameOff = pos + NOTE_HEADER_SIZE;
            if (namesz > end - nameOff) {
                throw fail("%s: note at offset %s: name size %s runs past the end of the note area (%s)", where,
                        hex(pos), hex(namesz), hex(end));
            }
            // as binutils: the descriptor starts at the header plus name, aligned; the next note after it, aligned
            long descOff = Math.min(end, pos + alignUp(NOTE_HEADER_SIZE + namesz, align));
            if (descsz > end - descOff) {
                throw fail("%s: note at offset %s: descriptor size %s runs past the end of the note area (%s)", where,
                        hex(pos), hex(descsz), hex(end));
            }
            if (namesz == XEN_NAME.length
                    && Arrays.equals(file, (int) nameOff, (int) nameOff + XEN_NAME.length, XEN_NAME, 0, XEN_NAME.length)) {
                if (descsz > MAX_XEN_NOTE_SIZE) {
                    throw fail("%s: Xen note at offset %s (type %s) has a %s-byte value, more than the limit of %d",
                            where, hex(pos), Integer.toUnsignedString(type), hex(descsz), MAX_XEN_NOTE_SIZE);
                }
                int from = (int) descOff;
                int to = (int) (descOff + descsz);
                byte[] old = notes.get(type);
                if (old == null) {
                    if (notes.size() >= MAX_XEN_NOTES) {
                        throw fail("%s: more than %d Xen notes", where, MAX_XEN_NOTES);
                    }
                    notes.put(type, Arrays.copyOfRange(file, from, to));
                } else if (!Arrays.equals(old, 0, old.length, file, from, to)) {
                    throw fail("%s: Xen note at offset %s (type %s) conflicts with an earlier note of the same type",
                            where, hex(pos), noteName(type));
                }
            }
            pos = Math.min(end, pos + alignUp(descOff - pos + descsz, align));
        }
    }

    private LoadSegment findPhysical(long gpa) {
        for (LoadSegment s : segments) {
            if (s.containsPhysical(gpa)) {
                return s;
            }
        }
        return null;
    }

    private LoadSegment findVirtual(long va) {
        for (LoadSegment s : segments) {
            if (s.containsVirtual(va)) {
                return s;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ accessors

    public ElfClass elfClass() {
        return elfClass;
    }

    /** {@code e_machine}: {@link #EM_386} or {@link #EM_X86_64}. */
    public int machine() {
        return machine;
    }

    /** {@code e_entry}, as in the file. */
    public long entry() {
        return entry;
    }

    /** The value of {@code XEN_ELFNOTE_PHYS32_ENTRY}, when the image has that note. */
    public OptionalLong phys32Entry() {
        return phys32Entry;
    }

    /**
     * The guest-physical address the boot vCPU starts at: {@code XEN_ELFNOTE_PHYS32_ENTRY} when
     * present; otherwise {@code e_entry}, which the direct-boot convention takes as a physical
     * address. When {@code e_entry} lies in no segment's physical range but in one's virtual range
     * (a kernel linked high with {@code AT()} load addresses), it is translated to the physical
     * address the loader places that byte at. Always inside a {@code PT_LOAD} segment.
     */
    public long bootEntry() {
        return bootEntry;
    }

    /** The {@code PT_LOAD} segments in program-header order (including any with {@code p_memsz} 0). */
    public List<LoadSegment> segments() {
        return segments;
    }

    /** The size of the image file in bytes. */
    public long fileSize() {
        return file.length;
    }

    /** The file bytes of {@code segment} (one of {@link #segments()}), read-only, without copying. */
    public MemorySegment segmentData(LoadSegment segment) {
        if (!segments.contains(segment)) {
            throw new IllegalArgumentException("not a segment of this image: " + segment);
        }
        return MemorySegment.ofArray(file).asSlice(segment.fileOffset(), segment.fileSize()).asReadOnly();
    }

    /** All Xen notes, by type (unsigned, held in an {@code int}); each value a fresh copy of the descriptor. */
    public SortedMap<Integer, byte[]> xenNotes() {
        TreeMap<Integer, byte[]> copy = new TreeMap<>();
        for (Map.Entry<Integer, byte[]> e : xenNotes.entrySet()) {
            copy.put(e.getKey(), e.getValue().clone());
        }
        return copy;
    }

    /** The descriptor of the Xen note of {@code type} (a copy), if any. */
    public Optional<byte[]> xenNote(int type) {
        byte[] v = xenNotes.get(type);
        return v == null ? Optional.empty() : Optional.of(v.clone());
    }

    /**
     * The Xen note of {@code type} read as a little-endian number, as Xen's libelf reads numeric
     * notes: present only when the descriptor is 1, 2, 4 or 8 bytes long.
     */
    public OptionalLong xenNoteNumber(int type) {
        byte[] v = xenNotes.get(type);
        if (v == null) {
            return OptionalLong.empty();
        }
        return switch (v.length) {
            case 1 -> OptionalLong.of(v[0] & 0xffL);
            case 2 -> OptionalLong.of((v[0] & 0xffL) | (v[1] & 0xffL) << 8);
            case 4 -> OptionalLong.of(leU32(v, 0));
            case 8 -> OptionalLong.of(leU64(v, 0));
            default -> OptionalLong.empty();
        };
    }

    @Override
    public String toString() {
        return String.format("ElfImage[%s, %d bytes, entry %s, boot entry %s, %d PT_LOAD, Xen notes %s]",
                elfClass, file.length, hex(entry), hex(bootEntry), segments.size(), xenNotes.keySet());
    }

    // ------------------------------------------------------------------ helpers

    private static String noteName(int type) {
        return switch (type) {
            case XEN_ELFNOTE_ENTRY -> "1 (XEN_ELFNOTE_ENTRY)";
            case XEN_ELFNOTE_HYPERCALL_PAGE -> "2 (XEN_ELFNOTE_HYPERCALL_PAGE)";
            case XEN_ELFNOTE_PHYS32_ENTRY -> "18 (XEN_ELFNOTE_PHYS32_ENTRY)";
            default -> Integer.toUnsignedString(type);
        };
    }

    /** True when {@code [offset, offset + size)} (unsigned values) lies inside a file of {@code length} bytes. */
    private static boolean inFile(long offset, long size, long length) {
        return offset >= 0 && size >= 0 && offset <= length && size <= length - offset;
    }

    /** True when {@code [addr, addr + size)} (unsigned) does not end below 2^64. */
    private static boolean wraps(long addr, long size) {
        return size != 0 && Long.compareUnsigned(addr, -size) >= 0;
    }

    private static long alignUp(long value, int align) {
        return (value + align - 1) & -align; // value < 2^33: no overflow
    }

    private int u16(int off) {
        return (file[off] & 0xff) | (file[off + 1] & 0xff) << 8;
    }

    private long u32(int off) {
        return leU32(file, off);
    }

    private long u64(int off) {
        return leU64(file, off);
    }

    private static long leU32(byte[] b, int off) {
        return (b[off] & 0xffL) | (b[off + 1] & 0xffL) << 8 | (b[off + 2] & 0xffL) << 16 | (b[off + 3] & 0xffL) << 24;
    }

    private static long leU64(byte[] b, int off) {
        return leU32(b, off) | leU32(b, off + 4) << 32;
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private static ElfFormatException fail(String format, Object... args) {
        return new ElfFormatException(String.format(format, args));
    }
}

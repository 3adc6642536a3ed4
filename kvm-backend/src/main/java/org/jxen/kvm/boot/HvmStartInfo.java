package org.jxen.kvm.boot;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jxen.abi.XenElfNote;
import org.jxen.gpc.GuestMemory;

/**
 * The PVH start-of-day structure {@code struct hvm_start_info} ({@code xen/arch-x86/hvm/start_info.h},
 * version 1), whose guest-physical address is in {@code EBX} at the PVH entry.
 *
 * <pre>
 * hvm_start_info (56 bytes, little-endian)       hvm_memmap_table_entry (24 bytes)
 *   0  u32 magic           0x336ec578               0  u64 addr
 *   4  u32 version         1                        8  u64 size
 *   8  u32 flags           0                       16  u32 type  (XEN_HVM_MEMMAP_TYPE_*)
 *  12  u32 nr_modules                              20  u32 reserved (0)
 *  16  u64 modlist_paddr   array of hvm_modlist_entry, or 0
 *  24  u64 cmdline_paddr   NUL-terminated string, or 0      hvm_modlist_entry (32 bytes)
 *  32  u64 rsdp_paddr      the ACPI RSDP, or 0 (no ACPI)       0  u64 paddr
 *  40  u64 memmap_paddr    array of hvm_memmap_table_entry     8  u64 size
 *  48  u32 memmap_entries                                     16  u64 cmdline_paddr (0: none)
 *  52  u32 reserved        0                                  24  u64 reserved (0)
 * </pre>
 *
 * {@link #write} lays out, from an 8-byte aligned {@code gpa}: the structure, the memory map right
 * after it, the module list, then the command line. The modules' contents are the caller's to place.
 * Stateless; safe from any thread.
 */
public final class HvmStartInfo {
    /** The C layout of {@code struct hvm_start_info} (version 1). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("magic"),
            JAVA_INT.withName("version"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("nr_modules"),
            JAVA_LONG.withName("modlist_paddr"),
            JAVA_LONG.withName("cmdline_paddr"),
            JAVA_LONG.withName("rsdp_paddr"),
            JAVA_LONG.withName("memmap_paddr"),
            JAVA_INT.withName("memmap_entries"),
            JAVA_INT.withName("reserved")).withName("hvm_start_info");

    /** The C layout of {@code struct hvm_memmap_table_entry}. */
    public static final StructLayout MEMMAP_ENTRY_LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("addr"),
            JAVA_LONG.withName("size"),
            JAVA_INT.withName("type"),
            JAVA_INT.withName("reserved")).withName("hvm_memmap_table_entry");

    /** The C layout of {@code struct hvm_modlist_entry}. */
    public static final StructLayout MODLIST_ENTRY_LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("paddr"),
            JAVA_LONG.withName("size"),
            JAVA_LONG.withName("cmdline_paddr"),
            JAVA_LONG.withName("reserved")).withName("hvm_modlist_entry");

    public static final long SIZE = LAYOUT.byteSize();
    public static final long MEMMAP_ENTRY_SIZE = MEMMAP_ENTRY_LAYOUT.byteSize();
    public static final long MODLIST_ENTRY_SIZE = MODLIST_ENTRY_LAYOUT.byteSize();
    /** The limit on the number of modules written. */
    public static final int MAX_MODULES = 16;

    public static final long OFFSET_MAGIC = offset(LAYOUT, "magic");
    public static final long OFFSET_VERSION = offset(LAYOUT, "version");
    public static final long OFFSET_FLAGS = offset(LAYOUT, "flags");
    public static final long OFFSET_NR_MODULES = offset(LAYOUT, "nr_modules");
    public static final long OFFSET_MODLIST_PADDR = offset(LAYOUT, "modlist_paddr");
    public static final long OFFSET_CMDLINE_PADDR = offset(LAYOUT, "cmdline_paddr");
    public static final long OFFSET_RSDP_PADDR = offset(LAYOUT, "rsdp_paddr");
    public static final long OFFSET_MEMMAP_PADDR = offset(LAYOUT, "memmap_paddr");
    public static final long OFFSET_MEMMAP_ENTRIES = offset(LAYOUT, "memmap_entries");
    public static final long OFFSET_RESERVED = offset(LAYOUT, "reserved");

    /** {@code XEN_HVM_START_MAGIC_VALUE}. */
    public static final int MAGIC = XenElfNote.HVM_START_MAGIC_VALUE;
    /** The structure version written (1: with the memory map fields). */
    public static final int VERSION = 1;

    public static final int MEMMAP_TYPE_RAM = 1;
    public static final int MEMMAP_TYPE_RESERVED = 2;
    public static final int MEMMAP_TYPE_ACPI = 3;
    public static final int MEMMAP_TYPE_NVS = 4;
    public static final int MEMMAP_TYPE_UNUSABLE = 5;
    public static final int MEMMAP_TYPE_DISABLED = 6;
    public static final int MEMMAP_TYPE_PMEM = 7;

    /** The limit on the number of memory map entries written. */
    public static final int MAX_MEMMAP_ENTRIES = 128;

    private static final long FOUR_GIB = 1L << 32;

    /** One {@code hvm_memmap_table_entry}: {@code [addr, addr + size)} of {@code type}. */
    public record MemmapEntry(long addr, long size, int type) {
    }

    /** One {@code hvm_modlist_entry}: a module of {@code size} bytes at {@code paddr}, without a command line. */
    public record Module(long paddr, long size) {
    }

    /**
     * What an {@code hvm_start_info} says: the command line ({@code null}: none), the memory map,
     * the ACPI RSDP's address (0: none) and the modules (Linux takes the first as its initramfs).
     */
    public record Contents(String cmdline, List<MemmapEntry> memmap, long rsdpPaddr, List<Module> modules) {
        public Contents {
            memmap = List.copyOf(memmap);
            modules = List.copyOf(modules);
        }

        public Contents(String cmdline, List<MemmapEntry> memmap) {
            this(cmdline, memmap, 0, List.of());
        }
    }

    private HvmStartInfo() {
    }

    /** The bytes {@link #write} uses for this command line ({@code null}: none) and memory map. */
    public static long size(String cmdline, List<MemmapEntry> memmap) {
        return size(new Contents(cmdline, memmap));
    }

    /** The bytes {@link #write(GuestMemory, long, Contents)} uses for {@code c}. */
    public static long size(Contents c) {
        long n = SIZE + c.memmap().size() * MEMMAP_ENTRY_SIZE + c.modules().size() * MODLIST_ENTRY_SIZE;
        return c.cmdline() == null ? n : n + c.cmdline().getBytes(StandardCharsets.UTF_8).length + 1;
    }

    /**
     * Writes an {@code hvm_start_info} (version 1, no modules, no ACPI RSDP) at {@code gpa}, the
     * memory map right after it and then {@code cmdline} (UTF-8, NUL-terminated; {@code null} for
     * none, which writes {@code cmdline_paddr} 0).
     *
     * @return the number of bytes used from {@code gpa}, {@link #size(String, List)}
     * @throws IllegalArgumentException when {@code gpa} is not 8-byte aligned, the block does not
     *     end below 4 GiB (EBX is 32 bits), it is not backed by writable guest memory, the command
     *     line contains a NUL, or there are more than {@value #MAX_MEMMAP_ENTRIES} map entries
     */
    public static long write(GuestMemory m, long gpa, String cmdline, List<MemmapEntry> memmap) {
        return write(m, gpa, new Contents(cmdline, memmap));
    }

    /**
     * Writes an {@code hvm_start_info} (version 1) with {@code c} at {@code gpa}: the structure, the
     * memory map, the module list and the command line, in that order.
     *
     * @return the number of bytes used from {@code gpa}, {@link #size(Contents)}
     * @throws IllegalArgumentException as {@link #write(GuestMemory, long, String, List)}, and when
     *     there are more than {@value #MAX_MODULES} modules or a module does not lie below 4 GiB
     */
    public static long write(GuestMemory m, long gpa, Contents c) {
        String cmdline = c.cmdline();
        List<MemmapEntry> memmap = c.memmap();
        List<Module> modules = c.modules();
        if (modules.size() > MAX_MODULES) {
            throw new IllegalArgumentException("more than " + MAX_MODULES + " modules: " + modules.size());
        }
        for (Module mod : modules) {
            if (mod.paddr() < 0 || mod.size() < 0 || mod.paddr() > FOUR_GIB - mod.size()) {
                throw new IllegalArgumentException(String.format("module at 0x%x (+0x%x bytes) does not lie below 4 GiB",
                        mod.paddr(), mod.size()));
            }
        }
        if (memmap.size() > MAX_MEMMAP_ENTRIES) {
            throw new IllegalArgumentException("more than " + MAX_MEMMAP_ENTRIES + " memory map entries: " + memmap.size());
        }
        byte[] cmd = cmdline == null ? null : cmdline.getBytes(StandardCharsets.UTF_8);
        if (cmd != null) {
            for (byte ch : cmd) {
                if (ch == 0) {
                    throw new IllegalArgumentException("the command line contains a NUL character");
                }
            }
        }
        long size = size(c);
        if (gpa < 0 || (gpa & 7) != 0) {
            throw new IllegalArgumentException(String.format("hvm_start_info address 0x%x is not 8-byte aligned", gpa));
        }
        if (gpa > FOUR_GIB - size) {
            throw new IllegalArgumentException(String.format("hvm_start_info at 0x%x (+0x%x bytes) does not end below"
                    + " 4 GiB", gpa, size));
        }
        if (ElfLoader.firstNotWritable(m.currentMap(), gpa, size) != -1) {
            throw new IllegalArgumentException(String.format("hvm_start_info at 0x%x (+0x%x bytes) is not backed by"
                    + " writable guest memory", gpa, size));
        }
        long memmapGpa = gpa + SIZE;
        long modlistGpa = memmapGpa + memmap.size() * MEMMAP_ENTRY_SIZE;
        long cmdlineGpa = modlistGpa + modules.size() * MODLIST_ENTRY_SIZE;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(size, 8);
            buf.set(JAVA_INT, OFFSET_MAGIC, MAGIC);
            buf.set(JAVA_INT, OFFSET_VERSION, VERSION);
            buf.set(JAVA_INT, OFFSET_FLAGS, 0);
            buf.set(JAVA_INT, OFFSET_NR_MODULES, modules.size());
            buf.set(JAVA_LONG, OFFSET_MODLIST_PADDR, modules.isEmpty() ? 0 : modlistGpa);
            buf.set(JAVA_LONG, OFFSET_CMDLINE_PADDR, cmd == null ? 0 : cmdlineGpa);
            buf.set(JAVA_LONG, OFFSET_RSDP_PADDR, c.rsdpPaddr());
            buf.set(JAVA_LONG, OFFSET_MEMMAP_PADDR, memmap.isEmpty() ? 0 : memmapGpa);
            buf.set(JAVA_INT, OFFSET_MEMMAP_ENTRIES, memmap.size());
            buf.set(JAVA_INT, OFFSET_RESERVED, 0);
            for (int i = 0; i < memmap.size(); i++) {
                MemmapEntry e = memmap.get(i);
                long at = SIZE + i * MEMMAP_ENTRY_SIZE;
                buf.set(JAVA_LONG, at + offset(MEMMAP_ENTRY_LAYOUT, "addr"), e.addr());
                buf.set(JAVA_LONG, at + offset(MEMMAP_ENTRY_LAYOUT, "size"), e.size());
                buf.set(JAVA_INT, at + offset(MEMMAP_ENTRY_LAYOUT, "type"), e.type());
                buf.set(JAVA_INT, at + offset(MEMMAP_ENTRY_LAYOUT, "reserved"), 0);
            }
            for (int i = 0; i < modules.size(); i++) {
                Module mod = modules.get(i);
                long at = modlistGpa - gpa + i * MODLIST_ENTRY_SIZE;
                buf.set(JAVA_LONG, at + offset(MODLIST_ENTRY_LAYOUT, "paddr"), mod.paddr());
                buf.set(JAVA_LONG, at + offset(MODLIST_ENTRY_LAYOUT, "size"), mod.size());
                buf.set(JAVA_LONG, at + offset(MODLIST_ENTRY_LAYOUT, "cmdline_paddr"), 0);
                buf.set(JAVA_LONG, at + offset(MODLIST_ENTRY_LAYOUT, "reserved"), 0);
            }
            if (cmd != null) {
                MemorySegment.copy(MemorySegment.ofArray(cmd), 0, buf, cmdlineGpa - gpa, cmd.length);
                buf.set(java.lang.foreign.ValueLayout.JAVA_BYTE, cmdlineGpa - gpa + cmd.length, (byte) 0);
            }
            if (!m.write(gpa, buf)) {
                throw new IllegalArgumentException(String.format("hvm_start_info at 0x%x: the guest memory map changed"
                        + " during the write", gpa));
            }
        }
        return size;
    }

    private static long offset(StructLayout layout, String field) {
        return layout.byteOffset(MemoryLayout.PathElement.groupElement(field));
    }
}

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
 *  12  u32 nr_modules      0                       20  u32 reserved (0)
 *  16  u64 modlist_paddr   0
 *  24  u64 cmdline_paddr   NUL-terminated string, or 0
 *  32  u64 rsdp_paddr      0 (no ACPI)
 *  40  u64 memmap_paddr    array of hvm_memmap_table_entry
 *  48  u32 memmap_entries
 *  52  u32 reserved        0
 * </pre>
 *
 * {@link #write} lays out, from an 8-byte aligned {@code gpa}: the structure, the memory map right
 * after it, then the command line. Stateless; safe from any thread.
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

    public static final long SIZE = LAYOUT.byteSize();
    public static final long MEMMAP_ENTRY_SIZE = MEMMAP_ENTRY_LAYOUT.byteSize();

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

    private HvmStartInfo() {
    }

    /** The bytes {@link #write} uses for this command line ({@code null}: none) and memory map. */
    public static long size(String cmdline, List<MemmapEntry> memmap) {
        long n = SIZE + memmap.size() * MEMMAP_ENTRY_SIZE;
        return cmdline == null ? n : n + cmdline.getBytes(StandardCharsets.UTF_8).length + 1;
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
        if (memmap.size() > MAX_MEMMAP_ENTRIES) {
            throw new IllegalArgumentException("more than " + MAX_MEMMAP_ENTRIES + " memory map entries: " + memmap.size());
        }
        byte[] cmd = cmdline == null ? null : cmdline.getBytes(StandardCharsets.UTF_8);
        if (cmd != null) {
            for (byte c : cmd) {
                if (c == 0) {
                    throw new IllegalArgumentException("the command line contains a NUL character");
                }
            }
        }
        long size = size(cmdline, memmap);
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
        long cmdlineGpa = memmapGpa + memmap.size() * MEMMAP_ENTRY_SIZE;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(size, 8);
            buf.set(JAVA_INT, OFFSET_MAGIC, MAGIC);
            buf.set(JAVA_INT, OFFSET_VERSION, VERSION);
            buf.set(JAVA_INT, OFFSET_FLAGS, 0);
            buf.set(JAVA_INT, OFFSET_NR_MODULES, 0);
            buf.set(JAVA_LONG, OFFSET_MODLIST_PADDR, 0);
            buf.set(JAVA_LONG, OFFSET_CMDLINE_PADDR, cmd == null ? 0 : cmdlineGpa);
            buf.set(JAVA_LONG, OFFSET_RSDP_PADDR, 0);
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

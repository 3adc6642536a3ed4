package org.jxen.kvm.boot;

import static org.jxen.kvm.boot.ElfImageTest.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jxen.gpc.Memslot;
import org.jxen.kvm.boot.HvmStartInfo.MemmapEntry;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HvmStartInfoTest {
    private static final boolean CI = "true".equals(System.getenv("CI"));
    private static final String INCLUDE_DIR = System.getenv().getOrDefault("XEN_INCLUDE_DIR", "/usr/include");

    @Test
    void layoutIsPinned() {
        assertEquals(56, HvmStartInfo.SIZE);
        assertEquals(24, HvmStartInfo.MEMMAP_ENTRY_SIZE);
        assertEquals(0, HvmStartInfo.OFFSET_MAGIC);
        assertEquals(4, HvmStartInfo.OFFSET_VERSION);
        assertEquals(8, HvmStartInfo.OFFSET_FLAGS);
        assertEquals(12, HvmStartInfo.OFFSET_NR_MODULES);
        assertEquals(16, HvmStartInfo.OFFSET_MODLIST_PADDR);
        assertEquals(24, HvmStartInfo.OFFSET_CMDLINE_PADDR);
        assertEquals(32, HvmStartInfo.OFFSET_RSDP_PADDR);
        assertEquals(40, HvmStartInfo.OFFSET_MEMMAP_PADDR);
        assertEquals(48, HvmStartInfo.OFFSET_MEMMAP_ENTRIES);
        assertEquals(52, HvmStartInfo.OFFSET_RESERVED);
        assertEquals(0x336ec578, HvmStartInfo.MAGIC);
    }

    @Test
    void writesTheStructureMemoryMapAndCommandLine() {
        List<MemmapEntry> map = List.of(new MemmapEntry(0, 0xa0000, HvmStartInfo.MEMMAP_TYPE_RAM),
                new MemmapEntry(0xf0000, 0x10000, HvmStartInfo.MEMMAP_TYPE_RESERVED),
                new MemmapEntry(0x100000, 0x3f00000, HvmStartInfo.MEMMAP_TYPE_RAM));
        long gpa = 0x2000;
        try (TestGuest g = new TestGuest().slot(0, 0x10000)) {
            long used = HvmStartInfo.write(g.memory, gpa, "console=hvc0 é", map);
            assertEquals(56 + 3 * 24 + "console=hvc0 é".getBytes(StandardCharsets.UTF_8).length + 1, used);
            assertEquals(used, HvmStartInfo.size("console=hvc0 é", map));
            assertEquals(0x336ec578, g.memory.getInt(gpa));
            assertEquals(1, g.memory.getInt(gpa + 4));
            assertEquals(0, g.memory.getInt(gpa + 8));
            assertEquals(0, g.memory.getInt(gpa + 12));
            assertEquals(0, g.memory.getLong(gpa + 16));
            long cmdline = g.memory.getLong(gpa + 24);
            assertEquals(gpa + 56 + 3 * 24, cmdline);
            assertEquals(0, g.memory.getLong(gpa + 32));
            assertEquals(gpa + 56, g.memory.getLong(gpa + 40));
            assertEquals(3, g.memory.getInt(gpa + 48));
            assertEquals(0, g.memory.getInt(gpa + 52));
            for (int i = 0; i < map.size(); i++) {
                long e = gpa + 56 + i * 24L;
                assertEquals(map.get(i).addr(), g.memory.getLong(e));
                assertEquals(map.get(i).size(), g.memory.getLong(e + 8));
                assertEquals(map.get(i).type(), g.memory.getInt(e + 16));
                assertEquals(0, g.memory.getInt(e + 20));
            }
            byte[] want = "console=hvc0 é\0".getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], g.get(cmdline + i));
            }
            assertEquals(TestGuest.MARKER, g.get(gpa + used), "nothing written past the end");
            assertEquals(TestGuest.MARKER, g.get(gpa - 1));
        }
    }

    @Test
    void noCommandLineAndNoMemoryMapAreZeroAddresses() {
        try (TestGuest g = new TestGuest().slot(0, 0x1000)) {
            assertEquals(56, HvmStartInfo.write(g.memory, 0x100, null, List.of()));
            assertEquals(0, g.memory.getLong(0x100 + 24));
            assertEquals(0, g.memory.getLong(0x100 + 40));
            assertEquals(0, g.memory.getInt(0x100 + 48));
        }
    }

    @Test
    void writesModulesAndTheRsdp() {
        List<MemmapEntry> map = List.of(new MemmapEntry(0, 0x10000, HvmStartInfo.MEMMAP_TYPE_RAM));
        List<HvmStartInfo.Module> mods = List.of(new HvmStartInfo.Module(0x200000, 12345),
                new HvmStartInfo.Module(0x300000, 0));
        HvmStartInfo.Contents c = new HvmStartInfo.Contents("x", map, 0xe0000, mods);
        try (TestGuest g = new TestGuest().slot(0, 0x10000)) {
            long gpa = 0x1000;
            long used = HvmStartInfo.write(g.memory, gpa, c);
            assertEquals(56 + 24 + 2 * 32 + 2, used);
            assertEquals(used, HvmStartInfo.size(c));
            assertEquals(2, g.memory.getInt(gpa + 12), "nr_modules");
            long modlist = g.memory.getLong(gpa + 16);
            assertEquals(gpa + 56 + 24, modlist, "after the memory map");
            assertEquals(0xe0000, g.memory.getLong(gpa + 32), "rsdp_paddr");
            assertEquals(modlist + 2 * 32, g.memory.getLong(gpa + 24), "the command line after the module list");
            assertEquals(0x200000, g.memory.getLong(modlist));
            assertEquals(12345, g.memory.getLong(modlist + 8));
            assertEquals(0, g.memory.getLong(modlist + 16), "no module command line");
            assertEquals(0, g.memory.getLong(modlist + 24));
            assertEquals(0x300000, g.memory.getLong(modlist + 32));
            assertEquals(0, g.memory.getLong(modlist + 40));
            assertEquals('x', g.get(modlist + 64));
            assertEquals(0, g.get(modlist + 65));
        }
    }

    @Test
    void refusesModulesItCannotDescribe() {
        List<HvmStartInfo.Module> tooMany = new ArrayList<>();
        for (int i = 0; i <= HvmStartInfo.MAX_MODULES; i++) {
            tooMany.add(new HvmStartInfo.Module(i * 0x1000L, 1));
        }
        try (TestGuest g = new TestGuest().slot(0, 0x1000)) {
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> HvmStartInfo.write(g.memory, 0, new HvmStartInfo.Contents(null, List.of(), 0, tooMany))),
                    "more than 16 modules");
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> HvmStartInfo.write(g.memory, 0, new HvmStartInfo.Contents(null, List.of(), 0,
                            List.of(new HvmStartInfo.Module((1L << 32) - 10, 11))))), "does not lie below 4 GiB");
            assertTrue(g.untouched());
        }
    }

    @Test
    void refusesWhatDoesNotFit() {
        try (TestGuest g = new TestGuest().slot(0, 0x1000).slot(0x1000, 0x1000, Memslot.READONLY)) {
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> HvmStartInfo.write(g.memory, 0x104, "", List.of())), "not 8-byte aligned");
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> HvmStartInfo.write(g.memory, 0xff8, "", List.of())), "not backed by writable guest memory");
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> HvmStartInfo.write(g.memory, 0x2000, "", List.of())), "not backed");
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> HvmStartInfo.write(g.memory, (1L << 32) - 8, "", List.of())), "does not end below 4 GiB");
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> HvmStartInfo.write(g.memory, 0, "a\0b", List.of())), "contains a NUL");
            List<MemmapEntry> tooMany = new ArrayList<>();
            for (int i = 0; i <= HvmStartInfo.MAX_MEMMAP_ENTRIES; i++) {
                tooMany.add(new MemmapEntry(i * 0x1000L, 0x1000, 1));
            }
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> HvmStartInfo.write(g.memory, 0, null, tooMany)), "more than 128 memory map entries");
            assertTrue(g.untouched());
        }
    }

    // ------------------------------------------------------------------ against Xen's header

    @TempDir
    Path dir;

    @ParameterizedTest(name = "gcc -m{0}")
    @ValueSource(ints = {64, 32})
    void layoutsMatchXensHeader(int bits) throws Exception {
        Path header = Path.of(INCLUDE_DIR, "xen/arch-x86/hvm/start_info.h");
        if (!Files.isRegularFile(header)) {
            skip("no Xen public headers at " + header);
        }
        Map<String, Long> expected = new LinkedHashMap<>();
        StringBuilder body = new StringBuilder();
        describe(HvmStartInfo.LAYOUT, "struct hvm_start_info", expected, body);
        describe(HvmStartInfo.MEMMAP_ENTRY_LAYOUT, "struct hvm_memmap_table_entry", expected, body);
        describe(HvmStartInfo.MODLIST_ENTRY_LAYOUT, "struct hvm_modlist_entry", expected, body);
        String[] macros = {"XEN_HVM_START_MAGIC_VALUE", "XEN_HVM_MEMMAP_TYPE_RAM", "XEN_HVM_MEMMAP_TYPE_RESERVED",
            "XEN_HVM_MEMMAP_TYPE_ACPI", "XEN_HVM_MEMMAP_TYPE_NVS", "XEN_HVM_MEMMAP_TYPE_UNUSABLE",
            "XEN_HVM_MEMMAP_TYPE_DISABLED", "XEN_HVM_MEMMAP_TYPE_PMEM"};
        long[] values = {HvmStartInfo.MAGIC, HvmStartInfo.MEMMAP_TYPE_RAM, HvmStartInfo.MEMMAP_TYPE_RESERVED,
            HvmStartInfo.MEMMAP_TYPE_ACPI, HvmStartInfo.MEMMAP_TYPE_NVS, HvmStartInfo.MEMMAP_TYPE_UNUSABLE,
            HvmStartInfo.MEMMAP_TYPE_DISABLED, HvmStartInfo.MEMMAP_TYPE_PMEM};
        for (int i = 0; i < macros.length; i++) {
            expected.put(macros[i], values[i]);
            body.append("    printf(\"%s %lld\\n\", \"").append(macros[i]).append("\", (long long) (")
                    .append(macros[i]).append("));\n");
        }
        String program = "#include <stdint.h>\n#include <stddef.h>\n#include <stdio.h>\n"
                + "#include <xen/arch-x86/hvm/start_info.h>\nint main(void) {\n" + body + "    return 0;\n}\n";
        Map<String, Long> actual = new LinkedHashMap<>();
        for (String line : compileAndRun(bits, program).split("\n")) {
            if (!line.isBlank()) {
                String[] kv = line.trim().split(" ");
                actual.put(kv[0], Long.parseLong(kv[1]));
            }
        }
        assertEquals(expected, actual, "layouts and constants vs " + header + " (gcc -m" + bits + ")");
        System.out.printf("HvmStartInfo vs %s (-m%d): %d values match%n", header, bits, expected.size());
    }

    private static void describe(StructLayout layout, String cType, Map<String, Long> expected, StringBuilder body) {
        String name = layout.name().orElseThrow();
        expected.put(name + ".sizeof", layout.byteSize());
        body.append("    printf(\"%s %lu\\n\", \"").append(name).append(".sizeof\", (unsigned long) sizeof(")
                .append(cType).append("));\n");
        for (MemoryLayout m : layout.memberLayouts()) {
            String f = m.name().orElseThrow();
            expected.put(name + "." + f + ".offset", layout.byteOffset(MemoryLayout.PathElement.groupElement(f)));
            expected.put(name + "." + f + ".size", m.byteSize());
            body.append("    printf(\"%s %lu\\n\", \"").append(name).append('.').append(f)
                    .append(".offset\", (unsigned long) offsetof(").append(cType).append(", ").append(f).append("));\n");
            body.append("    printf(\"%s %lu\\n\", \"").append(name).append('.').append(f)
                    .append(".size\", (unsigned long) sizeof(((").append(cType).append(" *) 0)->").append(f)
                    .append("));\n");
        }
    }

    private String compileAndRun(int bits, String program) throws IOException, InterruptedException {
        Path src = Files.writeString(dir.resolve("start_info" + bits + ".c"), program);
        Path exe = dir.resolve("start_info" + bits);
        String log = run(List.of("gcc", "-m" + bits, "-I", INCLUDE_DIR, "-o", exe.toString(), src.toString()), bits);
        if (log == null) {
            return "";
        }
        String out = run(List.of(exe.toString()), bits);
        return out == null ? "" : out;
    }

    private static String run(List<String> cmd, int bits) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            skip(cmd.get(0) + " is not available (" + e.getMessage() + ")");
            return null;
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(cmd + " timed out");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            if (bits == 32 && cmd.get(0).equals("gcc") && (out.contains("cannot find") || out.contains("No such file"))) {
                skip("gcc -m32 cannot build 32-bit programs here:\n" + out);
            }
            fail(String.join(" ", cmd) + " failed:\n" + out);
        }
        return out;
    }

    private static void skip(String why) {
        if (CI) {
            fail("CI=true and " + why);
        }
        System.err.println("SKIPPED: HvmStartInfoTest: " + why);
        Assumptions.abort(why);
    }
}

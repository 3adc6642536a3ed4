package org.jxen.kvm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Builds a tiny freestanding kernel with the real toolchain ({@code gcc -m32} and {@code -m64},
 * linked at 1 MiB, with a {@code XEN_ELFNOTE_PHYS32_ENTRY} note in a {@code .note.Xen} section),
 * parses and loads it. Without gcc (or its 32-bit support) the test is skipped loudly, except
 * under {@code CI=true}, where that is a failure.
 */
class RealElfTest {
    private static final boolean CI = "true".equals(System.getenv("CI"));
    private static final long KERNEL = 0x100000;
    private static final int DATA_MAGIC = 0x1badb002 ^ 0x5a5a5a5a;

    private static final String SOURCE = """
            __asm__(".pushsection .note.Xen,\\"a\\",@note\\n"
                    ".balign 4\\n"
                    ".long 4\\n"          /* namesz */
                    ".long 4\\n"          /* descsz */
                    ".long 18\\n"         /* XEN_ELFNOTE_PHYS32_ENTRY */
                    ".asciz \\"Xen\\"\\n"
                    ".balign 4\\n"
                    ".long pvh_start\\n"
                    ".balign 4\\n"
                    ".popsection\\n");
            volatile unsigned int data_word = %d;
            unsigned char bss_buf[16384];
            void _start(void) { for (;;) __asm__ volatile("hlt"); }
            void pvh_start(void) { bss_buf[0] = (unsigned char) data_word; for (;;) __asm__ volatile("hlt"); }
            """.formatted(DATA_MAGIC);

    private static final String LINKER_SCRIPT = """
            ENTRY(_start)
            SECTIONS {
              . = 0x100000;
              .text : { *(.text*) }
              .rodata : { *(.rodata*) }
              .note.Xen : { *(.note.Xen) }
              . = ALIGN(0x1000);
              .data : { *(.data*) }
              .bss : { *(.bss*) *(COMMON) }
              /DISCARD/ : { *(.eh_frame*) *(.comment) *(.note.GNU-stack) *(.note.gnu*) }
            }
            """;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "gcc -m{0}")
    @ValueSource(ints = {32, 64})
    void parsesAndLoadsAKernelBuiltByGcc(int bits) throws Exception {
        Path elf = compile(bits);
        ElfImage img = ElfImage.read(elf);
        assertEquals(bits == 64 ? ElfImage.ElfClass.ELF64 : ElfImage.ElfClass.ELF32, img.elfClass());
        assertTrue(img.phys32Entry().isPresent(), "the .note.Xen PHYS32_ENTRY note was found: " + img);
        assertTrue(img.bootEntry() != img.entry(), "pvh_start, not _start: " + img);
        assertEquals(img.phys32Entry().getAsLong(), img.bootEntry());
        long start = img.segments().stream().mapToLong(LoadSegment::physicalAddress).min().orElseThrow();
        assertEquals(KERNEL, start);

        try (TestGuest g = new TestGuest().slot(0, 4L << 20)) {
            LoadedKernel k = ElfLoader.load(img, g.memory);
            assertEquals(img.bootEntry(), k.entry());
            assertTrue(k.physicalEnd() - k.physicalStart() >= 16384, "the BSS is inside the loaded range: " + k);
            // every segment's file bytes are at its paddr, and its BSS is zero
            for (LoadSegment s : img.segments()) {
                MemorySegment want = img.segmentData(s);
                for (long i = 0; i < s.memorySize(); i++) {
                    byte expected = i < s.fileSize() ? want.get(ValueLayout.JAVA_BYTE, i) : 0;
                    if (g.get(s.physicalAddress() + i) != expected) {
                        fail(String.format("%s: byte at 0x%x", s, s.physicalAddress() + i));
                    }
                }
            }
            assertTrue(findInt(g, k, DATA_MAGIC), "the initialised data word was loaded");
            assertEquals(TestGuest.MARKER, g.get(k.physicalEnd()), "nothing past the kernel was written");
            assertEquals(TestGuest.MARKER, g.get(k.physicalStart() - 1));
            BootState st = BootState.pvh32(k.entry(), 0x1000);
            assertEquals(img.bootEntry(), st.rip());
        }
    }

    private static boolean findInt(TestGuest g, LoadedKernel k, int value) {
        for (long a = k.physicalStart(); a + 4 <= k.physicalEnd(); a += 4) {
            if (g.memory.getInt(a) == value) {
                return true;
            }
        }
        return false;
    }

    private Path compile(int bits) throws IOException, InterruptedException {
        Path src = Files.writeString(dir.resolve("kernel.c"), SOURCE);
        Path ld = Files.writeString(dir.resolve("kernel.ld"), LINKER_SCRIPT);
        Path out = dir.resolve("kernel" + bits + ".elf");
        List<String> cmd = new ArrayList<>(List.of("gcc", "-m" + bits, "-O1", "-ffreestanding", "-nostdlib", "-static",
                "-fno-pic", "-no-pie", "-fno-asynchronous-unwind-tables", "-Wl,--build-id=none",
                "-Wl,-z,max-page-size=0x1000", "-T", ld.toString(), "-o", out.toString(), src.toString()));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            skip("gcc is not available (" + e.getMessage() + ")");
            throw e;
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("gcc timed out");
        }
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            if (bits == 32 && (log.contains("cannot find") || log.contains("No such file") || log.contains("i386"))) {
                skip("gcc -m32 cannot build 32-bit code here:\n" + log);
            }
            fail("gcc failed:\n" + String.join(" ", cmd) + "\n" + log);
        }
        return out;
    }

    private static void skip(String why) {
        if (CI) {
            fail("CI=true and " + why);
        }
        System.err.println("SKIPPED: RealElfTest: " + why);
        Assumptions.abort(why);
    }
}

package org.jxen.kvm.boot;

import static org.jxen.kvm.boot.ElfBuilder.bytes;
import static org.jxen.kvm.boot.ElfBuilder.le64;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Seeded random mutations of valid images: each mutant either parses and loads inside guest RAM,
 * or fails with {@link ElfFormatException} / {@link ElfLoadException}. Any other throwable (index
 * out of bounds, negative array size, arithmetic, out of memory) fails the test with the seed and
 * iteration, and so does a mutant that takes too long.
 */
class ElfFuzzTest {
    private static final int ITERATIONS = 10_000;
    private static final long KERNEL = 0x100000;
    private static final long RAM = 4L << 20;
    private static final long SLOW_NANOS = 2_000_000_000L;

    private static final long[] INTERESTING = {
        0, 1, 2, 3, 4, 7, 8, 12, 16, 0x20, 0x34, 0x38, 0x40, 0xff, 0x100, 0x1000, 0xffff, 0x10000,
        KERNEL, KERNEL + 0x10, RAM - 1, RAM, 0x7fff_ffffL, 0x8000_0000L, 0xffff_fffeL, 0xffff_ffffL,
        1L << 32, (1L << 32) + 1, Long.MAX_VALUE, Long.MIN_VALUE, -1, -2, -0x1000,
    };

    private static List<ElfBuilder> bases() {
        ElfBuilder notes32 = ElfBuilder.elf32().entry(KERNEL)
                .load(KERNEL, bytes(0x180, 1), 0x180, 5)
                .load(KERNEL + 0x1000, bytes(0x40, 2), 0x3000, 6)
                .note("GNU", 3, bytes(8, 3))
                .phys32Entry(KERNEL + 0x20)
                .xenNote(ElfImage.XEN_ELFNOTE_HYPERCALL_PAGE, ElfBuilder.le32((int) KERNEL + 0x1000));
        ElfBuilder notes64 = ElfBuilder.elf64().entry(KERNEL)
                .load(KERNEL, 0xffffffff80000000L, bytes(0x180, 4), 0x200, 5)
                .load(KERNEL + 0x2000, 0xffffffff80002000L, bytes(0x80, 5), 0x80, 6)
                .xenNote(ElfImage.XEN_ELFNOTE_PHYS32_ENTRY, le64(KERNEL + 0x40))
                .xenNote(6, "xen-3.0".getBytes());
        ElfBuilder sections64 = ElfBuilder.simple(true, KERNEL, bytes(0x100, 6), 0x1000).phys32Entry(KERNEL + 8);
        sections64.notesInSection = true;
        ElfBuilder sections32 = ElfBuilder.simple(false, KERNEL, bytes(0x100, 7), 0x100).phys32Entry(KERNEL + 8);
        sections32.notesInSection = true;
        ElfBuilder aligned8 = ElfBuilder.simple(true, KERNEL, bytes(0x60, 8), 0x20).note("GNU", 5, bytes(16, 1))
                .phys32Entry(KERNEL);
        aligned8.noteAlign = 8;
        return List.of(ElfBuilder.simple(false, KERNEL, bytes(0x100, 1), 0x200),
                ElfBuilder.simple(true, KERNEL, bytes(0x100, 2), 0x200), notes32, notes64, sections64, sections32,
                aligned8);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 0x5eed, 20250901})
    void mutantsParseAndLoadOrFailCleanly(long seed) throws Exception {
        System.out.println("ElfFuzzTest seed " + seed);
        Random rnd = new Random(seed);
        List<ElfBuilder> builders = bases();
        int parsed = 0;
        int loaded = 0;
        int rejected = 0;
        long slowest = 0;
        try (TestGuest g = new TestGuest().slot(0, RAM)) {
            for (int it = 0; it < ITERATIONS; it++) {
                ElfBuilder b = builders.get(rnd.nextInt(builders.size()));
                byte[] file = mutate(b, b.build(), rnd);
                long t0 = System.nanoTime();
                try {
                    ElfImage img = ElfImage.parse(file);
                    parsed++;
                    LoadedKernel k = ElfLoader.load(img, g.memory);
                    loaded++;
                    assertTrue(k.physicalStart() >= 0 && k.physicalEnd() <= RAM && k.entry() >= k.physicalStart()
                            && k.entry() < k.physicalEnd(), () -> "seed " + seed + ": loaded outside RAM: " + k);
                } catch (ElfFormatException | ElfLoadException expected) {
                    rejected++;
                    if (expected.getMessage() == null || expected.getMessage().isBlank()) {
                        throw new AssertionError("seed " + seed + " iteration " + it + ": empty message", expected);
                    }
                } catch (Throwable t) {
                    throw new AssertionError("seed " + seed + " iteration " + it + ": unexpected " + t
                            + "\nmutant: " + hexDump(file), t);
                }
                long took = System.nanoTime() - t0;
                slowest = Math.max(slowest, took);
                if (took > SLOW_NANOS) {
                    throw new AssertionError("seed " + seed + " iteration " + it + " took " + took / 1_000_000 + " ms");
                }
            }
        }
        System.out.printf("ElfFuzzTest seed %d: %d mutants, %d parsed, %d loaded, %d rejected, slowest %d us%n",
                seed, ITERATIONS, parsed, loaded, rejected, slowest / 1000);
        assertTrue(loaded > 0 && rejected > 0, "the mutations should produce both outcomes");
    }

    private static byte[] mutate(ElfBuilder b, byte[] f, Random rnd) {
        int rounds = 1 + rnd.nextInt(3);
        for (int r = 0; r < rounds; r++) {
            switch (rnd.nextInt(7)) {
                case 0 -> { // bit flips
                    for (int i = 1 + rnd.nextInt(8); i > 0 && f.length > 0; i--) {
                        f[rnd.nextInt(f.length)] ^= (byte) (1 << rnd.nextInt(8));
                    }
                }
                case 1 -> f = Arrays.copyOf(f, rnd.nextInt(f.length + 1)); // truncation
                case 2 -> { // extension with random bytes
                    int old = f.length;
                    f = Arrays.copyOf(f, old + 1 + rnd.nextInt(256));
                    for (int i = old; i < f.length; i++) {
                        f[i] = (byte) rnd.nextInt();
                    }
                }
                case 3 -> f = setField(f, rnd.nextInt(b.ehsize()), rnd); // ELF header field
                case 4 -> { // program header field
                    int phnum = Math.max(1, b.phnum());
                    f = setField(f, b.ph(rnd.nextInt(phnum)) + rnd.nextInt(b.phentsize()), rnd);
                }
                case 5 -> f = setField(f, rnd.nextInt(Math.max(1, f.length)), rnd); // anywhere (notes, sections)
                default -> { // a byte set to a random value
                    if (f.length > 0) {
                        f[rnd.nextInt(f.length)] = (byte) rnd.nextInt();
                    }
                }
            }
        }
        return f;
    }

    /** Writes an interesting or random 1/2/4/8-byte little-endian value at {@code off} (inside the file). */
    private static byte[] setField(byte[] f, int off, Random rnd) {
        int width = new int[] {1, 2, 4, 8}[rnd.nextInt(4)];
        long v = rnd.nextBoolean() ? INTERESTING[rnd.nextInt(INTERESTING.length)] : rnd.nextLong();
        if (rnd.nextInt(4) == 0) {
            v += rnd.nextInt(17) - 8;
        }
        for (int i = 0; i < width && off + i < f.length; i++) {
            f[off + i] = (byte) (v >>> (8 * i));
        }
        return f;
    }

    private static String hexDump(byte[] f) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(f.length, 512); i++) {
            sb.append(String.format("%02x", f[i] & 0xff)).append(i % 32 == 31 ? "\n" : " ");
        }
        return sb.append(f.length > 512 ? "... (" + f.length + " bytes)" : "").toString();
    }
}

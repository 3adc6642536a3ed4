package org.jxen.hypercalls.mm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The walker against a reference model over random page tables: the generator keeps the tables as
 * objects (what each entry is meant to be: absent, with a reserved bit, a page, a table outside RAM,
 * a table), writes their encoding into guest memory, and predicts every translation from the objects.
 */
class PageWalkerPropertyTest {
    static final int MAX_PHY = 40;

    /** An entry as the generator meant it. */
    sealed interface Entry permits Absent, Reserved, Leaf, Table, Outside {
    }

    record Absent() implements Entry {
    }

    record Reserved() implements Entry {
    }

    record Leaf(long gpa, long size, boolean rw, boolean us) implements Entry {
    }

    record Outside(boolean rw, boolean us) implements Entry {
    }

    static final class Table implements Entry {
        final int level;
        final long gpa;
        final boolean rw;
        final boolean us;
        final TreeMap<Integer, Entry> entries = new TreeMap<>();

        Table(int level, long gpa, boolean rw, boolean us) {
            this.level = level;
            this.gpa = gpa;
            this.rw = rw;
            this.us = us;
        }
    }

    static List<Arguments> seeds() {
        List<Arguments> a = new ArrayList<>();
        long base = System.getProperty("jxen.seed") != null ? Long.parseLong(System.getProperty("jxen.seed"))
                : 0x5eed_0000L;
        for (PagingMode mode : new PagingMode[] {PagingMode.FOUR_LEVEL, PagingMode.PAE, PagingMode.TWO_LEVEL}) {
            for (int i = 0; i < 8; i++) {
                a.add(Arguments.of(mode, base + i));
            }
        }
        return a;
    }

    /** Index bits per level and entry size of each mode. */
    static int indexBits(PagingMode mode, int level) {
        return switch (mode) {
            case TWO_LEVEL -> 10;
            case PAE -> level == 3 ? 2 : 9;
            default -> 9;
        };
    }

    static int shift(PagingMode mode, int level) {
        return mode == PagingMode.TWO_LEVEL ? 12 + 10 * (level - 1) : 12 + 9 * (level - 1);
    }

    static int topLevel(PagingMode mode) {
        return switch (mode) {
            case TWO_LEVEL -> 2;
            case PAE -> 3;
            default -> 4;
        };
    }

    static boolean largeAllowed(PagingMode mode, int level) {
        return switch (mode) {
            case FOUR_LEVEL -> level == 3 || level == 2;
            case PAE -> level == 2;
            case TWO_LEVEL -> level == 2;
            default -> false;
        };
    }

    final class Gen {
        final Random r;
        final PagingMode mode;
        final TestGuest g;

        Gen(Random r, PagingMode mode, TestGuest g) {
            this.r = r;
            this.mode = mode;
            this.g = g;
        }

        Table build(int level, long gpa, boolean rw, boolean us) {
            Table t = new Table(level, gpa, rw, us);
            int slots = 1 << indexBits(mode, level);
            int n = level == topLevel(mode) ? 3 : 1 + r.nextInt(3);
            for (int i = 0; i < n; i++) {
                int idx = r.nextInt(slots);
                t.entries.put(idx, entry(level));
            }
            return t;
        }

        Entry entry(int level) {
            boolean pdpte = mode == PagingMode.PAE && level == 3;
            boolean rw = pdpte || r.nextInt(4) != 0;
            boolean us = pdpte || r.nextInt(4) != 0;
            int k = r.nextInt(20);
            if (k == 0) {
                return new Absent();
            }
            if (k == 1 && mode != PagingMode.TWO_LEVEL) {
                return new Reserved();
            }
            if (k == 2 && level > 1) {
                return new Outside(rw, us);
            }
            if (level == 1 || (k < 7 && largeAllowed(mode, level))) {
                long size = 1L << shift(mode, level);
                long gpaLimit = mode == PagingMode.TWO_LEVEL && level == 1 ? 1L << 32 : 1L << MAX_PHY; // PSE-36: 40 bits
                long gpa = (r.nextLong() & (gpaLimit - 1)) & -size;
                return new Leaf(gpa, size, rw, us);
            }
            return build(level - 1, g.newTable(), rw, us);
        }

        /** Writes the tables' encoding into guest memory. */
        void write(Table t) {
            for (var e : t.entries.entrySet()) {
                int idx = e.getKey();
                long bits = encode(t.level, e.getValue());
                if (mode == PagingMode.TWO_LEVEL) {
                    g.put32(t.gpa + 4L * idx, (int) bits);
                } else {
                    g.put64(t.gpa + 8L * idx, bits);
                }
                if (e.getValue() instanceof Table child) {
                    write(child);
                }
            }
        }

        long encode(int level, Entry e) {
            boolean pdpte = mode == PagingMode.PAE && level == 3;
            long junk = r.nextBoolean() ? 0x20 | 0x40 : 0; // accessed, dirty: no meaning for the walk
            if (pdpte) {
                junk = 0;
            }
            return switch (e) {
                case Absent a -> (r.nextLong() & ~1L) & (mode == PagingMode.TWO_LEVEL ? 0xffff_ffffL : -1L);
                case Reserved x -> 1 | (pdpte ? 0 : 6) | (level == 4 && r.nextBoolean() ? 0x80 : 1L << (MAX_PHY + r
                        .nextInt(mode == PagingMode.FOUR_LEVEL ? 52 - MAX_PHY : 63 - MAX_PHY)));
                case Leaf l -> {
                    long bits = 1 | junk | flags(pdpte, l.rw(), l.us());
                    if (l.size() > 4096) {
                        bits |= 0x80;
                        if (mode == PagingMode.TWO_LEVEL) {
                            yield bits | (l.gpa() & 0xffc0_0000L) | ((l.gpa() >>> 32) << 13);
                        }
                    }
                    yield bits | l.gpa();
                }
                case Outside o -> 1 | flags(pdpte, o.rw(), o.us()) | (g.ram.size() + 0x1000L * r.nextInt(100));
                case Table t -> 1 | junk | flags(pdpte, t.rw, t.us) | t.gpa;
            };
        }

        long flags(boolean pdpte, boolean rw, boolean us) {
            return pdpte ? 0 : (rw ? 2 : 0) | (us ? 4 : 0);
        }

        /** A random address, most often one that follows populated entries. */
        long address(Table root) {
            long gva = 0;
            Table t = root;
            while (t != null) {
                int idx;
                if (r.nextInt(8) == 0 || t.entries.isEmpty()) {
                    idx = r.nextInt(1 << indexBits(mode, t.level));
                } else {
                    idx = new ArrayList<>(t.entries.keySet()).get(r.nextInt(t.entries.size()));
                }
                gva |= (long) idx << shift(mode, t.level);
                Entry e = t.entries.get(idx);
                t = e instanceof Table child ? child : null;
            }
            gva |= r.nextLong() & ((1L << 12) - 1);
            if (mode == PagingMode.FOUR_LEVEL) {
                gva = (gva << 16) >> 16;
                if (r.nextInt(50) == 0) {
                    gva ^= 1L << (48 + r.nextInt(16));
                }
            }
            return gva;
        }
    }

    /** The model's prediction: a gpa, or a fault code as {@link PageWalker} encodes it. */
    static long expect(PagingMode mode, Table root, long gva, PagingState s, Access access) {
        if (mode == PagingMode.FOUR_LEVEL && ((gva << 16) >> 16) != gva) {
            return PageWalker.failure(WalkFault.NON_CANONICAL, 0);
        }
        boolean rw = true;
        boolean us = true;
        Table t = root;
        while (true) {
            int level = t.level;
            int idx = (int) ((gva >>> shift(mode, level)) & ((1 << indexBits(mode, level)) - 1));
            Entry e = t.entries.getOrDefault(idx, new Absent());
            switch (e) {
                case Absent a -> {
                    return PageWalker.failure(WalkFault.NOT_PRESENT, level);
                }
                case Reserved x -> {
                    return PageWalker.failure(WalkFault.RESERVED_BIT, level);
                }
                case Outside o -> {
                    return PageWalker.failure(WalkFault.TABLE_NOT_IN_RAM, level - 1);
                }
                case Table child -> {
                    rw &= child.rw;
                    us &= child.us;
                    t = child;
                }
                case Leaf l -> {
                    rw &= l.rw();
                    us &= l.us();
                    if (s.userMode() && !us) {
                        return PageWalker.failure(WalkFault.USER_TO_SUPERVISOR_PAGE, 0);
                    }
                    if (access == Access.WRITE && !rw && (s.userMode() || s.writeProtect())) {
                        return PageWalker.failure(WalkFault.WRITE_TO_READ_ONLY, 0);
                    }
                    return l.gpa() + (gva & (l.size() - 1));
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("seeds")
    void walkerAgreesWithTheModel(PagingMode mode, long seed) {
        System.out.println("PageWalkerPropertyTest: mode " + mode + " seed " + seed + " (rerun with -Djxen.seed)");
        Random r = new Random(seed);
        try (TestGuest g = new TestGuest(4L << 20, 0x1000)) {
            Gen gen = new Gen(r, mode, g);
            long rootGpa = g.newTable();
            Table root = gen.build(topLevel(mode), rootGpa, true, true);
            gen.write(root);
            long cr3 = mode == PagingMode.PAE ? rootGpa + 0x20L * r.nextInt(128) : rootGpa;
            if (mode == PagingMode.PAE && cr3 != rootGpa) {
                // move the 4 PDPTEs to the chosen 32-byte slot of the page
                for (int i = 0; i < 4; i++) {
                    g.put64(cr3 + 8 * i, g.get64(rootGpa + 8 * i));
                }
            }
            long cr4 = switch (mode) {
                case TWO_LEVEL -> 0x10;
                default -> 0x20;
            };
            long efer = mode == PagingMode.FOUR_LEVEL ? 0x500 : 0;
            PageWalker w = new PageWalker();
            int checked = 0;
            int ok = 0;
            for (int i = 0; i < 3000; i++) {
                long gva = gen.address(root);
                int cpl = r.nextBoolean() ? 3 : r.nextInt(3);
                boolean wp = r.nextBoolean();
                Access access = r.nextBoolean() ? Access.WRITE : Access.READ;
                PagingState s = PagingState.of(0x80000001L | (wp ? 1L << 16 : 0), cr3, cr4, efer, cpl, MAX_PHY);
                long want = expect(mode, root, gva, s, access);
                long got = w.translate(g.memory, s, gva, access);
                long gvaF = gva;
                assertEquals(want, got, () -> "seed " + seed + " " + s + " gva 0x" + Long.toHexString(gvaF) + " "
                        + access + ": want " + PageWalker.describe(want) + ", got " + PageWalker.describe(got));
                checked++;
                ok += got >= 0 ? 1 : 0;
            }
            System.out.println("  " + checked + " translations, " + ok + " succeeded");
        }
    }
}

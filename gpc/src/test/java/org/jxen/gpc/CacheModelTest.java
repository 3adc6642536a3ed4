package org.jxen.gpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded random sequences of activations, memory-map changes, host-range invalidations and
 * accesses, checked against a plain model: whenever {@code lock()} succeeds, the view must be
 * exactly the host bytes that the current memory map gives for the cache's gpa, and it must
 * succeed exactly when the model says the whole area is backed and writable. The seed is printed;
 * re-run one with {@code -Djxen.seed=N}.
 */
class CacheModelTest {
    static final long PAGE = HostMemory.PAGE_SIZE;
    static final int SLOT_PAGES = 4;
    static final int STEPS = 3_000;

    static LongStream seeds() {
        String fixed = System.getProperty("jxen.seed");
        if (fixed != null) {
            return LongStream.of(Long.parseLong(fixed));
        }
        long base = System.nanoTime();
        return LongStream.range(0, 8).map(i -> base + i * 0x9E3779B97F4A7C15L);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void cacheAgreesWithTheModel(long seed) {
        System.out.println("CacheModelTest seed " + seed + " (re-run with -Djxen.seed=" + seed + ")");
        Random rnd = new Random(seed);
        try (HostMemory host = HostMemory.offHeap("model", 64 * PAGE)) {
            GuestMemory memory = new GuestMemory("model");
            List<GfnToPfnCache> caches = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                caches.add(memory.newCache("c" + i));
            }
            int nextSlotId = 0;
            for (int step = 0; step < STEPS; step++) {
                int op = rnd.nextInt(100);
                MemoryMap map = memory.currentMap();
                String where = "seed " + seed + " step " + step;
                if (op < 10 && map.size() < 6) {
                    long gpa = rnd.nextInt(16) * SLOT_PAGES * PAGE;
                    long hostOffset = rnd.nextInt(64 / SLOT_PAGES) * SLOT_PAGES * PAGE;
                    boolean free = map.slots().stream().noneMatch(s -> s.overlaps(gpa, SLOT_PAGES * PAGE));
                    if (free) {
                        memory.addSlot(nextSlotId++, gpa, SLOT_PAGES * PAGE, host, hostOffset,
                                rnd.nextInt(8) == 0 ? Memslot.READONLY : 0);
                    }
                } else if (op < 16 && map.size() > 0) {
                    memory.removeSlot(map.slots().get(rnd.nextInt(map.size())).id());
                } else if (op < 20 && map.size() > 0) {
                    Memslot s = map.slots().get(rnd.nextInt(map.size()));
                    long to = rnd.nextInt(16) * SLOT_PAGES * PAGE;
                    boolean free = map.slots().stream()
                            .noneMatch(o -> o != s && o.overlaps(to, SLOT_PAGES * PAGE));
                    if (free) {
                        memory.moveSlot(s.id(), to);
                    }
                } else if (op < 24 && map.size() > 0) {
                    Memslot s = map.slots().get(rnd.nextInt(map.size()));
                    memory.setSlotFlags(s.id(), s.flags() ^ Memslot.READONLY);
                } else if (op < 30) {
                    long off = rnd.nextInt(64) * PAGE;
                    long len = Math.min(PAGE * (1 + rnd.nextInt(3)), 64 * PAGE - off);
                    memory.invalidateHostRange(host, off, len).close();
                } else if (op < 40) {
                    GfnToPfnCache c = caches.get(rnd.nextInt(caches.size()));
                    long gpa = rnd.nextInt(16 * SLOT_PAGES) * PAGE + rnd.nextInt((int) PAGE);
                    long len = 1 + rnd.nextInt(rnd.nextBoolean() ? 64 : (int) (2 * PAGE));
                    GpcStatus st = c.activate(gpa, len);
                    assertEquals(expected(memory.currentMap(), gpa, len), st, where + " activate");
                } else if (op < 43) {
                    caches.get(rnd.nextInt(caches.size())).deactivate();
                } else {
                    GfnToPfnCache c = caches.get(rnd.nextInt(caches.size()));
                    MappedArea a = c.lock();
                    if (!c.isActive()) {
                        assertNull(a, where);
                        continue;
                    }
                    GpcStatus want = expected(memory.currentMap(), c.gpa(), c.length());
                    if (want != GpcStatus.OK) {
                        assertNull(a, where + " lock of " + c);
                        assertEquals(want, c.lastStatus(), where);
                        continue;
                    }
                    assertNotNull(a, where + " lock of " + c);
                    try {
                        assertEquals(c.gpa(), a.gpa());
                        assertEquals(c.length(), a.length());
                        assertEquals(memory.generation(), a.generation());
                        long off = rnd.nextInt((int) a.length());
                        byte v = (byte) rnd.nextInt();
                        a.putByte(off, v);
                        assertEquals(v, memory.getByte(a.gpa() + off), where + " write through the view");
                        byte w = (byte) rnd.nextInt();
                        memory.putByte(a.gpa() + off, w);
                        assertEquals(w, a.getByte(off), where + " read through the view");
                    } finally {
                        c.unlock();
                    }
                }
            }
            for (GfnToPfnCache c : caches) {
                c.deactivate();
            }
            assertEquals(0, memory.cacheCount());
            for (Memslot s : memory.currentMap().slots()) {
                memory.removeSlot(s.id());
            }
            assertTrue(host.mappedBySlots() == 0);
        }
    }

    /** The model: what activation or lock must report for the area under {@code map}. */
    static GpcStatus expected(MemoryMap map, long gpa, long len) {
        for (long a = gpa; a < gpa + len; ) {
            Memslot s = map.find(a);
            if (s == null) {
                return GpcStatus.NOT_BACKED;
            }
            if (s.isReadOnly()) {
                return GpcStatus.READ_ONLY;
            }
            a = s.end();
        }
        return GpcStatus.OK;
    }
}

package org.jxen.gpc;

import java.util.Arrays;
import java.util.List;

/**
 * An immutable snapshot of a guest's memslots, sorted by guest-physical address, with the
 * generation number under which it was published. {@link GuestMemory} replaces its snapshot whole on
 * every change (read-copy-update), so a reader that holds a snapshot sees one consistent memory map.
 * Safe from any thread.
 */
public final class MemoryMap {
    private final long generation;
    private final Memslot[] slots;
    private final long[] starts;

    MemoryMap(long generation, Memslot[] sortedSlots) {
        this.generation = generation;
        this.slots = sortedSlots;
        this.starts = new long[sortedSlots.length];
        for (int i = 0; i < sortedSlots.length; i++) {
            starts[i] = sortedSlots[i].gpa();
        }
    }

    static MemoryMap empty() {
        return new MemoryMap(0, new Memslot[0]);
    }

    /** Increases by one with every published change; the empty map of a new guest is generation 0. */
    public long generation() {
        return generation;
    }

    /** The slots, sorted by guest-physical address. */
    public List<Memslot> slots() {
        return List.of(slots);
    }

    public int size() {
        return slots.length;
    }

    /** The slot that contains {@code gpa}, or null. */
    public Memslot find(long gpa) {
        int i = Arrays.binarySearch(starts, gpa);
        if (i < 0) {
            i = -i - 2;
        }
        if (i < 0) {
            return null;
        }
        Memslot s = slots[i];
        return s.contains(gpa) ? s : null;
    }

    /** The slot with this id, or null. */
    public Memslot byId(int id) {
        for (Memslot s : slots) {
            if (s.id() == id) {
                return s;
            }
        }
        return null;
    }

    MemoryMap with(long newGeneration, Memslot add, Memslot removeOld) {
        Memslot[] next = Arrays.stream(slots).filter(s -> s != removeOld).toArray(Memslot[]::new);
        if (add != null) {
            for (Memslot s : next) {
                if (s.id() == add.id()) {
                    throw new IllegalArgumentException("memslot id " + add.id() + " is in use by " + s);
                }
                if (s.overlaps(add.gpa(), add.size())) {
                    throw new IllegalArgumentException(add + " overlaps " + s);
                }
            }
            next = Arrays.copyOf(next, next.length + 1);
            next[next.length - 1] = add;
            Arrays.sort(next, (a, b) -> Long.compare(a.gpa(), b.gpa()));
        }
        return new MemoryMap(newGeneration, next);
    }

    @Override
    public String toString() {
        return "memory map generation " + generation + " " + Arrays.toString(slots);
    }
}

package org.jxen.gpc;

/**
 * Hears every change of a guest's memory map: the KVM memslot mirror, statistics, tests.
 *
 * <p>Called on the thread that makes the change, with the guest memory's change lock held, after
 * the caches that the change affects have been invalidated and before the change returns, so a
 * listener may act on the old and new maps but must not change the memory map itself.
 */
@FunctionalInterface
public interface MemoryMapListener {
    /** What changed. {@code oldSlot} or {@code newSlot} is null for an addition or a removal. */
    record Change(Kind kind, Memslot oldSlot, Memslot newSlot, MemoryMap oldMap, MemoryMap newMap) {
    }

    /** The kinds of change. */
    enum Kind {
        ADD, REMOVE, MOVE, FLAGS
    }

    void memoryMapChanged(Change change);
}

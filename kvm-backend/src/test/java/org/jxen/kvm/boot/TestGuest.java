package org.jxen.kvm.boot;

import java.util.ArrayList;
import java.util.List;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;

/** A guest memory with off-heap memslots for tests; {@link #close()} removes the slots and frees the memory. */
final class TestGuest implements AutoCloseable {
    static final byte MARKER = (byte) 0xa5;

    final GuestMemory memory = new GuestMemory("boot-test");
    private final List<HostMemory> hosts = new ArrayList<>();
    private final List<Integer> ids = new ArrayList<>();

    /** Adds a slot at {@code gpa} of {@code size} bytes, filled with {@link #MARKER}. */
    TestGuest slot(long gpa, long size, int flags) {
        HostMemory h = HostMemory.offHeap("slot" + ids.size(), size);
        h.segment().fill(MARKER);
        hosts.add(h);
        memory.addSlot(ids.size(), gpa, size, h, 0, flags);
        ids.add(ids.size());
        return this;
    }

    TestGuest slot(long gpa, long size) {
        return slot(gpa, size, 0);
    }

    byte get(long gpa) {
        return memory.getByte(gpa);
    }

    /** Refills every slot with the marker. */
    void reset() {
        for (HostMemory h : hosts) {
            h.segment().fill(MARKER);
        }
    }

    /** True when every byte of every slot is the marker. */
    boolean untouched() {
        for (HostMemory h : hosts) {
            var s = h.segment();
            for (long i = 0; i < s.byteSize(); i++) {
                if (s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) != MARKER) {
                    return false;
                }
            }
        }
        return true;
    }

    @Override
    public void close() {
        for (int id : ids) {
            memory.removeSlot(id);
        }
        for (HostMemory h : hosts) {
            h.close();
        }
    }
}

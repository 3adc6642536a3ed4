package org.jxen.hypercalls.mm;

import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;

/** A guest memory with RAM at gpa 0 and a bump allocator of page-table pages, for the walker's tests. */
final class TestGuest implements AutoCloseable {
    final GuestMemory memory = new GuestMemory("walker-test");
    final HostMemory ram;
    private long nextTable;

    TestGuest(long ramSize, long firstTable) {
        ram = HostMemory.offHeap("walker-test-ram", ramSize);
        memory.addSlot(0, 0, ramSize, ram, 0, 0);
        nextTable = firstTable;
    }

    /** A zeroed 4 KiB page of RAM for a table. */
    long newTable() {
        long t = nextTable;
        nextTable += 4096;
        if (nextTable > ram.size()) {
            throw new IllegalStateException("out of table pages");
        }
        ram.segment().asSlice(t, 4096).fill((byte) 0);
        return t;
    }

    void put64(long gpa, long value) {
        memory.putLong(gpa, value);
    }

    void put32(long gpa, int value) {
        memory.putInt(gpa, value);
    }

    long get64(long gpa) {
        return memory.getLong(gpa);
    }

    @Override
    public void close() {
        memory.removeSlot(0);
        ram.close();
    }
}

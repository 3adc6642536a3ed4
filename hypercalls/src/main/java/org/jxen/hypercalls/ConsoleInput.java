package org.jxen.hypercalls;

/**
 * Bytes typed at the Xen console, waiting for the guest's {@code CONSOLEIO_read}: a bounded ring.
 * The host offers input and learns how much was taken, so that nothing is dropped silently: a
 * producer that finds the ring full keeps the rest and offers it again later.
 *
 * <p>The ring is allocated by the first {@link #offer}: most domains (tests, stress states, a
 * guest without console input) never get any, and 16 KiB each would be most of a domain's heap.
 *
 * <p>Threads: {@link #offer} from any host thread (a standard-input reader), {@link #take} from
 * vCPU threads; both synchronise on this object.
 */
public final class ConsoleInput {
    /** How many bytes wait at most. */
    public static final int CAPACITY = 16 * 1024;

    /** Null until the first offer (guarded by this). */
    private byte[] ring;
    private long head;
    private long tail;

    /** Appends up to {@code length} bytes; returns how many fit. */
    public synchronized int offer(byte[] bytes, int offset, int length) {
        int n = (int) Math.min(length, CAPACITY - (tail - head));
        if (n > 0 && ring == null) {
            ring = new byte[CAPACITY];
        }
        for (int i = 0; i < n; i++) {
            ring[(int) (tail++ % CAPACITY)] = bytes[offset + i];
        }
        return n;
    }

    /** Moves up to {@code max} waiting bytes into {@code dst}; returns how many. */
    public synchronized int take(byte[] dst, int max) {
        int n = (int) Math.min(Math.min(max, dst.length), tail - head);
        for (int i = 0; i < n; i++) {
            dst[i] = ring[(int) (head++ % CAPACITY)];
        }
        return n;
    }

    /**
     * Puts back the first {@code n} bytes of a {@link #take} the guest could not receive. The caller
     * holds this object's monitor from the take to here, so that nothing was offered or taken in
     * between (the slots would have been reused).
     */
    public synchronized void untake(int n) {
        head -= n;
    }

    public synchronized int available() {
        return (int) (tail - head);
    }
}

package org.jxen.hypercalls;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * A fixed number of counters that any thread may add to without an atomic instruction: each thread
 * has its own cell (found by thread id, or through a {@link ThreadLocal}), padded by 128 bytes on
 * each side so that no two threads' cells share a cache line, and adds to it with a plain increment.
 * A sum adds up the cells; cells of threads that ended are folded into a total, so that no count is
 * lost and no sum ever goes down.
 *
 * <p>This is {@link java.util.concurrent.atomic.LongAdder} without its first, uncontended
 * compare-and-set on a shared base word (a locked instruction on x86, several nanoseconds), which the
 * event path cannot afford at every event.
 *
 * <p>Threads: {@link #increment} from any thread, each into its own cell; {@link #sum} from any
 * thread (it takes a lock: not for hot paths). A sum sees every increment that happens-before it, and
 * those of threads that ended; increments racing with it may or may not be seen. An increment is a
 * plain write by the cell's one writer, read with an opaque read: a 64-bit JVM writes a {@code long}
 * whole, so a sum never sees a torn value.
 */
final class ThreadCounters {
    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);
    /** 16 longs = 128 bytes: two cache lines, so that adjacent-line prefetch does not pair two cells. */
    private static final int PAD = 16;
    /** Entries of the table by thread id: a power of two. */
    private static final int TABLE = 64;

    private final int size;
    private final Object lock = new Object();
    /** The cells of threads that may still be alive; replaced whole under {@code lock}. */
    private volatile Cell[] cells = new Cell[0];
    /** The counts of threads that ended; guarded by {@code lock}. */
    private final long[] ended;
    private final ThreadLocal<Cell> local = ThreadLocal.withInitial(this::register);
    /** Each thread's cell at its thread id modulo {@link #TABLE}, when no other live thread holds that entry. */
    private final Cell[] byThreadId = new Cell[TABLE];

    private static final class Cell {
        final Thread thread;
        final long[] words;

        Cell(Thread thread, int size) {
            this.thread = thread;
            this.words = new long[PAD + size + PAD];
        }

        long get(int counter) {
            return (long) WORD.getOpaque(words, PAD + counter);
        }
    }

    ThreadCounters(int size) {
        this.size = size;
        this.ended = new long[size];
    }

    /**
     * Adds one to {@code counter} in the calling thread's cell: a plain increment of a word that only
     * this thread writes. The cell is found by thread id in a small table (four dependent loads, fewer
     * than a {@code ThreadLocal} lookup); a thread whose entry another live thread holds finds its cell
     * through its {@code ThreadLocal} instead.
     */
    void increment(int counter) {
        Thread t = Thread.currentThread();
        Cell c = byThreadId[(int) t.threadId() & (TABLE - 1)];
        if (c == null || c.thread != t) {
            c = cellOf(t);
        }
        c.words[PAD + counter]++;
    }

    /** The slow path: the calling thread's cell, which it also puts in the table if its entry is free or dead. */
    private Cell cellOf(Thread t) {
        Cell own = local.get();
        int i = (int) t.threadId() & (TABLE - 1);
        Cell c = byThreadId[i];
        if (c == null || !c.thread.isAlive()) {
            synchronized (lock) {
                if (byThreadId[i] == c) {
                    byThreadId[i] = own; // read racily by increment: a Cell's fields are final, so safe
                }
            }
        }
        return own;
    }

    /** The total of {@code counter} over every thread, alive or ended. */
    long sum(int counter) {
        synchronized (lock) {
            foldEndedLocked();
            long s = ended[counter];
            for (Cell c : cells) {
                s += c.get(counter);
            }
            return s;
        }
    }

    private Cell register() {
        Cell c = new Cell(Thread.currentThread(), size);
        synchronized (lock) {
            foldEndedLocked();
            Cell[] next = Arrays.copyOf(cells, cells.length + 1);
            next[cells.length] = c;
            cells = next;
        }
        return c;
    }

    /** Moves the counts of threads that ended into {@code ended}. Caller holds {@code lock}. */
    private void foldEndedLocked() {
        Cell[] now = cells;
        int alive = 0;
        for (Cell c : now) {
            if (c.thread.isAlive()) {
                alive++;
            }
        }
        if (alive == now.length) {
            return;
        }
        Cell[] next = new Cell[alive];
        int n = 0;
        for (Cell c : now) {
            if (c.thread.isAlive()) {
                next[n++] = c;
            } else {
                // the thread's end happens-before isAlive() returning false: its last counts are seen
                for (int i = 0; i < size; i++) {
                    ended[i] += c.get(i);
                }
            }
        }
        cells = next;
    }
}

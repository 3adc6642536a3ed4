package org.jxen.hypercalls.time;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A host thread's scheduler statistics from {@code /proc/.../schedstat}: the first field is the
 * time it ran on a CPU, the second its run delay (the time it was runnable but waited on a run
 * queue), the third its number of time slices; times in ns. The vCPU's runstate accounting
 * ({@link VcpuRunstate}) takes running time from the first and runnable (steal) time from the
 * second, as KVM does with {@code current->sched_info.run_delay}.
 *
 * <p>Both counters lag: the kernel adds a time slice to the on-CPU time when the slice ends or at
 * a scheduler tick, and a wait to the run delay when the wait ends, so a read sees at most about
 * one tick less than the truth. Reading costs a system call and a formatted read (see
 * docs/performance.md), so the accounting reads it every few milliseconds, never per exit.
 *
 * <p>Threads: {@link #openForCurrentThread()} binds to the calling thread ({@code thread-self} is
 * resolved when the file is opened); {@link #openForThread(int)} to any thread of this process.
 * {@link #read()} and {@link #runDelayNanos()} may be called from any thread (they serialise on the
 * instance: one buffer). The parsers are stateless. Nothing here throws for bad content: the
 * result is -1 or null.
 */
public final class SchedStat implements AutoCloseable {
    /** The calling thread's schedstat file. */
    public static final Path THREAD_SELF = Path.of("/proc/thread-self/schedstat");

    /** One reading: cumulative on-CPU time and run delay in ns (both non-negative). */
    public record Sample(long onCpuNanos, long runDelayNanos) {
    }

    private final FileChannel channel;
    private final ByteBuffer buffer = ByteBuffer.allocate(128);

    private SchedStat(FileChannel channel) {
        this.channel = channel;
    }

    /**
     * Opens the calling thread's schedstat, or returns null when the kernel has none (no
     * {@code CONFIG_SCHED_INFO}, no {@code /proc}).
     */
    public static SchedStat openForCurrentThread() {
        try {
            return new SchedStat(FileChannel.open(THREAD_SELF, StandardOpenOption.READ));
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        }
    }

    /**
     * Opens the schedstat of thread {@code tid} of this process ({@code /proc/self/task/<tid>/schedstat}),
     * or returns null when there is none (no such thread, no {@code CONFIG_SCHED_INFO}, no {@code /proc}).
     */
    public static SchedStat openForThread(int tid) {
        if (tid <= 0) {
            return null;
        }
        try {
            return new SchedStat(FileChannel.open(Path.of("/proc/self/task/" + tid + "/schedstat"),
                    StandardOpenOption.READ));
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        }
    }

    /** The opened thread's on-CPU time and run delay now, or null if they cannot be read. */
    public synchronized Sample read() {
        int n = fill();
        if (n < 0) {
            return null;
        }
        long onCpu = parseField(buffer.array(), n, 0);
        long runDelay = parseField(buffer.array(), n, 1);
        return onCpu < 0 || runDelay < 0 ? null : new Sample(onCpu, runDelay);
    }

    /** The opened thread's cumulative run delay in ns, or -1 if it cannot be read. */
    public synchronized long runDelayNanos() {
        int n = fill();
        return n < 0 ? -1 : parseRunDelay(buffer.array(), n);
    }

    /** Reads the file from its start into the buffer; returns the length, or -1. */
    private int fill() {
        buffer.clear();
        try {
            int total = 0;
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, total);
                if (n <= 0) {
                    break;
                }
                total += n;
            }
        } catch (IOException e) {
            return -1;
        }
        return buffer.position();
    }

    /** The calling thread's run delay, opening and closing the file (for occasional use); -1 if unknown. */
    public static long currentThreadRunDelayNanos() {
        try (SchedStat s = openForCurrentThread()) {
            return s == null ? -1 : s.runDelayNanos();
        }
    }

    /**
     * The second whitespace-separated field of {@code bytes[0..length)} as a non-negative decimal,
     * or -1 when it is missing, not a number, or overflows.
     */
    public static long parseRunDelay(byte[] bytes, int length) {
        return parseField(bytes, length, 1);
    }

    /**
     * Whitespace-separated field {@code index} (0-based) of {@code bytes[0..length)} as a
     * non-negative decimal, or -1 when it is missing, not a number, or overflows.
     */
    public static long parseField(byte[] bytes, int length, int index) {
        int i = 0;
        int n = Math.min(length, bytes.length);
        for (int field = 0; field <= index; field++) {
            while (i < n && isSpace(bytes[i])) {
                i++;
            }
            if (i == n) {
                return -1;
            }
            long v = 0;
            int start = i;
            while (i < n && !isSpace(bytes[i])) {
                int d = bytes[i] - '0';
                if (d < 0 || d > 9 || v > (Long.MAX_VALUE - d) / 10) {
                    return -1;
                }
                v = v * 10 + d;
                i++;
            }
            if (i == start) {
                return -1;
            }
            if (field == index) {
                return v;
            }
        }
        return -1;
    }

    /** {@link #parseRunDelay(byte[], int)} of a string (ASCII). */
    public static long parseRunDelay(String text) {
        byte[] b = text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        return parseRunDelay(b, b.length);
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\n' || b == '\t' || b == '\r';
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing to do: the descriptor is gone either way
        }
    }
}

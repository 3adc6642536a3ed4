package org.jxen.hypercalls.time;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The host thread's run delay: the second field of {@code /proc/thread-self/schedstat}
 * ({@code time on CPU, time waiting on a run queue, time slices}, in ns), the time the thread was
 * runnable but not running. The vCPU loop feeds it to {@link RunstateAccount#change(int, long, long)}
 * so that the guest sees it as steal time ({@code time[RUNNABLE]}), as KVM does with
 * {@code current->sched_info.run_delay}.
 *
 * <p>Threads: {@link #openForCurrentThread()} binds to the calling thread ({@code thread-self} is
 * resolved when the file is opened), and {@link #runDelayNanos()} is then for that thread's use
 * only (it reuses a buffer). {@link #parseRunDelay} is stateless. Nothing here throws for bad
 * content: the result is -1.
 */
public final class SchedStat implements AutoCloseable {
    /** The calling thread's schedstat file. */
    public static final Path THREAD_SELF = Path.of("/proc/thread-self/schedstat");

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

    /** The opened thread's cumulative run delay in ns, or -1 if it cannot be read. */
    public long runDelayNanos() {
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
        return parseRunDelay(buffer.array(), buffer.position());
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
        int i = 0;
        int n = Math.min(length, bytes.length);
        for (int field = 0; field < 2; field++) {
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
            if (field == 1) {
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

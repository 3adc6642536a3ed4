package org.jxen.hypercalls.console;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one output stream that every console source of a VM writes to: the PV console ring
 * ({@link ConsoleRing}), {@code console_io} writes (the platform's {@code consoleWrite}) and the
 * debug ports 0xe9 and 0x12. Each write goes out whole and is flushed before the next one starts,
 * under one lock, so the sources interleave in the order their writes reached the sink and each
 * source's bytes stay in its own order.
 *
 * <p>A failure of the underlying stream (standard output closed, a broken pipe) is logged once; the
 * sink then drops output, so a guest can never stop a vCPU by writing to a console nobody reads.
 *
 * <p>Threads: any thread; writes are serialised on this object. A write blocks while the underlying
 * stream blocks.
 */
public final class ConsoleSink extends OutputStream {
    private static final Logger LOG = LoggerFactory.getLogger(ConsoleSink.class);

    private final OutputStream out;
    private final PrintStream printStream;
    private boolean failed;
    private long bytes;

    public ConsoleSink(OutputStream out) {
        this.out = Objects.requireNonNull(out);
        this.printStream = new PrintStream(this, true);
    }

    @Override
    public synchronized void write(int b) {
        if (failed) {
            return;
        }
        try {
            out.write(b);
            out.flush();
            bytes++;
        } catch (IOException e) {
            fail(e);
        }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        Objects.checkFromIndexSize(off, len, b.length);
        if (failed || len == 0) {
            return;
        }
        try {
            out.write(b, off, len);
            out.flush();
            bytes += len;
        } catch (IOException e) {
            fail(e);
        }
    }

    /** Every write is flushed already. */
    @Override
    public void flush() {
    }

    private void fail(IOException e) {
        failed = true;
        LOG.warn("console output failed, further guest output is dropped: {}", e.toString());
    }

    /** How many bytes went out. */
    public synchronized long bytesWritten() {
        return bytes;
    }

    /**
     * This sink as a {@link PrintStream}, for the APIs that take one (the debug ports, the KVM
     * platform's {@code console_io} output): every write through it reaches this sink at once.
     */
    public PrintStream printStream() {
        return printStream;
    }
}

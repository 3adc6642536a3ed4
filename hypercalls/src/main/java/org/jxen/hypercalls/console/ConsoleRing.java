package org.jxen.hypercalls.console;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenconsInterface;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.MappedArea;
import org.jxen.hypercalls.ConsoleInput;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host end of a guest's PV console: {@code struct xencons_interface} in the guest's console
 * page ({@code HVM_PARAM_CONSOLE_PFN}), reached through a {@link GfnToPfnCache}. The guest produces
 * into {@code out[2048]} ({@code out_prod}) and the host consumes ({@code out_cons}) to a
 * {@link ConsoleSink}; the host produces into {@code in[1024]} ({@code in_prod}) from its input
 * queue and the guest consumes ({@code in_cons}). Indices run free; a byte's slot is
 * {@code index & (size - 1)}.
 *
 * <p>{@link #service()} does both directions once: when the guest signals the console event channel
 * (its {@code EVTCHNOP_send} reaches {@link #onGuestSend}) and from a poller a few times a second
 * ({@link #startPolling}), since a guest may write without signalling. After consuming output or
 * producing input it runs {@code notifyGuest} (raise the console port), as xenconsoled does, so a
 * guest waiting for space or input goes on.
 *
 * <p>Memory ordering: {@code out_prod} and {@code in_cons} (the guest's) are read with acquire, so
 * the bytes the guest wrote before publishing them are seen; {@code out_cons} and {@code in_prod}
 * (the host's) are written with release after the bytes they cover were read or written. The host's
 * own indices are kept here after the first service (which adopts what the page says), not re-read
 * from guest memory.
 *
 * <p>The guest is untrusted: indices that claim more bytes than a ring holds
 * ({@code out_prod - out_cons > 2048} or {@code in_prod - in_cons > 1024}) make the ring
 * <em>broken</em>: logged once, never served again; nothing is read or written outside the page,
 * since every slot is masked and every access goes through the cache's bounds-checked view.
 *
 * <p>Threads: {@link #service()} from any thread holding no gfn-to-pfn cache; callers are serialised
 * by a lock, so output reaches the sink in ring order and a service that a guest's send starts
 * returns only after everything the guest produced before the send is in the sink (which keeps the
 * ring in order with the guest's later {@code console_io} and debug-port writes). The wait is at most
 * one other service of at most 2048 bytes. {@link #offerInput} from any thread.
 */
public final class ConsoleRing implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConsoleRing.class);

    private static final WordSize W = WordSize.BITS_64; // the layout is the same in both forms
    private static final int IN_SIZE = XenconsInterface.IN_SIZE;
    private static final int OUT_SIZE = XenconsInterface.OUT_SIZE;
    private static final long IN = XenconsInterface.offsetOfIn(W);
    private static final long OUT = XenconsInterface.offsetOfOut(W);
    private static final long IN_CONS = XenconsInterface.offsetOfInCons(W);
    private static final long IN_PROD = XenconsInterface.offsetOfInProd(W);
    private static final long OUT_CONS = XenconsInterface.offsetOfOutCons(W);
    private static final long OUT_PROD = XenconsInterface.offsetOfOutProd(W);

    private final GfnToPfnCache cache;
    private final ConsoleSink sink;
    private final Runnable notifyGuest;
    private final ConsoleInput input = new ConsoleInput();
    private final ReentrantLock lock = new ReentrantLock();
    private final Object inputSpace = new Object();
    private volatile boolean closed;
    private volatile String broken;
    private volatile Thread poller;
    private volatile long bytesOut;
    private volatile long bytesIn;
    private volatile long services;

    // ---- guarded by lock ----
    private boolean started;
    private int outCons;
    private int inProd;
    private final byte[] outBuffer = new byte[OUT_SIZE];
    private final byte[] inBuffer = new byte[IN_SIZE];

    /**
     * Serves the console page at {@code pageGpa} (page aligned) of {@code memory}, writing the guest's
     * output to {@code sink}. {@code notifyGuest} raises the guest's console port; it must not block.
     */
    public ConsoleRing(GuestMemory memory, long pageGpa, ConsoleSink sink, Runnable notifyGuest) {
        if (pageGpa < 0 || (pageGpa & 0xfff) != 0) {
            throw new IllegalArgumentException("console page gpa 0x" + Long.toHexString(pageGpa) + " is not a page");
        }
        this.sink = Objects.requireNonNull(sink);
        this.notifyGuest = Objects.requireNonNull(notifyGuest);
        this.cache = memory.newCache("console ring");
        GpcStatus st = cache.activate(pageGpa, XenconsInterface.sizeof(W));
        if (st != GpcStatus.OK && st != GpcStatus.NOT_BACKED) {
            LOG.warn("console page at 0x{} cannot be mapped now: {}", Long.toHexString(pageGpa), st);
        }
    }

    /** The guest's {@code EVTCHNOP_send} on the console port: an {@code IntConsumer} for the event channels. */
    public void onGuestSend(int port) {
        service();
    }

    /** Why the ring broke (the guest broke the protocol), or null while it is served. */
    public String brokenReason() {
        return broken;
    }

    public boolean isBroken() {
        return broken != null;
    }

    /** Bytes taken from the guest's output ring. */
    public long bytesOut() {
        return bytesOut;
    }

    /** Bytes put into the guest's input ring. */
    public long bytesIn() {
        return bytesIn;
    }

    /** How many services ran (sends and polls). */
    public long services() {
        return services;
    }

    /**
     * Queues input for the guest (up to {@link ConsoleInput#CAPACITY} bytes wait) and services the
     * ring; returns how many bytes were queued (fewer when the queue is full).
     */
    public int offerInput(byte[] bytes, int offset, int length) {
        int n = input.offer(bytes, offset, length);
        if (n > 0) {
            service();
        }
        return n;
    }

    /**
     * Queues all of {@code length} bytes of input, waiting while the queue is full (the guest reads
     * slowly or not at all). Returns false if the ring was closed or broke, or the thread was
     * interrupted, before everything was queued.
     */
    public boolean offerInputFully(byte[] bytes, int offset, int length) {
        int done = 0;
        while (done < length) {
            if (closed || isBroken()) {
                return false;
            }
            int n = offerInput(bytes, offset + done, length - done);
            done += n;
            if (done < length) {
                synchronized (inputSpace) {
                    try {
                        inputSpace.wait(100);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return false;
                    }
                }
            }
        }
        return true;
    }

    /** Input bytes queued but not yet in the guest's ring. */
    public int inputQueued() {
        return input.available();
    }

    /**
     * Consumes the guest's output into the sink and moves queued input into the guest's ring, once.
     * Returns true if anything moved. A page that cannot be mapped now is tried again next time.
     */
    public boolean service() {
        if (closed || broken != null) {
            return false;
        }
        lock.lock();
        try {
            return serviceLocked();
        } finally {
            lock.unlock();
        }
    }

    private boolean serviceLocked() {
        if (closed || broken != null) {
            return false;
        }
        services++;
        int outBytes;
        int inBytes = 0;
        MappedArea m = cache.lock();
        if (m == null) {
            return false;
        }
        try {
            if (!started) {
                outCons = m.getIntAcquire(OUT_CONS);
                inProd = m.getIntAcquire(IN_PROD);
                started = true;
            }
            // output: [outCons, out_prod)
            int prod = m.getIntAcquire(OUT_PROD);
            int pending = prod - outCons;
            if (Integer.compareUnsigned(pending, OUT_SIZE) > 0) {
                markBroken("out_prod " + Integer.toUnsignedString(prod) + " is " + Integer.toUnsignedString(pending)
                        + " bytes ahead of out_cons " + Integer.toUnsignedString(outCons) + " (ring size " + OUT_SIZE + ")");
                return false;
            }
            outBytes = pending;
            copyOut(m, outCons, outBytes);
            if (outBytes > 0) {
                outCons = prod;
                m.putIntRelease(OUT_CONS, outCons);
            }
            // input: [in_prod, in_cons + IN_SIZE)
            int cons = m.getIntAcquire(IN_CONS);
            int used = inProd - cons;
            if (Integer.compareUnsigned(used, IN_SIZE) > 0) {
                markBroken("in_cons " + Integer.toUnsignedString(cons) + " is " + Integer.toUnsignedString(-used)
                        + " bytes ahead of in_prod " + Integer.toUnsignedString(inProd) + " (ring size " + IN_SIZE + ")");
                // the output already taken still goes out below
            } else {
                int space = IN_SIZE - used;
                if (space > 0) {
                    inBytes = input.take(inBuffer, space);
                    for (int i = 0; i < inBytes; i++) {
                        m.putByte(IN + ((inProd + i) & (IN_SIZE - 1)), inBuffer[i]);
                    }
                    if (inBytes > 0) {
                        inProd += inBytes;
                        m.putIntRelease(IN_PROD, inProd);
                    }
                }
            }
        } finally {
            cache.unlock();
        }
        if (outBytes > 0) {
            sink.write(outBuffer, 0, outBytes); // outside the cache: the sink may block
            bytesOut += outBytes;
        }
        if (inBytes > 0) {
            bytesIn += inBytes;
            synchronized (inputSpace) {
                inputSpace.notifyAll();
            }
        }
        boolean moved = outBytes > 0 || inBytes > 0;
        if (moved && broken == null) {
            notifyGuest.run();
        }
        return moved;
    }

    /** Copies {@code n} bytes of {@code out[]} from index {@code from} into outBuffer, across the wrap. */
    private void copyOut(MappedArea m, int from, int n) {
        int slot = from & (OUT_SIZE - 1);
        int first = Math.min(n, OUT_SIZE - slot);
        m.copyTo(OUT + slot, MemorySegment.ofArray(outBuffer).asSlice(0, first));
        if (n > first) {
            m.copyTo(OUT, MemorySegment.ofArray(outBuffer).asSlice(first, n - first));
        }
    }

    private void markBroken(String why) {
        if (broken == null) {
            broken = why;
            LOG.warn("console ring broken, no longer served: {}", why);
        }
    }

    /**
     * Services the ring every {@code periodMillis} on a daemon thread, for guests that write without
     * signalling. Idempotent.
     */
    public synchronized void startPolling(long periodMillis) {
        if (poller != null || closed) {
            return;
        }
        poller = Thread.ofPlatform().daemon(true).name("console-poll").start(() -> {
            while (!closed && !Thread.currentThread().isInterrupted()) {
                service();
                try {
                    Thread.sleep(periodMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** Stops the poller and the cache; output the guest wrote before is taken by a last service. */
    @Override
    public void close() {
        service();
        closed = true;
        Thread p = poller;
        if (p != null) {
            p.interrupt();
            try {
                p.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        lock.lock();
        try {
            cache.deactivate();
        } finally {
            lock.unlock();
        }
        synchronized (inputSpace) {
            inputSpace.notifyAll();
        }
    }
}

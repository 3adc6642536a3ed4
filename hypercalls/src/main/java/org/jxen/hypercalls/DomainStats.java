package org.jxen.hypercalls;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.jxen.abi.Hypercall;

/**
 * What one {@link XenDomain} did, for metrics: hypercalls by number (how many, and the time of a
 * sample of them), events sent and deferred by port kind, and timer firings per vCPU. Plain counts
 * that never go down, with no dependency on a metrics library (the program binds them to its own).
 * Upcall deliveries are counted by the platform, where delivering costs a system call
 * ({@code org.jxen.kvm.VcpuStats}), not here on the event path.
 *
 * <h2>Cost</h2>
 * <ul>
 * <li>Hypercalls: {@link XenDomain#dispatch} runs on the calling vCPU's thread, and each vCPU has
 * its own padded region of one array, so a hypercall adds one to a word that only its thread
 * writes (a plain increment: no fence, no atomic instruction). One call in {@link #SAMPLE_EVERY}
 * per vCPU and number is timed with {@link System#nanoTime()} (two reads of the clock cost about
 * as much as a cheap hypercall itself); the first call of each number is always timed. The latency
 * figures are therefore a sample: {@link #timedHypercalls(int)} calls took
 * {@link #timedNanos(int)} nanoseconds in all.</li>
 * <li>Events and timers are raised from any thread, so they count in {@link ThreadCounters}: one
 * per-thread cell, found by thread id, no atomic instruction.</li>
 * </ul>
 * {@code -Djxen.metrics=false} turns all of it off ({@link #COUNTING}, a constant the JIT folds),
 * which is how the benchmarks measure what it costs.
 *
 * <p>Threads: the hypercall counts of vCPU {@code v} are written only by the thread running that
 * vCPU's hypercalls (one at a time, as {@link XenDomain#dispatch} requires); event and timer counts
 * by any thread. Every getter may be called from any thread: it sees each count made before an
 * action that happens-before the call, may or may not see counts racing with it, and never sees a
 * count go down.
 */
public final class DomainStats {
    /** False when the JVM runs with {@code -Djxen.metrics=false}: then nothing is counted. */
    public static final boolean COUNTING = !"false".equalsIgnoreCase(System.getProperty("jxen.metrics"));
    /**
     * One hypercall in this many (per vCPU and number) is timed: a power of two, 256 unless
     * {@code -Djxen.metrics.hypercallSampling=N} says otherwise (rounded down to a power of two; 1
     * times every call, 0 none).
     */
    public static final int SAMPLE_EVERY =
            Integer.highestOneBit(Math.max(0, Integer.getInteger("jxen.metrics.hypercallSampling", 256)));
    /** Hypercall numbers 0 to 63 are counted one by one; higher numbers together, as {@link #OTHER}. */
    public static final int NUMBERS = 64;
    /** The index under which hypercall numbers outside 0..63 are counted. */
    public static final int OTHER = NUMBERS;

    /** What {@link #hypercallBegin} returns for a call that is not timed. */
    static final long NOT_TIMED = Long.MIN_VALUE;

    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);
    /** 16 longs = 128 bytes between two vCPUs' regions, so that they share no cache line. */
    private static final int PAD = 16;
    private static final int SLOTS = NUMBERS + 1;
    private static final int COUNT = PAD;
    private static final int TIMED = PAD + SLOTS;
    private static final int NANOS = PAD + 2 * SLOTS;
    /** One vCPU's region: padding, then counts, timed counts and timed nanoseconds by number. */
    private static final int STRIDE = PAD + 3 * SLOTS;

    private static final int KINDS = EventChannels.Kind.values().length;
    private static final int DEFERRED = KINDS;
    private static final int PER_VCPU = KINDS + 1;
    private static final int SINGLE_SHOT = 0;
    private static final int PERIODIC = 1;
    private static final int PER_VCPU_COUNTERS = 2;

    private final int vcpus;
    /**
     * vCPU {@code v}'s region starts at {@code v * STRIDE}, and padding follows the last. One flat
     * array: an array of arrays measured 1 ns more per hypercall (one more dependent load).
     */
    private final long[] hypercalls;
    private final ThreadCounters events;

    DomainStats(int vcpus) {
        this.vcpus = vcpus;
        this.hypercalls = new long[vcpus * STRIDE + PAD];
        this.events = new ThreadCounters(PER_VCPU + PER_VCPU_COUNTERS * vcpus);
    }

    public int vcpus() {
        return vcpus;
    }

    // ------------------------------------------------------------------ writers

    /**
     * The vCPU's thread begins hypercall {@code number}: returns the clock when this call is to be
     * timed, else {@link #NOT_TIMED}. It only reads the count; {@link #hypercallEnd} makes it.
     */
    long hypercallBegin(int vcpu, int number) {
        if (!COUNTING || SAMPLE_EVERY == 0) {
            return NOT_TIMED;
        }
        long n = hypercalls[vcpu * STRIDE + COUNT + slot(number)];
        return (n & (SAMPLE_EVERY - 1)) == 0 ? System.nanoTime() : NOT_TIMED;
    }

    /**
     * The vCPU's thread ends the hypercall that {@link #hypercallBegin} returned {@code start} for:
     * counts it, and adds its time if it was timed. (A hypercall that throws is not counted.)
     */
    void hypercallEnd(int vcpu, int number, long start) {
        if (!COUNTING) {
            return;
        }
        int i = vcpu * STRIDE + slot(number);
        hypercalls[i + COUNT]++;
        if (start != NOT_TIMED) {
            hypercalls[i + TIMED]++;
            hypercalls[i + NANOS] += Math.max(0, System.nanoTime() - start);
        }
    }

    /** A port of {@code kind} became pending (its bit was set in shared_info); any thread. */
    void eventSent(EventChannels.Kind kind) {
        if (COUNTING) {
            events.increment(kind.ordinal());
        }
    }

    /** An event waits because shared_info could not be locked; any thread. */
    void eventDeferred() {
        if (COUNTING) {
            events.increment(DEFERRED);
        }
    }

    /** A timer of {@code vcpu} fired; the domain's scheduler thread. */
    void timerFired(int vcpu, boolean periodic) {
        if (COUNTING) {
            events.increment(PER_VCPU + PER_VCPU_COUNTERS * vcpu + (periodic ? PERIODIC : SINGLE_SHOT));
        }
    }

    private static int slot(int number) {
        return number >= 0 && number < NUMBERS ? number : OTHER;
    }

    // ------------------------------------------------------------------ readers (any thread)

    /** Calls of hypercall {@code number} (or {@link #OTHER}) from every vCPU. */
    public long hypercalls(int number) {
        long s = 0;
        for (int v = 0; v < vcpus; v++) {
            s += hypercalls(v, number);
        }
        return s;
    }

    /** Calls of hypercall {@code number} (or {@link #OTHER}) from {@code vcpu}. */
    public long hypercalls(int vcpu, int number) {
        return read(vcpu, COUNT, number);
    }

    /** Hypercalls of every number from every vCPU. */
    public long hypercallsTotal() {
        long s = 0;
        for (int v = 0; v < vcpus; v++) {
            s += hypercallsTotal(v);
        }
        return s;
    }

    /** Hypercalls of every number from {@code vcpu}. */
    public long hypercallsTotal(int vcpu) {
        long s = 0;
        for (int n = 0; n < SLOTS; n++) {
            s += read(vcpu, COUNT, n);
        }
        return s;
    }

    /** How many calls of {@code number} (or {@link #OTHER}) were timed, from every vCPU. */
    public long timedHypercalls(int number) {
        long s = 0;
        for (int v = 0; v < vcpus; v++) {
            s += read(v, TIMED, number);
        }
        return s;
    }

    /** The time that the {@link #timedHypercalls(int) timed} calls of {@code number} took, in nanoseconds. */
    public long timedNanos(int number) {
        long s = 0;
        for (int v = 0; v < vcpus; v++) {
            s += read(v, NANOS, number);
        }
        return s;
    }

    private long read(int vcpu, int base, int number) {
        if (number < 0 || number > OTHER) {
            throw new IndexOutOfBoundsException("hypercall index " + number);
        }
        return (long) WORD.getOpaque(hypercalls, java.util.Objects.checkIndex(vcpu, vcpus) * STRIDE + base + number);
    }

    /** Ports of {@code kind} that became pending, counted each time a sender set the bit. */
    public long eventsSent(EventChannels.Kind kind) {
        return events.sum(kind.ordinal());
    }

    /** Events of every kind that became pending. */
    public long eventsSent() {
        long s = 0;
        for (EventChannels.Kind k : EventChannels.Kind.values()) {
            s += eventsSent(k);
        }
        return s;
    }

    /** Events that had to wait because shared_info could not be locked (each is sent later). */
    public long eventsDeferred() {
        return events.sum(DEFERRED);
    }

    /** Firings of {@code vcpu}'s single-shot timer ({@code set_timer_op}, {@code VCPUOP_set_singleshot_timer}). */
    public long singleShotTimerFirings(int vcpu) {
        return events.sum(PER_VCPU + PER_VCPU_COUNTERS * vcpu + SINGLE_SHOT);
    }

    /** Firings of {@code vcpu}'s periodic timer. */
    public long periodicTimerFirings(int vcpu) {
        return events.sum(PER_VCPU + PER_VCPU_COUNTERS * vcpu + PERIODIC);
    }

    /** The Xen name of hypercall index {@code number}, {@code "other"} for {@link #OTHER}. */
    public static String name(int number) {
        return number == OTHER ? "other" : Hypercall.name(number);
    }
}

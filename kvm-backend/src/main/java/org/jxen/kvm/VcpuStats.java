package org.jxen.kvm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;

/**
 * What happened to one {@link Vcpu}, for metrics and tests: {@code KVM_RUN} exits by reason,
 * returns interrupted before an exit (a kick), hypercalls by number with the time their handlers
 * took, and the upcall vectors delivered to it. Plain counts that never go down, with no dependency
 * on a metrics library.
 *
 * <h2>Why here</h2>
 * A hypercall reaches jxen through this vCPU's exit, which costs microseconds (about 15 us for the
 * port doorbell's round trip). Counting it by number and timing every call here, two clock reads
 * and three increments, costs well under 1% of that. The same work inside the in-process
 * {@code XenDomain.dispatch}, whose cheapest hypercall takes 22 ns, measured 11% to 16%; so the
 * domain itself counts no hypercalls.
 *
 * <h2>How</h2>
 * The run loop's counts are written only by the vCPU's own thread: a plain increment of a word
 * (no fence, no atomic instruction; the counts used to be {@code volatile} fields, which cost a
 * store-load fence at every exit), read from other threads with an opaque load (a 64-bit JVM writes
 * a {@code long} whole). The words are padded by 128 bytes on each side, away from other vCPUs'
 * counts. Upcalls come from any thread, each after a {@code KVM_SIGNAL_MSI} system call, so they are
 * {@link LongAdder}s. Exits, interrupted runs, the hypercall total and upcalls are always counted
 * (tests and messages use them); hypercalls by number and their time obey {@link #COUNTING}.
 *
 * <p>Threads: {@link #countExit}, {@link #countInterrupted} and {@link #countHypercall} on the vCPU
 * thread only; {@link #countUpcall} and the getters from any thread. A getter sees every count made
 * before an action that happens-before it, may or may not see counts racing with it, and never sees
 * a count go down.
 */
public final class VcpuStats {
    /** False when the JVM runs with {@code -Djxen.metrics=false}: no hypercall counts by number, no timing. */
    public static final boolean COUNTING = !"false".equalsIgnoreCase(System.getProperty("jxen.metrics"));
    /** Exit reasons 0 to 63 are counted one by one; higher ones together, under this index. */
    public static final int OTHER_REASONS = 64;
    /** Hypercall numbers 0 to 63 are counted one by one; the others together, under this index. */
    public static final int OTHER_HYPERCALLS = 64;

    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int PAD = 16;
    private static final int EXITS = PAD;
    private static final int INTERRUPTED = EXITS + OTHER_REASONS + 1;
    private static final int HYPERCALLS = INTERRUPTED + 1;
    private static final int BY_NUMBER = HYPERCALLS + 1;
    private static final int NANOS_BY_NUMBER = BY_NUMBER + OTHER_HYPERCALLS + 1;

    private final long[] words = new long[NANOS_BY_NUMBER + OTHER_HYPERCALLS + 1 + PAD];
    private final LongAdder upcalls = new LongAdder();
    private final LongAdder upcallsRefused = new LongAdder();

    VcpuStats() {
    }

    /** vCPU thread: {@code KVM_RUN} returned with {@code KVM_EXIT_*} {@code reason}. */
    void countExit(int reason) {
        words[EXITS + index(reason, OTHER_REASONS)]++;
    }

    /** vCPU thread: {@code KVM_RUN} returned {@code EINTR} before entering the guest or without an exit. */
    void countInterrupted() {
        words[INTERRUPTED]++;
    }

    /** vCPU thread: one hypercall of {@code number}, whose dispatch took {@code nanos}. */
    void countHypercall(int number, long nanos) {
        words[HYPERCALLS]++;
        if (COUNTING) {
            int i = index(number, OTHER_HYPERCALLS);
            words[BY_NUMBER + i]++;
            words[NANOS_BY_NUMBER + i] += Math.max(0, nanos);
        }
    }

    /** Any thread: the upcall vector was signalled to this vCPU; {@code accepted}: its local APIC took it. */
    void countUpcall(boolean accepted) {
        (accepted ? upcalls : upcallsRefused).increment();
    }

    private static int index(int value, int other) {
        return value >= 0 && value < other ? value : other;
    }

    private long get(int i) {
        return (long) WORD.getOpaque(words, i);
    }

    /** Exits with {@code KVM_EXIT_*} {@code reason} (or {@link #OTHER_REASONS} for all reasons above 63). */
    public long exits(int reason) {
        if (reason < 0 || reason > OTHER_REASONS) {
            throw new IndexOutOfBoundsException("exit reason index " + reason);
        }
        return get(EXITS + reason);
    }

    /** Exits of every reason. */
    public long exits() {
        long s = 0;
        for (int r = 0; r <= OTHER_REASONS; r++) {
            s += get(EXITS + r);
        }
        return s;
    }

    /** {@code KVM_RUN} calls that returned {@code EINTR} (a kick or a signal), not counted as exits. */
    public long interrupted() {
        return get(INTERRUPTED);
    }

    /** Hypercalls made through the port doorbell. */
    public long hypercalls() {
        return get(HYPERCALLS);
    }

    /** Hypercalls of {@code number} (or {@link #OTHER_HYPERCALLS} for all numbers outside 0..63); 0 with counting off. */
    public long hypercalls(int number) {
        return get(BY_NUMBER + checkHypercallIndex(number));
    }

    /** The time the handlers of {@link #hypercalls(int)}'s calls took in all, in nanoseconds. */
    public long hypercallNanos(int number) {
        return get(NANOS_BY_NUMBER + checkHypercallIndex(number));
    }

    private static int checkHypercallIndex(int number) {
        if (number < 0 || number > OTHER_HYPERCALLS) {
            throw new IndexOutOfBoundsException("hypercall index " + number);
        }
        return number;
    }

    /** Upcall vectors signalled to the vCPU ({@code KVM_SIGNAL_MSI}) that its local APIC accepted. */
    public long upcalls() {
        return upcalls.sum();
    }

    /** Upcall vectors that its local APIC refused (for example not software-enabled yet). */
    public long upcallsRefused() {
        return upcallsRefused.sum();
    }
}

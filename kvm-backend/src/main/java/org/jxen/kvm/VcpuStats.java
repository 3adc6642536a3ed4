package org.jxen.kvm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;

/**
 * What happened to one {@link Vcpu}, for metrics and tests: {@code KVM_RUN} exits by reason,
 * returns interrupted before an exit (a kick), hypercalls, and the upcall vectors delivered to it.
 * Plain counts that never go down, with no dependency on a metrics library.
 *
 * <p>The run loop's counts are written only by the vCPU's own thread: a plain increment of a word
 * (no fence, no atomic instruction; the counts used to be {@code volatile} fields, which cost a
 * store-load fence at every exit), read from other threads with an opaque load (a 64-bit JVM writes
 * a {@code long} whole). The words are padded by 128 bytes on each side, away from other vCPUs'
 * counts. Upcalls come from any thread, each after a {@code KVM_SIGNAL_MSI} system call, so they are
 * {@link LongAdder}s. Counting is always on: an exit or an upcall costs microseconds, a count a few
 * nanoseconds at most.
 *
 * <p>Threads: {@link #countExit}, {@link #countInterrupted} and {@link #countHypercall} on the vCPU
 * thread only; {@link #countUpcall} and the getters from any thread. A getter sees every count made
 * before an action that happens-before it, may or may not see counts racing with it, and never sees
 * a count go down.
 */
public final class VcpuStats {
    /** Exit reasons 0 to 63 are counted one by one; higher ones together, under this index. */
    public static final int OTHER_REASONS = 64;

    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int PAD = 16;
    private static final int EXITS = PAD;
    private static final int INTERRUPTED = EXITS + OTHER_REASONS + 1;
    private static final int HYPERCALLS = INTERRUPTED + 1;

    private final long[] words = new long[HYPERCALLS + 1 + PAD];
    private final LongAdder upcalls = new LongAdder();
    private final LongAdder upcallsRefused = new LongAdder();

    VcpuStats() {
    }

    /** vCPU thread: {@code KVM_RUN} returned with {@code KVM_EXIT_*} {@code reason}. */
    void countExit(int reason) {
        add(EXITS + index(reason));
    }

    /** vCPU thread: {@code KVM_RUN} returned {@code EINTR} before entering the guest or without an exit. */
    void countInterrupted() {
        add(INTERRUPTED);
    }

    /** vCPU thread: one hypercall through the port doorbell. */
    void countHypercall() {
        add(HYPERCALLS);
    }

    /** Any thread: the upcall vector was signalled to this vCPU; {@code accepted}: its local APIC took it. */
    void countUpcall(boolean accepted) {
        (accepted ? upcalls : upcallsRefused).increment();
    }

    private void add(int i) {
        words[i]++;
    }

    private static int index(int reason) {
        return reason >= 0 && reason < OTHER_REASONS ? reason : OTHER_REASONS;
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

    /** Upcall vectors signalled to the vCPU ({@code KVM_SIGNAL_MSI}) that its local APIC accepted. */
    public long upcalls() {
        return upcalls.sum();
    }

    /** Upcall vectors that its local APIC refused (for example not software-enabled yet). */
    public long upcallsRefused() {
        return upcallsRefused.sum();
    }
}

package org.jxen.kvm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What one {@link Vcpu}'s run loop did, for metrics and tests: {@code KVM_RUN} exits by reason,
 * returns interrupted before an exit (a kick), and hypercalls. Plain counts that never go down,
 * with no dependency on a metrics library.
 *
 * <p>Only the vCPU's own thread writes, so a count is an opaque read and write of a word (no fence,
 * no atomic instruction; the counts used to be {@code volatile} fields, which cost a store-load fence
 * at every exit). The words are padded by 128 bytes on each side, away from other vCPUs' counts.
 * Counting is always on: an exit costs microseconds, a count a fraction of a nanosecond.
 *
 * <p>Threads: the writers on the vCPU thread only; the getters from any thread. A getter sees every
 * count made before an action that happens-before it, may or may not see counts racing with it, and
 * never sees a count go down.
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

    private void add(int i) {
        WORD.setOpaque(words, i, (long) WORD.getOpaque(words, i) + 1);
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
}

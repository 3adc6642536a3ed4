package org.jxen.hypercalls.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where an {@link InMemoryXenPlatform} delivers upcalls (the event-channel vector interrupting a
 * vCPU): the interrupt controller of the in-memory machine. Choose by who delivers and who reads:
 * <ul>
 * <li>{@link #ACCEPT}: accepts and keeps nothing; any thread.</li>
 * <li>{@link Counter}: a plain {@code long}, no fence or atomic on the delivery path; exact only
 * when one thread delivers and reads (a single-threaded benchmark).</li>
 * <li>{@link AtomicCounter}: exact counts from any number of threads (JCStress states, a domain
 * whose timers deliver on its own thread), optionally of one vCPU and vector only.</li>
 * <li>{@link Recorder}: every upcall as {@code "vcpu:vector"}, in delivery order, under its lock
 * (tests that assert which upcalls happened).</li>
 * </ul>
 */
@FunctionalInterface
public interface UpcallSink {
    /** Accepts every upcall and keeps nothing. Any thread. */
    UpcallSink ACCEPT = (vcpuId, vector) -> true;

    /**
     * Vector {@code vector} interrupts vCPU {@code vcpuId}; true when the interrupt controller
     * accepted it (as {@link org.jxen.hypercalls.XenPlatform#deliverVector}).
     */
    boolean deliver(int vcpuId, int vector);

    /**
     * Counts upcalls in a plain field. Threads: exact only when one thread delivers and reads it (a
     * benchmark's own thread); another thread's deliveries may be lost or seen late.
     */
    final class Counter implements UpcallSink {
        private long count;

        @Override
        public boolean deliver(int vcpuId, int vector) {
            count++;
            return true;
        }

        /** Upcalls delivered so far (by this thread). */
        public long count() {
            return count;
        }
    }

    /**
     * Counts upcalls atomically: all of them, or only those of one vCPU and vector ({@link #of}).
     * Threads: any thread delivers and reads; the count is exact.
     */
    final class AtomicCounter implements UpcallSink {
        private final int vcpuId;
        private final int vector;
        private final AtomicLong count = new AtomicLong();

        private AtomicCounter(int vcpuId, int vector) {
            this.vcpuId = vcpuId;
            this.vector = vector;
        }

        /** Counts every upcall. */
        public static AtomicCounter all() {
            return new AtomicCounter(-1, -1);
        }

        /** Counts only the upcalls of vector {@code vector} to vCPU {@code vcpuId}; accepts the others uncounted. */
        public static AtomicCounter of(int vcpuId, int vector) {
            return new AtomicCounter(vcpuId, vector);
        }

        @Override
        public boolean deliver(int vcpuId, int vector) {
            if ((this.vcpuId < 0 || vcpuId == this.vcpuId) && (this.vector < 0 || vector == this.vector)) {
                count.incrementAndGet();
            }
            return true;
        }

        /** Upcalls counted so far. */
        public long count() {
            return count.get();
        }

        /** Starts counting again from 0 (upcalls delivered meanwhile may be counted or not). */
        public void reset() {
            count.set(0);
        }
    }

    /** Records every upcall as {@code "vcpu:vector"} (decimal), in order. Threads: any; synchronized on itself. */
    final class Recorder implements UpcallSink {
        private final List<String> upcalls = new ArrayList<>();

        @Override
        public synchronized boolean deliver(int vcpuId, int vector) {
            upcalls.add(vcpuId + ":" + vector);
            return true;
        }

        /** A copy of the upcalls delivered so far, oldest first. */
        public synchronized List<String> upcalls() {
            return List.copyOf(upcalls);
        }

        /** Forgets the upcalls recorded so far. */
        public synchronized void clear() {
            upcalls.clear();
        }
    }
}

package org.jxen.hypercalls;

/**
 * What one {@link XenDomain} did, for metrics: events sent and deferred by port kind, and timer
 * firings per vCPU. Plain counts that never go down, with no dependency on a metrics library (the
 * program binds them to its own).
 *
 * <p>Hypercalls are counted, by number and with the time of every call, by the transport that
 * delivers them ({@code org.jxen.kvm.VcpuStats}), where each costs a vCPU exit of microseconds; the
 * same work in {@link XenDomain#dispatch}, whose cheapest call takes 22 ns in process, measured
 * 11% to 16% there. Upcall deliveries are counted by the platform too, where delivering costs a
 * system call, not here on the event path.
 *
 * <p>Events and timers are raised from any thread, so they count in {@link ThreadCounters}: a
 * per-thread cell found by thread id, a plain increment, no atomic instruction.
 * {@code -Djxen.metrics=false} turns counting off ({@link #COUNTING}, a constant the JIT folds),
 * which is how the benchmarks measure what it costs.
 *
 * <p>Threads: any thread counts; every getter may be called from any thread: it sees each count
 * made before an action that happens-before the call, may or may not see counts racing with it,
 * and never sees a count go down.
 */
public final class DomainStats {
    /** False when the JVM runs with {@code -Djxen.metrics=false}: then nothing is counted. */
    public static final boolean COUNTING = !"false".equalsIgnoreCase(System.getProperty("jxen.metrics"));

    private static final int KINDS = EventChannels.Kind.values().length;
    private static final int DEFERRED = KINDS;
    private static final int PER_VCPU = KINDS + 1;
    private static final int SINGLE_SHOT = 0;
    private static final int PERIODIC = 1;
    private static final int PER_VCPU_COUNTERS = 2;

    private final int vcpus;
    private final ThreadCounters events;

    DomainStats(int vcpus) {
        this.vcpus = vcpus;
        this.events = new ThreadCounters(PER_VCPU + PER_VCPU_COUNTERS * vcpus);
    }

    public int vcpus() {
        return vcpus;
    }

    // ------------------------------------------------------------------ writers (any thread)

    /** A port of {@code kind} became pending (its bit was set in shared_info). */
    void eventSent(EventChannels.Kind kind) {
        if (COUNTING) {
            events.increment(kind.ordinal());
        }
    }

    /** An event waits because shared_info could not be locked. */
    void eventDeferred() {
        if (COUNTING) {
            events.increment(DEFERRED);
        }
    }

    /** A timer of {@code vcpu} fired (on the domain's scheduler thread). */
    void timerFired(int vcpu, boolean periodic) {
        if (COUNTING) {
            events.increment(PER_VCPU + PER_VCPU_COUNTERS * vcpu + (periodic ? PERIODIC : SINGLE_SHOT));
        }
    }

    // ------------------------------------------------------------------ readers (any thread)

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
        return events.sum(PER_VCPU + PER_VCPU_COUNTERS * java.util.Objects.checkIndex(vcpu, vcpus) + SINGLE_SHOT);
    }

    /** Firings of {@code vcpu}'s periodic timer. */
    public long periodicTimerFirings(int vcpu) {
        return events.sum(PER_VCPU + PER_VCPU_COUNTERS * java.util.Objects.checkIndex(vcpu, vcpus) + PERIODIC);
    }
}

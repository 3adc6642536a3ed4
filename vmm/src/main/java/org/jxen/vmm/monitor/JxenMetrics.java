package org.jxen.vmm.monitor;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jxen.abi.Hypercall;
import org.jxen.abi.Runstate;
import org.jxen.gpc.CacheStats;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GuestMemory;
import org.jxen.hypercalls.DomainStats;
import org.jxen.hypercalls.EventChannels;
import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.XenVcpu;
import org.jxen.kvm.KvmExit;
import org.jxen.kvm.Vcpu;
import org.jxen.kvm.VcpuStats;

/**
 * Binds jxen's plain counters ({@link DomainStats}, {@link CacheStats}, {@link VcpuStats}) to a
 * Micrometer {@link MeterRegistry} as function counters, function timers and gauges. Nothing is
 * counted twice and nothing on a hot path knows Micrometer: each meter reads the counts when the
 * registry is scraped. docs/monitor.md lists every meter.
 *
 * <p>Micrometer holds each meter's state object weakly: here they are the domain's, the memory's and
 * the vCPUs' own objects, so the meters live as long as the VM and read NaN once it is gone.
 *
 * <p>Threads: {@link #bindTo} from any one thread, once per registry; the meters' functions run on
 * whichever thread scrapes the registry (the monitor's event loop), and only read.
 */
public final class JxenMetrics implements MeterBinder {
    private final XenDomain domain;
    private final GuestMemory memory;
    private final List<Vcpu> vcpus;

    /**
     * Metrics of {@code domain}, of the caches of {@code memory}, and of the run loops of
     * {@code vcpus} (an empty list where the domain runs without KVM, as in tests).
     */
    public JxenMetrics(XenDomain domain, GuestMemory memory, List<Vcpu> vcpus) {
        this.domain = domain;
        this.memory = memory;
        this.vcpus = List.copyOf(vcpus);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        bindHypercalls(registry);
        bindEvents(registry);
        bindCaches(registry);
        bindVcpus(registry);
    }

    private void bindHypercalls(MeterRegistry registry) {
        if (vcpus.isEmpty()) {
            return; // hypercalls are counted by the KVM transport
        }
        for (int n = 0; n <= VcpuStats.OTHER_HYPERCALLS; n++) {
            String name = hypercallName(n);
            if (name == null) {
                continue; // a number Xen does not name is counted, and shown, as "other"
            }
            final int number = n;
            // the state object is a vCPU (Micrometer holds it weakly; the VM holds it), the function this
            FunctionCounter.builder("jxen.hypercalls", vcpus.get(0), x -> hypercalls(number, false))
                    .description("hypercalls made by the guest, by Xen hypercall name")
                    .tag("hypercall", name)
                    .register(registry);
            FunctionTimer.builder("jxen.hypercall.latency", vcpus.get(0), x -> hypercalls(number, false),
                            x -> hypercalls(number, true), TimeUnit.NANOSECONDS)
                    .description("time in jxen's hypercall handler (from the decoded exit to the result), every call")
                    .tag("hypercall", name)
                    .register(registry);
        }
    }

    /** The label of hypercall index {@code n}: its Xen name, "other", or null when it is counted as "other". */
    private static String hypercallName(int n) {
        if (n == VcpuStats.OTHER_HYPERCALLS) {
            return "other";
        }
        String name = Hypercall.name(n);
        return name.startsWith("hypercall_") ? null : name;
    }

    /** Calls (or their nanoseconds) of hypercall index {@code number} over every vCPU; "other" takes the unnamed. */
    private long hypercalls(int number, boolean nanos) {
        long sum = 0;
        for (Vcpu v : vcpus) {
            VcpuStats s = v.stats();
            for (int n = 0; n <= VcpuStats.OTHER_HYPERCALLS; n++) {
                if (n == number || (number == VcpuStats.OTHER_HYPERCALLS && hypercallName(n) == null)) {
                    sum += nanos ? s.hypercallNanos(n) : s.hypercalls(n);
                }
            }
        }
        return sum;
    }

    private void bindEvents(MeterRegistry registry) {
        DomainStats s = domain.stats();
        for (EventChannels.Kind kind : List.of(EventChannels.Kind.INTERDOMAIN, EventChannels.Kind.VIRQ,
                EventChannels.Kind.IPI)) {
            FunctionCounter.builder("jxen.events.sent", s, x -> x.eventsSent(kind))
                    .description("event-channel ports made pending (their bit set in shared_info), by port kind")
                    .tag("kind", kind.name().toLowerCase(java.util.Locale.ROOT))
                    .register(registry);
        }
        FunctionCounter.builder("jxen.events.deferred", s, DomainStats::eventsDeferred)
                .description("events that waited because shared_info could not be locked (each is sent later)")
                .register(registry);
        Gauge.builder("jxen.events.deferred.waiting", domain.eventChannels(), EventChannels::deferredCount)
                .description("events waiting now for shared_info to be mappable")
                .register(registry);
        for (int v = 0; v < s.vcpus(); v++) {
            final int vcpu = v;
            String id = Integer.toString(v);
            FunctionCounter.builder("jxen.timer.firings", s, x -> x.singleShotTimerFirings(vcpu))
                    .description("Xen timers of the vCPU that fired (VIRQ_TIMER raised)")
                    .tags("vcpu", id, "timer", "single_shot")
                    .register(registry);
            FunctionCounter.builder("jxen.timer.firings", s, x -> x.periodicTimerFirings(vcpu))
                    .description("Xen timers of the vCPU that fired (VIRQ_TIMER raised)")
                    .tags("vcpu", id, "timer", "periodic")
                    .register(registry);
            XenVcpu xv = domain.vcpu(v);
            for (int state = Runstate.RUNNING; state <= Runstate.OFFLINE; state++) {
                final int st = state;
                FunctionCounter.builder("jxen.vcpu.runstate", xv, x -> x.runstate().time(st) / 1e9)
                        .description("time the vCPU spent in each Xen runstate, up to its last runstate change")
                        .baseUnit("seconds")
                        .tags("vcpu", id, "state", Runstate.name(state))
                        .register(registry);
            }
        }
    }

    private void bindCaches(MeterRegistry registry) {
        String m = memory.name();
        CacheStats s = memory.cacheStats();
        FunctionCounter.builder("jxen.gpc.lock.hits", s, x -> CacheStats.lockHits())
                .description("gfn-to-pfn cache lock()/tryLock() calls that found the cache valid: every cache of the"
                        + " process (counted per thread, not per cache)")
                .register(registry);
        FunctionCounter.builder("jxen.gpc.lock.misses", s, CacheStats::lockMisses)
                .description("gfn-to-pfn cache lock()/tryLock() calls that found the cache not valid")
                .tag("memory", m)
                .register(registry);
        FunctionCounter.builder("jxen.gpc.lock.failures", s, CacheStats::lockFailures)
                .description("gfn-to-pfn cache lock() calls that could not map the area")
                .tag("memory", m)
                .register(registry);
        FunctionCounter.builder("jxen.gpc.refreshes", s, CacheStats::refreshes)
                .description("gfn-to-pfn cache refreshes that published a mapping")
                .tag("memory", m)
                .register(registry);
        FunctionCounter.builder("jxen.gpc.invalidations", s, CacheStats::invalidations)
                .description("invalidations that made a gfn-to-pfn cache invalid")
                .tag("memory", m)
                .register(registry);
        Gauge.builder("jxen.gpc.caches", memory, GuestMemory::cacheCount)
                .description("active gfn-to-pfn caches")
                .tag("memory", m)
                .register(registry);
        Gauge.builder("jxen.gpc.caches.valid", memory, x -> x.caches().stream().filter(GfnToPfnCache::check).count())
                .description("active gfn-to-pfn caches that are valid now")
                .tag("memory", m)
                .register(registry);
    }

    private void bindVcpus(MeterRegistry registry) {
        for (Vcpu v : vcpus) {
            VcpuStats s = v.stats();
            String id = Integer.toString(v.id());
            for (int r = 0; r < VcpuStats.OTHER_REASONS; r++) {
                String name = KvmExit.name(r);
                if (name.startsWith("KVM exit ")) {
                    continue; // counted as "other"
                }
                final int reason = r;
                FunctionCounter.builder("jxen.vcpu.exits", s, x -> x.exits(reason))
                        .description("KVM_RUN exits of the vCPU, by exit reason")
                        .tags("vcpu", id, "reason", name)
                        .register(registry);
            }
            FunctionCounter.builder("jxen.vcpu.exits", s, JxenMetrics::otherExits)
                    .description("KVM_RUN exits of the vCPU, by exit reason")
                    .tags("vcpu", id, "reason", "other")
                    .register(registry);
            FunctionCounter.builder("jxen.events.delivered", s, VcpuStats::upcalls)
                    .description("upcall vectors delivered to the vCPU (KVM_SIGNAL_MSI for a newly pending"
                            + " evtchn_upcall_pending) that its local APIC accepted")
                    .tag("vcpu", id)
                    .register(registry);
            FunctionCounter.builder("jxen.events.refused", s, VcpuStats::upcallsRefused)
                    .description("upcall vectors that the vCPU's local APIC did not accept")
                    .tag("vcpu", id)
                    .register(registry);
            FunctionCounter.builder("jxen.vcpu.interrupted", s, VcpuStats::interrupted)
                    .description("KVM_RUN calls that returned EINTR (a kick), not counted as exits")
                    .tag("vcpu", id)
                    .register(registry);
        }
    }

    private static long otherExits(VcpuStats s) {
        long sum = s.exits(VcpuStats.OTHER_REASONS);
        for (int r = 0; r < VcpuStats.OTHER_REASONS; r++) {
            if (KvmExit.name(r).startsWith("KVM exit ")) {
                sum += s.exits(r);
            }
        }
        return sum;
    }
}

package org.jxen.vmm.monitor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.LongSupplier;
import org.jxen.abi.Runstate;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GuestMemory;
import org.jxen.hypercalls.EventChannelSnapshot;
import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.XenVcpu;
import org.jxen.hypercalls.time.RunstateAccount;
import org.jxen.kvm.VirtualMachine;

/**
 * The {@link VmView} of a {@link XenDomain}: its vCPUs' runstates, timers and counts (with their
 * KVM run loops' states and exits when the domain runs on a {@link VirtualMachine}), its event
 * channels, the active caches of its guest memory, and the XenStore's size when there is one.
 *
 * <p>Threads: {@link #snapshot()} from any thread that holds no gfn-to-pfn cache (it locks
 * shared_info once, to read the event bits); it reads everything else without locks.
 */
public final class DomainVmView implements VmView {
    private final String name;
    private final XenDomain domain;
    private final GuestMemory memory;
    private final List<org.jxen.kvm.Vcpu> vcpus;
    private final LongSupplier xenstoreNodes;

    /**
     * @param name          the VM's name
     * @param domain        the Xen domain
     * @param memory        its guest memory
     * @param vcpus         its KVM vCPUs, by id (empty where it runs without KVM)
     * @param xenstoreNodes the number of XenStore nodes now, or null when the VM has no XenStore
     */
    public DomainVmView(String name, XenDomain domain, GuestMemory memory, List<org.jxen.kvm.Vcpu> vcpus,
            LongSupplier xenstoreNodes) {
        this.name = name;
        this.domain = domain;
        this.memory = memory;
        this.vcpus = List.copyOf(vcpus);
        this.xenstoreNodes = xenstoreNodes;
    }

    /** The view of {@code domain} running on {@code vm}; {@code xenstoreNodes} may be null. */
    public static DomainVmView of(VirtualMachine vm, XenDomain domain, LongSupplier xenstoreNodes) {
        return new DomainVmView(vm.name(), domain, vm.memory(), vm.vcpus(), xenstoreNodes);
    }

    @Override
    public Snapshot snapshot() {
        long now = domain.systemTime();
        List<Vcpu> vs = new ArrayList<>();
        for (int id = 0; id < domain.config().vcpus(); id++) {
            XenVcpu xv = domain.vcpu(id);
            RunstateAccount.Snapshot r = xv.runstate();
            Map<String, Long> times = new LinkedHashMap<>();
            for (int s = Runstate.RUNNING; s <= Runstate.OFFLINE; s++) {
                times.put(Runstate.name(s), r.time(s));
            }
            org.jxen.kvm.Vcpu kv = id < vcpus.size() ? vcpus.get(id) : null;
            vs.add(new Vcpu(id, kv != null ? kv.state().name() : null, Runstate.name(r.state()),
                    r.stateEntryTime(), times, kv != null ? kv.exitCount() : -1, kv != null ? kv.hypercallCount() : -1,
                    kv != null ? kv.stats().upcalls() : -1,
                    xv.hasVcpuInfo(), domain.timers(id).singleShotDeadline(), domain.timers(id).periodNs()));
        }
        EventChannelSnapshot ec = EventChannelSnapshot.of(domain);
        List<Port> ports = ec.ports().stream()
                .map(p -> new Port(p.port(), p.kind().name().toLowerCase(Locale.ROOT), p.vcpu(), p.virq(), p.remote(),
                        p.remotePort(), p.pending(), p.masked()))
                .toList();
        List<Cache> caches = new ArrayList<>();
        for (GfnToPfnCache c : memory.caches()) {
            caches.add(new Cache(c.name(), c.isActive(), c.check(), c.gpa(), c.length(), c.lastStatus().name(),
                    c.refreshCount(), c.invalidationCount(), c.lockMissCount()));
        }
        OptionalLong xs = xenstoreNodes != null ? OptionalLong.of(xenstoreNodes.getAsLong()) : OptionalLong.empty();
        return new Snapshot(name, domain.domid(), now, domain.shutdownReason(), List.copyOf(vs),
                new EventChannels(ec.sharedInfoMapped(), ports), List.copyOf(caches), xs);
    }
}

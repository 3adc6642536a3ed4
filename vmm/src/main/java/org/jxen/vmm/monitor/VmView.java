package org.jxen.vmm.monitor;

import java.util.List;
import java.util.OptionalLong;

/**
 * What the monitor shows under {@code /vm}: a snapshot of the VM that the program fills, so that the
 * monitor knows nothing of how the VM is built. {@link DomainVmView} fills it from a
 * {@link org.jxen.hypercalls.XenDomain} and, where there is one, its KVM
 * {@link org.jxen.kvm.VirtualMachine}.
 *
 * <p>Threads: {@link #snapshot()} is called on the monitor's event-loop thread, once per request; an
 * implementation must be safe to call from there while the VM runs, and must not block for long.
 */
@FunctionalInterface
public interface VmView {
    /** The VM now. Each part is consistent by itself; parts are taken one after the other. */
    Snapshot snapshot();

    /**
     * The VM at one moment.
     *
     * @param name           the VM's name
     * @param domid          the Xen domain id the guest sees
     * @param systemTimeNs   Xen system time when the snapshot was taken
     * @param shutdownReason the {@code SHUTDOWN_*} reason the domain shut down with, or -1 while it runs
     * @param vcpus          the vCPUs, by id
     * @param eventChannels  the bound event-channel ports
     * @param caches         the active gfn-to-pfn caches, by name
     * @param xenstoreNodes  the number of nodes in the XenStore, when the VM has one
     */
    record Snapshot(String name, int domid, long systemTimeNs, int shutdownReason, List<Vcpu> vcpus,
            EventChannels eventChannels, List<Cache> caches, OptionalLong xenstoreNodes) {
    }

    /**
     * One vCPU.
     *
     * @param id                    its id
     * @param threadState           the state of its run loop ({@code CREATED}, {@code RUNNING}, {@code PAUSED},
     *                              {@code STOPPED}), or null when it runs without KVM
     * @param runstate              its Xen runstate ({@code running}, {@code runnable}, {@code blocked}, {@code offline})
     * @param stateEntryTimeNs      when it entered that runstate (Xen system time)
     * @param runstateNs            time in each runstate up to its last change, keyed by runstate name
     * @param exits                 its {@code KVM_RUN} exits, or -1 without KVM
     * @param hypercalls            hypercalls it made, or -1 without KVM (the transport counts them)
     * @param upcalls               upcall vectors delivered to it and accepted, or -1 without KVM
     * @param hasVcpuInfo           whether events can reach it (its vcpu_info is registered or in shared_info)
     * @param singleShotDeadlineNs  its armed single-shot timer deadline, or 0
     * @param periodNs              its periodic timer's period, or 0
     */
    record Vcpu(int id, String threadState, String runstate, long stateEntryTimeNs,
            java.util.Map<String, Long> runstateNs, long exits, long hypercalls, long upcalls, boolean hasVcpuInfo,
            long singleShotDeadlineNs, long periodNs) {
    }

    /**
     * The event channels.
     *
     * @param sharedInfoMapped whether shared_info could be read (else every bit shows clear)
     * @param ports            the bound ports
     */
    record EventChannels(boolean sharedInfoMapped, List<Port> ports) {
    }

    /**
     * One bound port.
     *
     * @param port         its number
     * @param kind         {@code unbound}, {@code interdomain}, {@code virq} or {@code ipi}
     * @param vcpu         the vCPU it notifies
     * @param virq         its VIRQ, or -1
     * @param remoteDomain the remote domain of an unbound or interdomain port, or -1
     * @param remotePort   the peer of an interdomain port, or -1
     * @param pending      its pending bit
     * @param masked       its mask bit
     */
    record Port(int port, String kind, int vcpu, int virq, int remoteDomain, int remotePort, boolean pending,
            boolean masked) {
    }

    /**
     * One gfn-to-pfn cache.
     *
     * @param name          its name ({@code shared_info}, {@code vcpu0 vcpu_info}, ...)
     * @param active        activated on an area
     * @param valid         mapped now under the current memory map
     * @param gpa           the guest-physical address of its area
     * @param length        the area's length
     * @param lastStatus    the outcome of its last activation, refresh or failed lock
     * @param refreshes     refreshes that published a mapping
     * @param invalidations invalidations that made it invalid
     * @param lockMisses    locks that found it not valid
     */
    record Cache(String name, boolean active, boolean valid, long gpa, long length, String lastStatus, long refreshes,
            long invalidations, long lockMisses) {
    }
}

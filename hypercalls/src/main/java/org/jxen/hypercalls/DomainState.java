package org.jxen.hypercalls;

import java.util.List;
import org.jxen.abi.WordSize;

/**
 * All Xen state of a domain and its vCPUs as plain values, for save, restore and migration: what
 * the guest registered (by guest-physical address, and the guest-virtual one where a later
 * word-size switch needs it), the event channels and their bindings, timers with absolute
 * deadlines in Xen system time, HVM parameters, and the small rest. Guest memory is not in it (it
 * is the machine's), nor the vCPUs' registers.
 *
 * <p>Immutable apart from the arrays, which {@link XenDomain#captureState()} makes fresh and
 * {@link XenDomain#restoreState} only reads. Deadlines are absolute: the restoring platform must
 * present a Xen system time that continues the captured one.
 *
 * @param sharedInfoGfn   where the guest placed shared_info, or -1
 * @param hvmParams       every HVM parameter by index
 * @param handle          the domain's 16-byte handle (UUID)
 * @param shutdownCode    SCHEDOP_shutdown_code's reason, or -1
 * @param watchdogTimeouts per watchdog (id 1, 2): its timeout in seconds, or -1 when not in use
 * @param ports           every port that is not free
 * @param deferredPorts   ports raised while shared_info could not be written, still to deliver
 * @param fifo            the FIFO ABI's state, or null for 2-level event channels
 */
public record DomainState(int domid, int vcpuCount, WordSize wordSize, long sharedInfoGfn, long[] hvmParams,
        byte[] handle, int shutdownCode, long[] watchdogTimeouts, List<Vcpu> vcpus, List<Port> ports,
        int[] deferredPorts, Fifo fifo) {

    /**
     * One vCPU's Xen state.
     *
     * @param vcpuInfoGpa          registered vcpu_info, or -1 (the slot in shared_info)
     * @param upcallVector         HVMOP_set_evtchn_upcall_vector's vector, or 0
     * @param runstateAreaGva      the runstate area's guest-virtual address, or -1
     * @param runstateAreaGpa      its guest-physical address, or -1 when none is registered
     * @param runstateAreaSecondGpa the page with the rest of a split area, or -1
     * @param runstateWordSize     the area's layout
     * @param runstate             state, entry time and the four times
     * @param timeAreaGpa          VCPUOP_register_vcpu_time_memory_area's area, or -1
     * @param singleShotDeadline   the single-shot timer's deadline, or 0
     * @param periodNs             the periodic timer's period, or 0
     * @param periodicNextDeadline the periodic timer's next deadline, or 0
     * @param deferredSelectorWords selector words kept while vcpu_info could not be written
     */
    public record Vcpu(int id, boolean up, boolean initialised, long vcpuInfoGpa, int upcallVector,
            long runstateAreaGva, long runstateAreaGpa, long runstateAreaSecondGpa, WordSize runstateWordSize,
            org.jxen.hypercalls.time.RunstateAccount.Snapshot runstate, long timeAreaGpa, long singleShotDeadline,
            long periodNs, long periodicNextDeadline, long deferredSelectorWords) {
    }

    /**
     * One port's binding, as {@code EVTCHNOP_status} would describe it plus what the host needs.
     *
     * @param kind         the binding
     * @param notifyVcpu   the vCPU it notifies
     * @param remoteDomain for unbound and interdomain ports
     * @param remotePort   for interdomain ports
     * @param virq         for VIRQ ports
     * @param virqVcpu     for VIRQ ports: the vCPU it was bound on (bind_vcpu moves only notifyVcpu)
     * @param priority     the FIFO priority (0..15; 7 by default)
     */
    public record Port(int port, EventChannels.Kind kind, int notifyVcpu, int remoteDomain, int remotePort, int virq,
            int virqVcpu, int priority) {
    }

    /**
     * The FIFO ABI's state, when the guest initialised it.
     *
     * @param controlBlockGpas per vCPU: its control block's guest-physical address, or -1
     * @param eventArrayGfns   the event-array pages in order
     * @param queueTails       per vCPU and priority (vcpu * 16 + priority): the host's tail port, 0 for none
     */
    public record Fifo(long[] controlBlockGpas, long[] eventArrayGfns, int[] queueTails) {
    }
}

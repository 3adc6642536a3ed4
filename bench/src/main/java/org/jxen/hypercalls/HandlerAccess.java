package org.jxen.hypercalls;

import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * Benchmark access to two hypercall handlers of a {@link XenDomain}, called directly, without
 * {@link XenDomain#dispatch}: the baseline against which the dispatcher's own cost is measured.
 * Lives in the handlers' package (in the bench module only) because the handlers are package
 * private.
 *
 * <p>Threads: one benchmark thread, playing vCPU {@code vcpu}; the guest-virtual accessor is bound
 * once, as dispatch binds it on every call.
 */
public final class HandlerAccess {
    private final XenVcpu vcpu;
    private final GuestVirtualMemory guest;
    private final XenVersionOps xenVersion;
    private final EventChannelOps eventChannel;

    public HandlerAccess(XenDomain domain, XenPlatform platform, int vcpu) {
        this.vcpu = domain.vcpu(vcpu);
        this.guest = this.vcpu.guest.bind(platform.memory(), platform.pagingState(vcpu));
        this.xenVersion = new XenVersionOps(domain);
        this.eventChannel = new EventChannelOps(domain, platform);
    }

    /** {@code xen_version}'s handler. */
    public long xenVersion(HypercallRequest r) {
        return xenVersion.handle(guest, vcpu, r);
    }

    /** {@code event_channel_op}'s handler. */
    public long eventChannelOp(HypercallRequest r) {
        return eventChannel.handle(guest, vcpu, r);
    }
}

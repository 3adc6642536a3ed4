/*
 * test-evtchn: event channels end to end (SCENARIOS.md 1, 5, 6, 8, 9).
 *
 * With xen_setup() the guest maps shared_info (XENMEM_add_to_physmap into a page of
 * its own), registers its upcall vector (HVMOP_set_evtchn_upcall_vector, 0xf3, with
 * the local APIC in x2APIC mode) and handles upcalls the way Linux does
 * (xen_evtchn_do_upcall): clear evtchn_upcall_pending, take evtchn_pending_sel, and
 * for each selected word handle pending & ~mask, clearing the pending bits it handles.
 *
 * Host expectations (each SYNC waits for the host):
 *   SYNC(1, ipi port, shared_info gpa)   the host raises the IPI port from another thread
 *                                        (scenarios 1 and 8); the guest halts until it sees it
 *   SYNC(2, upcalls, hits on the port)
 *   SYNC(3, unbound port, local port)    the guest then EVTCHNOP_sends on the local end of
 *                                        a loopback interdomain channel (scenario 9)
 *   SYNC(4, upcalls, hits on the unbound port)
 *   SYNC(5, ipi port)                    the guest has masked the IPI port; the host raises it
 *   SYNC(6, pending bit, upcalls)        pending set, no upcall (scenario 5)
 *   SYNC(7, upcalls, hits)               after EVTCHNOP_unmask: the upcall came (scenario 6)
 *   DONE
 */
#include "guest.h"
#include "xen_setup.h"

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    struct xen_setup setup = { .upcall = XEN_UPCALL_PER_VCPU };
    xen_setup(&setup);

    /* scenarios 1 and 8: the host raises an IPI port from another thread */
    int p = xen_bind_ipi(0);
    GUEST_ASSERT(p > 0);
    GUEST_SYNC(1, p, virt_to_phys(xen_shinfo));
    xen_wait_for_hits(p, 1);
    GUEST_SYNC(2, xen_upcalls[0], xen_evtchn_hits[p]);

    /* scenario 9: send on a loopback interdomain channel; the peer's upcall arrives */
    int unbound = xen_alloc_unbound();
    GUEST_ASSERT(unbound > 0);
    struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF, .remote_port = unbound };
    GUEST_ASSERT_EQ(HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bi), 0);
    GUEST_SYNC(3, unbound, bi.local_port);
    GUEST_ASSERT_EQ(xen_evtchn_send(bi.local_port), 0);
    xen_wait_for_hits(unbound, 1);
    GUEST_SYNC(4, xen_upcalls[0], xen_evtchn_hits[unbound]);

    /* scenarios 5 and 6: a masked port is pending without an upcall; unmask delivers it */
    xen_evtchn_mask(p);
    uint64_t before = xen_upcalls[0];
    GUEST_SYNC(5, p);
    for (volatile int i = 0; i < 1000000; i++)
        cpu_relax();
    GUEST_SYNC(6, xen_evtchn_pending(p), xen_upcalls[0] - before);
    GUEST_ASSERT_EQ(xen_evtchn_unmask(p), 0);
    xen_wait_for_hits(p, 2);
    GUEST_SYNC(7, xen_upcalls[0], xen_evtchn_hits[p]);
    GUEST_DONE();
}

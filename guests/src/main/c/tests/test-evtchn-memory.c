/*
 * test-evtchn-memory: events from the host while guest memory changes under the
 * host's caches (SCENARIOS.md 7 and 16). The guest only counts: the host raises
 * each port again only after the guest's count for it caught up, so every raise is
 * one upcall-handled hit (2-level ports coalesce otherwise), and "every accepted
 * event is seen" is hits == raises per port.
 *
 * Set-up (xen_setup.h): shared_info at a frame the host offers (scenario 16: in a
 * memslot of its own, which the host removes, re-adds with other backing, and
 * invalidates) or in the guest's own frame (scenario 7); vcpu_info at offset 0x100 of
 * a page of the guest's own; a runstate area across a page boundary; the per-vCPU
 * upcall vector.
 *
 * Host expectations:
 *   SYNC(1)   reply args[0] = gva of a page-aligned frame for shared_info, or 0 for the
 *             guest's own; args[1] = its gpa; args[2] = number of ports K (1 to 64)
 *   SYNC(2, first port, K, gpa of the hit counters, gpa of the stop word)
 *             K IPI ports first..first+K-1 on vCPU 0, unmasked; hit counters are
 *             uint32_t per port number (xen_evtchn_hits). The guest halts between
 *             upcalls until the stop word is non-zero (the host then raises a port).
 *   SYNC(3, upcalls, total hits over the K ports)
 *   DONE
 */
#include "xen_setup.h"

static volatile uint64_t stop;

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    struct ucall *uc = GUEST_SYNC(1);
    void *frame = (void *)uc->args[0];
    uint64_t frame_gpa = uc->args[1];
    uint64_t k = uc->args[2];
    GUEST_ASSERT(k >= 1 && k <= 64);
    struct xen_setup setup = { .shared_info = frame, .shared_info_gpa = frame_gpa, .vcpu_info_offset = 0x100,
                               .runstate_across_pages = 1, .upcall = XEN_UPCALL_PER_VCPU };
    xen_setup(&setup);
    int first = xen_bind_ipi(0);
    GUEST_ASSERT(first > 0);
    for (uint64_t i = 1; i < k; i++)
        GUEST_ASSERT_EQ(xen_bind_ipi(0), first + i);

    GUEST_SYNC(2, first, k, virt_to_phys((const void *)xen_evtchn_hits), virt_to_phys((const void *)&stop));
    cli();
    while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
        halt();
        cli();
    }
    sti();
    uint64_t total = 0;
    for (uint64_t i = 0; i < k; i++)
        total += xen_evtchn_hits[first + i];
    GUEST_SYNC(3, xen_upcalls[0], total);
    GUEST_DONE();
}

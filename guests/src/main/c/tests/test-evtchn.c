/*
 * test-evtchn: event channels end to end (SCENARIOS.md 1, 5, 6, 8, 9).
 *
 * The guest maps shared_info (XENMEM_add_to_physmap into a page of its own),
 * registers its upcall vector (HVMOP_set_evtchn_upcall_vector, 0xf3, with the local
 * APIC in x2APIC mode) and handles upcalls the way Linux does: clear
 * evtchn_upcall_pending, take evtchn_pending_sel, and for each selected word handle
 * pending & ~mask, clearing the pending bits it handles.
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

#define UPCALL_VECTOR 0xf3

/* shared_info gets a frame of its own, as Xen replaces the whole frame */
static union {
    struct shared_info s;
    uint8_t frame[4096];
} shinfo_frame __attribute__((aligned(4096)));
#define shinfo (shinfo_frame.s)
static volatile uint64_t upcalls;
static volatile uint32_t hits[4096];

static void upcall_handler(struct trap_frame *f)
{
    (void)f;
    struct vcpu_info *vi = &shinfo.vcpu_info[0];
    upcalls++;
    vi->evtchn_upcall_pending = 0;
    uint64_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    while (sel) {
        unsigned word = __builtin_ctzll(sel);
        sel &= sel - 1;
        uint64_t bits = __atomic_load_n(&shinfo.evtchn_pending[word], __ATOMIC_SEQ_CST)
                        & ~__atomic_load_n(&shinfo.evtchn_mask[word], __ATOMIC_SEQ_CST);
        __atomic_fetch_and(&shinfo.evtchn_pending[word], ~bits, __ATOMIC_SEQ_CST);
        while (bits) {
            unsigned bit = __builtin_ctzll(bits);
            bits &= bits - 1;
            hits[word * 64 + bit]++;
        }
    }
    apic_eoi();
}

static void wait_for_hit(uint32_t port, uint32_t want)
{
    cli();
    while (hits[port] < want) {
        halt();
        cli();
    }
    sti();
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    GUEST_ASSERT(xen_hypercall_init() == 0);
    GUEST_ASSERT(x2apic_available());
    idt_set_handler(UPCALL_VECTOR, upcall_handler);
    x2apic_enable();

    struct xen_add_to_physmap xatp = { .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .idx = 0,
                                       .gpfn = virt_to_phys(&shinfo) >> 12 };
    GUEST_ASSERT_EQ(hypercall2(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, &xatp), 0);
    struct xen_hvm_evtchn_upcall_vector up = { .vcpu = 0, .vector = UPCALL_VECTOR };
    GUEST_ASSERT_EQ(hypercall2(__HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, &up), 0);

    /* scenarios 1 and 8: the host raises an IPI port from another thread */
    struct evtchn_bind_ipi ipi = { .vcpu = 0 };
    GUEST_ASSERT_EQ(hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi, &ipi), 0);
    uint32_t p = ipi.port;
    GUEST_SYNC(1, p, virt_to_phys(&shinfo));
    wait_for_hit(p, 1);
    GUEST_SYNC(2, upcalls, hits[p]);

    /* scenario 9: send on a loopback interdomain channel; the peer's upcall arrives */
    struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };
    GUEST_ASSERT_EQ(hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, &au), 0);
    struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF, .remote_port = au.port };
    GUEST_ASSERT_EQ(hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_interdomain, &bi), 0);
    GUEST_SYNC(3, au.port, bi.local_port);
    struct evtchn_port_arg send = { .port = bi.local_port };
    GUEST_ASSERT_EQ(hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_send, &send), 0);
    wait_for_hit(au.port, 1);
    GUEST_SYNC(4, upcalls, hits[au.port]);

    /* scenarios 5 and 6: a masked port is pending without an upcall; unmask delivers it */
    __atomic_fetch_or(&shinfo.evtchn_mask[p / 64], 1ull << (p % 64), __ATOMIC_SEQ_CST);
    uint64_t before = upcalls;
    GUEST_SYNC(5, p);
    for (volatile int i = 0; i < 1000000; i++)
        cpu_relax();
    uint64_t pending = (__atomic_load_n(&shinfo.evtchn_pending[p / 64], __ATOMIC_SEQ_CST) >> (p % 64)) & 1;
    GUEST_SYNC(6, pending, upcalls - before);
    struct evtchn_port_arg um = { .port = p };
    GUEST_ASSERT_EQ(hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_unmask, &um), 0);
    wait_for_hit(p, 2);
    GUEST_SYNC(7, upcalls, hits[p]);
    GUEST_DONE();
}

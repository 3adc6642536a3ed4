/* Shared set-up and event-channel helpers of the scenario guests: see xen_setup.h. */
#include "xen_setup.h"
#include "compat32.h"

/* shared_info gets a frame of its own, as Xen replaces the whole frame */
static uint8_t shinfo_frame[PAGE_SIZE] __attribute__((aligned(4096)));
static uint8_t vcpu_info_pages[XEN_SETUP_MAX_VCPUS][PAGE_SIZE] __attribute__((aligned(4096)));
static uint8_t runstate_pages[XEN_SETUP_MAX_VCPUS][2 * PAGE_SIZE] __attribute__((aligned(4096)));
#define RUNSTATE_BEFORE_BOUNDARY 20 /* 20 bytes in the first page, the rest in the second */

struct shared_info *xen_shinfo;
struct vcpu_info *xen_vcpu_info[XEN_SETUP_MAX_VCPUS];
struct vcpu_runstate_info *xen_runstate[XEN_SETUP_MAX_VCPUS];
volatile uint64_t xen_upcalls[XEN_SETUP_MAX_VCPUS];
volatile uint32_t xen_evtchn_hits[XEN_NR_PORTS];
volatile uint64_t xen_upcall_cs[XEN_SETUP_MAX_VCPUS];
volatile int xen_abi_32bit;

static void hit_bits(uint64_t bits, unsigned word, unsigned bits_per_word)
{
    while (bits) {
        unsigned bit = __builtin_ctzll(bits);
        bits &= bits - 1;
        uint32_t port = word * bits_per_word + bit;
        if (port < XEN_NR_PORTS)
            __atomic_fetch_add(&xen_evtchn_hits[port], 1, __ATOMIC_SEQ_CST);
    }
}

/*
 * Linux's 2-level upcall, in both layouts: clear evtchn_upcall_pending, take the
 * selector, and for each selected word handle pending & ~mask, clearing the pending
 * bits it handles. See xen_setup.h.
 */
void xen_evtchn_do_upcall(struct trap_frame *f)
{
    uint32_t cpu = this_vcpu_id() % XEN_SETUP_MAX_VCPUS;
    uint8_t *vi = (uint8_t *)xen_vcpu_info[cpu];
    uint8_t *si = (uint8_t *)xen_shinfo;
    xen_upcall_cs[cpu] = f->cs;
    xen_upcalls[cpu]++;
    if (vi && si) {
        __atomic_store_n(&vi[0], 0, __ATOMIC_SEQ_CST);
        if (xen_abi_32bit) {
            uint32_t sel = __atomic_exchange_n((uint32_t *)(vi + XEN32_VCPU_INFO_PENDING_SEL), 0, __ATOMIC_SEQ_CST);
            uint32_t *pending = (uint32_t *)(si + XEN32_SHINFO_EVTCHN_PENDING);
            uint32_t *mask = (uint32_t *)(si + XEN32_SHINFO_EVTCHN_MASK);
            while (sel) {
                unsigned w = __builtin_ctz(sel);
                sel &= sel - 1;
                uint32_t bits = __atomic_load_n(&pending[w], __ATOMIC_SEQ_CST) & ~__atomic_load_n(&mask[w], __ATOMIC_SEQ_CST);
                __atomic_fetch_and(&pending[w], ~bits, __ATOMIC_SEQ_CST);
                hit_bits(bits, w, 32);
            }
        } else {
            struct vcpu_info *v = (struct vcpu_info *)vi;
            uint64_t sel = __atomic_exchange_n(&v->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
            while (sel) {
                unsigned w = __builtin_ctzll(sel);
                sel &= sel - 1;
                uint64_t bits = __atomic_load_n(&xen_shinfo->evtchn_pending[w], __ATOMIC_SEQ_CST)
                                & ~__atomic_load_n(&xen_shinfo->evtchn_mask[w], __ATOMIC_SEQ_CST);
                __atomic_fetch_and(&xen_shinfo->evtchn_pending[w], ~bits, __ATOMIC_SEQ_CST);
                hit_bits(bits, w, 64);
            }
        }
    }
    apic_eoi();
}

void xen_setup(const struct xen_setup *o)
{
    uint32_t cpu = this_vcpu_id();
    GUEST_ASSERT(cpu < XEN_SETUP_MAX_VCPUS);
    if (!xen_present())
        GUEST_ASSERT(xen_hypercall_init() == 0);
    GUEST_ASSERT(x2apic_available());
    idt_set_handler(XEN_UPCALL_VECTOR, o->upcall_handler ? o->upcall_handler : xen_evtchn_do_upcall);
    x2apic_enable();

    if (!xen_shinfo) {
        void *frame = o->shared_info ? o->shared_info : shinfo_frame;
        GUEST_ASSERT(((uint64_t)frame & (PAGE_SIZE - 1)) == 0);
        struct xen_add_to_physmap xatp = { .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .idx = 0 };
        /* a frame outside the image (the host's) comes with its gpa */
        xatp.gpfn = (o->shared_info ? o->shared_info_gpa : virt_to_phys(frame)) >> 12;
        GUEST_ASSERT_EQ(HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp), 0);
        xen_shinfo = frame;
    }
    xen_vcpu_info[cpu] = &xen_shinfo->vcpu_info[cpu];
    if (o->vcpu_info_offset) {
        GUEST_ASSERT(o->vcpu_info_offset + sizeof(struct vcpu_info) <= PAGE_SIZE);
        uint8_t *page = vcpu_info_pages[cpu];
        struct vcpu_register_vcpu_info r = { .mfn = virt_to_phys(page) >> 12, .offset = o->vcpu_info_offset };
        GUEST_ASSERT_EQ(HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, cpu, &r), 0);
        xen_vcpu_info[cpu] = (struct vcpu_info *)(page + o->vcpu_info_offset);
    }
    if (o->runstate_across_pages) {
        struct vcpu_runstate_info *area =
            (struct vcpu_runstate_info *)(runstate_pages[cpu] + PAGE_SIZE - RUNSTATE_BEFORE_BOUNDARY);
        struct vcpu_register_memory_area r = { .addr = (uint64_t)area };
        GUEST_ASSERT_EQ(HYPERVISOR_vcpu_op(VCPUOP_register_runstate_memory_area, cpu, &r), 0);
        GUEST_ASSERT_EQ(area->state, RUNSTATE_running);
        xen_runstate[cpu] = area;
    }
    if (o->upcall == XEN_UPCALL_CALLBACK_IRQ) {
        struct xen_hvm_param p = { .domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ,
                                   .value = (HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | XEN_UPCALL_VECTOR };
        GUEST_ASSERT_EQ(HYPERVISOR_hvm_op(HVMOP_set_param, &p), 0);
    } else {
        struct xen_hvm_evtchn_upcall_vector up = { .vcpu = cpu, .vector = XEN_UPCALL_VECTOR };
        GUEST_ASSERT_EQ(HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &up), 0);
    }
}

/* ---- ports ---- */

int xen_bind_ipi(uint32_t vcpu)
{
    struct evtchn_bind_ipi a = { .vcpu = vcpu };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &a);
    return rc < 0 ? (int)rc : (int)a.port;
}

int xen_bind_virq(uint32_t virq, uint32_t vcpu)
{
    struct evtchn_bind_virq a = { .virq = virq, .vcpu = vcpu };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &a);
    return rc < 0 ? (int)rc : (int)a.port;
}

int xen_alloc_unbound(void)
{
    struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &a);
    return rc < 0 ? (int)rc : (int)a.port;
}

long xen_evtchn_send(uint32_t port)
{
    struct evtchn_port_arg a = { .port = port };
    return HYPERVISOR_event_channel_op(EVTCHNOP_send, &a);
}

long xen_evtchn_unmask(uint32_t port)
{
    struct evtchn_port_arg a = { .port = port };
    return HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &a);
}

static uint32_t *word32(uint32_t offset, uint32_t port)
{
    return (uint32_t *)((uint8_t *)xen_shinfo + offset) + port / 32;
}

void xen_evtchn_mask(uint32_t port)
{
    if (xen_abi_32bit)
        __atomic_fetch_or(word32(XEN32_SHINFO_EVTCHN_MASK, port), 1u << (port % 32), __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_or(&xen_shinfo->evtchn_mask[port / 64], 1ull << (port % 64), __ATOMIC_SEQ_CST);
}

int xen_evtchn_pending(uint32_t port)
{
    if (xen_abi_32bit)
        return (__atomic_load_n(word32(XEN32_SHINFO_EVTCHN_PENDING, port), __ATOMIC_SEQ_CST) >> (port % 32)) & 1;
    return (__atomic_load_n(&xen_shinfo->evtchn_pending[port / 64], __ATOMIC_SEQ_CST) >> (port % 64)) & 1;
}

void xen_evtchn_clear(uint32_t port)
{
    if (xen_abi_32bit)
        __atomic_fetch_and(word32(XEN32_SHINFO_EVTCHN_PENDING, port), ~(1u << (port % 32)), __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_and(&xen_shinfo->evtchn_pending[port / 64], ~(1ull << (port % 64)), __ATOMIC_SEQ_CST);
}

void xen_wait_for_hits(uint32_t port, uint32_t count)
{
    cli();
    while (__atomic_load_n(&xen_evtchn_hits[port], __ATOMIC_SEQ_CST) < count) {
        halt(); /* sti; hlt: an upcall ends the hlt */
        cli();
    }
    sti();
}

/* ---- time, timers, poll ---- */

uint64_t xen_get_time(void)
{
    struct { uint64_t now; } t = { 0 };
    GUEST_ASSERT_EQ(HYPERVISOR_hvm_op(HVMOP_get_time, &t), 0);
    return t.now;
}

long xen_set_timer_op(uint64_t deadline)
{
    return hypercall1(__HYPERVISOR_set_timer_op, deadline);
}

long xen_set_singleshot(uint64_t deadline, uint32_t flags)
{
    struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = deadline, .flags = flags };
    return HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, this_vcpu_id(), &t);
}

long xen_poll(uint32_t *ports, uint32_t nr_ports, uint64_t timeout)
{
    struct sched_poll p = { .ports = ports, .nr_ports = nr_ports, .timeout = timeout };
    return HYPERVISOR_sched_op(SCHEDOP_poll, &p);
}

/*
 * test-evtchn-fifo: the FIFO event-channel ABI end to end.
 *
 * With xen_setup() the guest maps shared_info (its vcpu_info 0 carries
 * evtchn_upcall_pending) and registers its upcall vector with its own handler, then
 * sets up FIFO: EVTCHNOP_init_control with a
 * control block at a non-zero offset of a page of its own, and
 * EVTCHNOP_expand_array with one event-array page whose words it first sets to
 * MASKED (as Linux does). Its upcall handler is the FIFO consumer: clear
 * evtchn_upcall_pending, take READY with an exchange, and while a queue is ready
 * take its head (the remembered next port, or head[q] from the control block),
 * unlink it with a compare-and-swap that clears LINKED and LINK, drop the queue
 * when LINK was 0, and if the word is PENDING and not MASKED clear PENDING and
 * count the port; re-read READY after each event.
 *
 * Host expectations (each SYNC waits for the host):
 *   SYNC(1, ipi, link_bits, bad-offset rc, expand rc)   FIFO is set up; bad input failed
 *   SYNC(2, upcalls, hits on ipi)         after EVTCHNOP_send on the IPI
 *   SYNC(3, first, second, third, n)      three IPIs of priorities 9, 7, 3, sent in that order
 *                                         with interrupts off, handled in priority order
 *   SYNC(4, ipi)                          the host raises the IPI from another thread
 *   SYNC(5, hits on ipi)
 *   SYNC(6, ipi)                          the guest masked the IPI; the host raises it
 *   SYNC(7, word PENDING, upcalls during the mask, set_priority(16) rc)
 *   SYNC(8, hits on ipi, unmask went through the hypervisor)   after unmasking
 *   DONE
 */
#include "guest.h"
#include "xen_setup.h"

#define EVTCHNOP_init_control 11
#define EVTCHNOP_expand_array 12
#define EVTCHNOP_set_priority 13

#define FIFO_PENDING (1u << 31)
#define FIFO_MASKED  (1u << 30)
#define FIFO_LINKED  (1u << 29)
#define FIFO_BUSY    (1u << 28)
#define FIFO_LINK_MASK ((1u << 17) - 1)
#define FIFO_QUEUES 16
#define WORDS_PER_PAGE 1024
#define CONTROL_BLOCK_OFFSET 0x140

struct evtchn_fifo_control_block {
    uint32_t ready;
    uint32_t _rsvd;
    uint32_t head[FIFO_QUEUES];
};

struct evtchn_init_control {
    uint64_t control_gfn;
    uint32_t offset;
    uint32_t vcpu;
    uint8_t link_bits;
    uint8_t _pad[7];
};

struct evtchn_expand_array {
    uint64_t array_gfn;
};

struct evtchn_set_priority {
    uint32_t port;
    uint32_t priority;
};

XEN_PIN_SIZE(evtchn_fifo_control_block, 72);
XEN_PIN_OFF(evtchn_fifo_control_block, head, 8);
XEN_PIN_SIZE(evtchn_init_control, 24);
XEN_PIN_OFF(evtchn_init_control, link_bits, 16);
XEN_PIN_SIZE(evtchn_expand_array, 8);
XEN_PIN_SIZE(evtchn_set_priority, 8);

static uint8_t control_page[4096] __attribute__((aligned(4096)));
static volatile uint32_t event_words[WORDS_PER_PAGE] __attribute__((aligned(4096)));
#define control_block ((volatile struct evtchn_fifo_control_block *)(control_page + CONTROL_BLOCK_OFFSET))

static uint32_t local_head[FIFO_QUEUES];
static volatile uint32_t order[8];
static volatile uint32_t norder;

static long evtchn_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}

static void upcall_handler(struct trap_frame *f)
{
    (void)f;
    xen_upcalls[0]++;
    xen_vcpu_info[0]->evtchn_upcall_pending = 0;
    uint32_t ready = __atomic_exchange_n(&control_block->ready, 0, __ATOMIC_SEQ_CST);
    while (ready) {
        unsigned q = __builtin_ctz(ready);
        uint32_t head = local_head[q];
        if (head == 0)
            head = __atomic_load_n(&control_block->head[q], __ATOMIC_SEQ_CST);
        if (head == 0 || head >= WORDS_PER_PAGE)
            break; /* not in this guest's one page: the host checks the hits */
        uint32_t w = __atomic_load_n(&event_words[head], __ATOMIC_SEQ_CST);
        while (!__atomic_compare_exchange_n(&event_words[head], &w, w & ~(FIFO_LINKED | FIFO_LINK_MASK), 0,
                                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            ;
        uint32_t link = w & FIFO_LINK_MASK;
        if (link == 0)
            ready &= ~(1u << q);
        w = __atomic_load_n(&event_words[head], __ATOMIC_SEQ_CST);
        if ((w & FIFO_PENDING) && !(w & FIFO_MASKED)) {
            __atomic_fetch_and(&event_words[head], ~FIFO_PENDING, __ATOMIC_SEQ_CST);
            xen_evtchn_hits[head]++;
            if (norder < 8)
                order[norder++] = head;
        }
        local_head[q] = link;
        ready |= __atomic_exchange_n(&control_block->ready, 0, __ATOMIC_SEQ_CST);
    }
    apic_eoi();
}

/* Linux's unmask: clear MASKED if not PENDING (waiting while BUSY); else ask Xen. Returns 1 if it asked. */
static int unmask(uint32_t port)
{
    uint32_t w = __atomic_load_n(&event_words[port], __ATOMIC_SEQ_CST);
    for (;;) {
        if (w & FIFO_PENDING) {
            struct evtchn_port_arg um = { .port = port };
            GUEST_ASSERT_EQ(evtchn_op(EVTCHNOP_unmask, &um), 0);
            return 1;
        }
        if (w & FIFO_BUSY) {
            cpu_relax();
            w = __atomic_load_n(&event_words[port], __ATOMIC_SEQ_CST);
            continue;
        }
        if (__atomic_compare_exchange_n(&event_words[port], &w, w & ~FIFO_MASKED, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return 0;
    }
}

static uint32_t bind_ipi(void)
{
    struct evtchn_bind_ipi ipi = { .vcpu = 0 };
    GUEST_ASSERT_EQ(evtchn_op(EVTCHNOP_bind_ipi, &ipi), 0);
    GUEST_ASSERT(ipi.port < WORDS_PER_PAGE);
    GUEST_ASSERT_EQ(unmask(ipi.port), 0);
    return ipi.port;
}

static void send(uint32_t port)
{
    struct evtchn_port_arg s = { .port = port };
    GUEST_ASSERT_EQ(evtchn_op(EVTCHNOP_send, &s), 0);
}

static long set_priority(uint32_t port, uint32_t priority)
{
    struct evtchn_set_priority sp = { .port = port, .priority = priority };
    return evtchn_op(EVTCHNOP_set_priority, &sp);
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    struct xen_setup setup = { .upcall = XEN_UPCALL_PER_VCPU, .upcall_handler = upcall_handler };
    xen_setup(&setup);

    /* bad input first: a control block that would cross the page */
    struct evtchn_init_control init = { .control_gfn = virt_to_phys(control_page) >> 12,
                                        .offset = 4096 - 64, .vcpu = 0 };
    long bad = evtchn_op(EVTCHNOP_init_control, &init);
    init.offset = CONTROL_BLOCK_OFFSET;
    GUEST_ASSERT_EQ(evtchn_op(EVTCHNOP_init_control, &init), 0);
    for (int i = 0; i < WORDS_PER_PAGE; i++)
        event_words[i] = FIFO_MASKED;
    struct evtchn_expand_array ex = { .array_gfn = virt_to_phys((const void *)event_words) >> 12 };
    long expanded = evtchn_op(EVTCHNOP_expand_array, &ex);
    GUEST_ASSERT_EQ(expanded, 0);

    uint32_t p = bind_ipi();
    GUEST_SYNC(1, p, init.link_bits, bad, expanded);

    send(p);
    xen_wait_for_hits(p, 1);
    GUEST_SYNC(2, xen_upcalls[0], xen_evtchn_hits[p]);

    /* priorities: sent low, default, high with interrupts off; one upcall takes them high first */
    uint32_t low = bind_ipi(), mid = bind_ipi(), high = bind_ipi();
    GUEST_ASSERT_EQ(set_priority(low, 9), 0);
    GUEST_ASSERT_EQ(set_priority(high, 3), 0);
    norder = 0;
    cli();
    send(low);
    send(mid);
    send(high);
    sti();
    xen_wait_for_hits(low, 1);
    GUEST_ASSERT_EQ(xen_evtchn_hits[mid], 1);
    GUEST_ASSERT_EQ(xen_evtchn_hits[high], 1);
    GUEST_SYNC(3, order[0] == high, order[1] == mid, order[2] == low, norder);

    /* the host raises the IPI from another thread while the guest halts */
    GUEST_SYNC(4, p);
    xen_wait_for_hits(p, 2);
    GUEST_SYNC(5, xen_evtchn_hits[p]);

    /* masked: pending, no upcall; unmask links it and the upcall comes */
    __atomic_fetch_or(&event_words[p], FIFO_MASKED, __ATOMIC_SEQ_CST);
    uint64_t before = xen_upcalls[0];
    GUEST_SYNC(6, p);
    /* the host raised it before resuming us: a (wrong) upcall would be taken at once, with
       interrupts on; give it a moment (short: a pause can exit under nested virtualisation) */
    for (volatile int i = 0; i < 10000; i++)
        cpu_relax();
    uint32_t w = __atomic_load_n(&event_words[p], __ATOMIC_SEQ_CST);
    long badprio = set_priority(p, 16);
    GUEST_SYNC(7, (w & FIFO_PENDING) != 0, xen_upcalls[0] - before, badprio);
    int asked = unmask(p);
    xen_wait_for_hits(p, 3);
    GUEST_SYNC(8, xen_evtchn_hits[p], asked);
    GUEST_DONE();
}

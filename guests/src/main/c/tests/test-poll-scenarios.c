/*
 * test-poll-scenarios: SCHEDOP_poll (SCENARIOS.md 12, 13, 14 and 17).
 *
 * Set-up (xen_setup.h): shared_info in a frame of the guest's own, vcpu_info at offset
 * 0x80 of a page of its own, a runstate area across a page boundary, the per-vCPU
 * upcall vector; interrupts on throughout, so an upcall that should not come would be
 * counted. Ports polled are masked: a poll waits for the pending bit, masked or not,
 * and a masked port gives no upcall.
 *
 * Host expectations:
 *   SYNC(1)                          reply args[0] = scenario (12, 13, 14 or 17);
 *                                    for 17 also args[1] = seed, args[2] = iterations
 * 12 (already-pending masked port, timeout 0 = no timeout: returns at once):
 *   SYNC(12, rc, pending after, hits on the port, upcalls)
 * 13 (a timeout, nothing pending: returns after the timeout):
 *   SYNC(13, rc, deadline, returned at, pending after)
 * 14 (no timeout; a timer raises the masked VIRQ_TIMER port: the poller wakes):
 *   SYNC(14, rc, deadline, returned at, pending after, hits on the timer port)
 *   the poll is on two ports, an idle IPI port and the timer port
 * 17 (poll racing a timer, many rounds: no lost wake-up): each round arms set_timer_op
 *   at now + d, d from the seed in [-50, +200) us, and polls the masked timer port
 *   without a timeout; it must return with the port pending and not before the
 *   deadline; the guest clears the bit and goes on.
 *   SYNC(17, rounds done, rounds whose deadline had passed at the poll, max wait ns)
 *                                    every 500 rounds and at the end (rounds = all)
 *   SYNC(18, hits on the timer port, upcalls)
 *   DONE
 */
#include "xen_setup.h"

#define MS 1000000ull

static uint64_t rng;

static uint64_t next_random(void)
{
    /* xorshift64*: the sequence is fixed by the host's seed */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static void scenario12(void)
{
    uint32_t p = xen_bind_ipi(0);
    xen_evtchn_mask(p);
    GUEST_ASSERT_EQ(xen_evtchn_send(p), 0);
    GUEST_ASSERT(xen_evtchn_pending(p));
    long rc = xen_poll(&p, 1, 0);
    GUEST_SYNC(12, rc, xen_evtchn_pending(p), xen_evtchn_hits[p], xen_upcalls[0]);
}

static void scenario13(void)
{
    uint32_t p = xen_bind_ipi(0);
    xen_evtchn_mask(p);
    uint64_t deadline = xen_get_time() + 50 * MS;
    long rc = xen_poll(&p, 1, deadline);
    uint64_t back = xen_get_time();
    GUEST_SYNC(13, rc, deadline, back, xen_evtchn_pending(p));
}

static void scenario14(void)
{
    uint32_t idle = xen_bind_ipi(0);
    int timer = xen_bind_virq(VIRQ_TIMER, 0);
    GUEST_ASSERT(timer > 0);
    xen_evtchn_mask(idle);
    xen_evtchn_mask(timer);
    uint32_t ports[2] = { idle, (uint32_t)timer };
    uint64_t deadline = xen_get_time() + 20 * MS;
    GUEST_ASSERT_EQ(xen_set_timer_op(deadline), 0);
    long rc = xen_poll(ports, 2, 0);
    uint64_t back = xen_get_time();
    GUEST_SYNC(14, rc, deadline, back, xen_evtchn_pending(timer), xen_evtchn_hits[timer]);
}

static void scenario17(uint64_t seed, uint64_t rounds)
{
    int t = xen_bind_virq(VIRQ_TIMER, 0);
    GUEST_ASSERT(t > 0);
    uint32_t timer = t;
    xen_evtchn_mask(timer);
    rng = seed ? seed : 1;
    uint64_t passed = 0, max_wait = 0;
    for (uint64_t i = 1; i <= rounds; i++) {
        int64_t d = (int64_t)(next_random() % 250000) - 50000; /* [-50, +200) us */
        uint64_t now = xen_get_time();
        uint64_t deadline = now + d;
        GUEST_ASSERT_EQ(xen_set_timer_op(deadline), 0);
        uint64_t before = xen_get_time();
        if (before >= deadline)
            passed++;
        GUEST_ASSERT_EQ(xen_poll(&timer, 1, 0), 0);
        uint64_t back = xen_get_time();
        GUEST_ASSERT(xen_evtchn_pending(timer)); /* woken by the timer, not by anything else */
        GUEST_ASSERT(back >= deadline);          /* and not before it */
        if (back - before > max_wait)
            max_wait = back - before;
        xen_evtchn_clear(timer);
        if (i % 500 == 0 || i == rounds)
            GUEST_SYNC(17, i, passed, max_wait);
    }
    GUEST_SYNC(18, xen_evtchn_hits[timer], xen_upcalls[0]);
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    struct ucall *uc = GUEST_SYNC(1);
    uint64_t scenario = uc->args[0], seed = uc->args[1], rounds = uc->args[2];
    struct xen_setup setup = { .vcpu_info_offset = 0x80, .runstate_across_pages = 1,
                               .upcall = XEN_UPCALL_PER_VCPU };
    xen_setup(&setup);
    sti();
    switch (scenario) {
    case 12: scenario12(); break;
    case 13: scenario13(); break;
    case 14: scenario14(); break;
    case 17: scenario17(seed, rounds); break;
    default: GUEST_ASSERT_EQ(scenario, 12);
    }
    GUEST_DONE();
}

/*
 * test-timer-scenarios: VIRQ_TIMER from the single-shot timer (SCENARIOS.md 10 and 15).
 *
 * Set-up (xen_setup.h): shared_info in a frame of the guest's own, vcpu_info at offset
 * 0x40 of a page of its own, a runstate area across a page boundary, the upcall
 * through HVM_PARAM_CALLBACK_IRQ (the domain-wide callback vector); VIRQ_TIMER bound
 * on vCPU 0 and an IPI port that stays masked (a poll on it only times out).
 *
 * Host expectations:
 *   SYNC(1)                          reply args[0] = the scenario to run: 10 or 15
 * Scenario 10 (set_timer_op 100 ms ahead; the upcall comes after the deadline):
 *   SYNC(10, armed at, deadline, seen at, spins)   "seen at" is HVMOP_get_time after the
 *                                    upcall. Until get_time passed the deadline the guest
 *                                    checked, before each get_time, that no timer hit had
 *                                    come (a hit before the deadline is an assert).
 *   SYNC(11, hits, upcalls)          50 ms later (a poll on the masked port): still one hit
 * Scenario 15 (a deadline in the past fires at once), ROUNDS times:
 *   set_timer_op(now - 1 ms), then halt until the upcall.
 *   SYNC(15, rounds, min latency ns, max latency ns, hits)   latency: get_time after the
 *                                    upcall minus get_time before set_timer_op
 *   SYNC(16, rc of VCPUOP_set_singleshot_timer(past, VCPU_SSHOTTMR_future), hits after 20 ms)
 *                                    (-ETIME, and no hit: Xen refuses a past deadline then)
 *   SYNC(17, rc of VCPUOP_set_singleshot_timer(past, 0), hits)  (0, and it fired)
 *   DONE
 */
#include "xen_setup.h"

#define MS 1000000ull
#define ROUNDS 20
#define XEN_ETIME 62

static uint32_t masked_port;

static void sleep_ns(uint64_t ns)
{
    uint64_t until = xen_get_time() + ns;
    GUEST_ASSERT_EQ(xen_poll(&masked_port, 1, until), 0);
    GUEST_ASSERT(xen_get_time() >= until);
}

static void scenario10(uint32_t timer)
{
    uint64_t armed = xen_get_time();
    uint64_t deadline = armed + 100 * MS;
    GUEST_ASSERT_EQ(xen_set_timer_op(deadline), 0);
    uint64_t spins = 0;
    for (;;) {
        uint32_t hits = __atomic_load_n(&xen_evtchn_hits[timer], __ATOMIC_SEQ_CST);
        uint64_t now = xen_get_time();
        if (now >= deadline)
            break;
        /* read before a time still short of the deadline: no hit may have come yet */
        GUEST_ASSERT_EQ(hits, 0);
        spins++;
    }
    xen_wait_for_hits(timer, 1);
    uint64_t seen = xen_get_time();
    GUEST_ASSERT(seen >= deadline);
    GUEST_SYNC(10, armed, deadline, seen, spins);
    sleep_ns(50 * MS);
    GUEST_SYNC(11, xen_evtchn_hits[timer], xen_upcalls[0]);
}

/* 11: the host saves and restores the domain's Xen state while this vCPU waits for its timer */
static void scenario11(uint32_t timer)
{
    uint64_t armed = xen_get_time();
    uint64_t deadline = armed + 300 * MS;
    GUEST_ASSERT_EQ(xen_set_timer_op(deadline), 0);
    GUEST_SYNC(110, armed, deadline);
    xen_wait_for_hits(timer, 1);
    uint64_t seen = xen_get_time();
    GUEST_ASSERT(seen >= deadline);
    sleep_ns(300 * MS);
    GUEST_SYNC(111, xen_evtchn_hits[timer], seen, xen_upcalls[0]);
}

static void scenario15(uint32_t timer)
{
    uint64_t min = ~0ull, max = 0;
    for (uint32_t i = 1; i <= ROUNDS; i++) {
        uint64_t before = xen_get_time();
        GUEST_ASSERT_EQ(xen_set_timer_op(before - 1 * MS), 0);
        xen_wait_for_hits(timer, i);
        uint64_t latency = xen_get_time() - before;
        if (latency < min)
            min = latency;
        if (latency > max)
            max = latency;
    }
    GUEST_SYNC(15, ROUNDS, min, max, xen_evtchn_hits[timer]);

    uint32_t hits = xen_evtchn_hits[timer];
    long rc = xen_set_singleshot(xen_get_time() - 1 * MS, VCPU_SSHOTTMR_future);
    sleep_ns(20 * MS);
    GUEST_SYNC(16, rc, xen_evtchn_hits[timer] - hits);

    rc = xen_set_singleshot(xen_get_time() - 1 * MS, 0);
    xen_wait_for_hits(timer, hits + 1);
    GUEST_SYNC(17, rc, xen_evtchn_hits[timer] - hits);
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    struct ucall *uc = GUEST_SYNC(1);
    uint64_t scenario = uc->args[0];
    struct xen_setup setup = { .vcpu_info_offset = 0x40, .runstate_across_pages = 1,
                               .upcall = XEN_UPCALL_CALLBACK_IRQ };
    xen_setup(&setup);
    int timer = xen_bind_virq(VIRQ_TIMER, 0);
    GUEST_ASSERT(timer > 0);
    int ipi = xen_bind_ipi(0);
    GUEST_ASSERT(ipi > 0);
    masked_port = ipi;
    xen_evtchn_mask(masked_port);
    sti();
    if (scenario == 10)
        scenario10(timer);
    else if (scenario == 15)
        scenario15(timer);
    else if (scenario == 11)
        scenario11(timer);
    else
        GUEST_ASSERT_EQ(scenario, 10);
    GUEST_DONE();
}

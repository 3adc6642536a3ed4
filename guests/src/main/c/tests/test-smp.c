/*
 * test-smp: two vCPUs run at once.
 *
 * The harness starts vCPU 0 and vCPU 1 (each on its own host thread, each with its
 * own stack and ucall slot). Each vCPU:
 *   SYNC(1, vcpu id, GS base of its per-vCPU block)
 *   adds 1 to a shared counter ITERATIONS times with lock xadd and runs a
 *   ping-pong with the other vCPU (ROUNDS exchanges through one shared word),
 *   which only completes if both vCPUs execute at the same time;
 *   SYNC(2, vcpu id, counter seen at the end)
 *   DONE
 * Asserts: vCPU id < 2, counter == 2 * ITERATIONS, no wait longer than ~10 s of TSC.
 */
#include "guest.h"

#define NR_VCPUS 2
#define ITERATIONS 100000
#define ROUNDS 1000
#define SPIN_LIMIT_TSC (30ull * 1000 * 1000 * 1000) /* ~10 s at 3 GHz */

static volatile uint64_t counter;
static volatile uint32_t arrived;
static volatile uint32_t turn; /* ping-pong: whose turn it is, and how many turns were taken */

static void wait_until(volatile uint32_t *p, uint32_t value)
{
    uint64_t start = rdtsc();
    while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != value) {
        cpu_relax();
        if (rdtsc() - start > SPIN_LIMIT_TSC)
            ucall_assert(__FILE_NAME__, __LINE__, "other vCPU did not answer (args: want, have)",
                         value, *p, 2);
    }
}

static void barrier_all(uint32_t generation)
{
    __atomic_fetch_add(&arrived, 1, __ATOMIC_ACQ_REL);
    wait_until(&arrived, generation * NR_VCPUS);
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)slot;
    GUEST_ASSERT(vcpu_id < NR_VCPUS);
    GUEST_SYNC(1, vcpu_id, (uint64_t)this_cpu());
    GUEST_ASSERT_EQ(this_vcpu_id(), vcpu_id);

    barrier_all(1);
    for (int i = 0; i < ITERATIONS; i++)
        __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);

    /* turn counts up; vCPU (turn % 2) moves next */
    for (uint32_t t = vcpu_id; t < 2 * ROUNDS; t += 2) {
        wait_until(&turn, t);
        __atomic_store_n(&turn, t + 1, __ATOMIC_RELEASE);
    }

    barrier_all(2);
    uint64_t seen = counter;
    GUEST_SYNC(2, vcpu_id, seen);
    GUEST_ASSERT_EQ(seen, (uint64_t)NR_VCPUS * ITERATIONS);
    GUEST_ASSERT_EQ(turn, 2 * ROUNDS);
    GUEST_DONE();
}

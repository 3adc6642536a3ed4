/*
 * bench-hypercall: a guest that loops on the cheapest hypercall, to measure the
 * round trip of one hypercall through jxen's port doorbell.
 *
 * ucalls: SYNC(1) asks for the count: the host writes N into args[0] of the slot
 * before resuming (no reply or 0: 100000). The guest then makes N calls of
 * hypercall 47 (unused by Xen: the host's dispatcher answers -ENOSYS at once) and
 * sends SYNC(2, N, TSC cycles spent, failures); a result other than -38 counts as
 * a failure. Then SYNC(1) again for another round, until the host replies
 * args[0] = BENCH_STOP (0x57095709), which ends with DONE. args[1] = 1 selects an
 * experiment: the doorbell instruction inline, without the call into the page.
 */
#include "guest.h"

#define BENCH_STOP 0x57095709ul

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id;
    GUEST_ASSERT(xen_hypercall_init() == 0);
    for (;;) {
        GUEST_SYNC(1);
        uint64_t n = slot->args[0];
        if (n == BENCH_STOP) {
            break;
        }
        if (n == 0) {
            n = 100000;
        }
        uint64_t failures = 0;
        uint64_t mode = slot->args[1];
        uint64_t t0 = rdtsc();
        if (mode == 1) {
            /* the doorbell inline, without the call into the page: an experiment */
            for (uint64_t i = 0; i < n; i++) {
                long r;
                __asm__ volatile("mov $47, %%eax\n\tout %%eax, $0xe4" : "=a"(r) : : "memory");
                failures += (r != -XEN_ENOSYS);
            }
        } else {
            for (uint64_t i = 0; i < n; i++) {
                long r = hypercall0(47);
                failures += (r != -XEN_ENOSYS);
            }
        }
        uint64_t cycles = rdtsc() - t0;
        GUEST_SYNC(2, n, cycles, failures);
    }
    GUEST_DONE();
}

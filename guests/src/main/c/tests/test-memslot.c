/*
 * test-memslot: the memory map changes while the vCPU runs.
 *
 * Host expectations:
 *   SYNC(1)                 the host writes its reply into the slot before resuming:
 *                           args[0] = gva of a data region in a memslot of its own
 *                           (mapped RW, supervisor), args[1] = its size in bytes
 *                           (>= 8, a multiple of 8). No reply: the guest asserts.
 *   SYNC(2, i, mismatches, last value read)   every 4096 iterations of a loop that
 *                           writes i into word (i % words) of the region and reads it
 *                           back. While these arrive the host removes the region's
 *                           memslot from another thread (accesses then exit as
 *                           KVM_EXIT_MMIO at the removed gpa; the host decides what
 *                           reads return) and adds it back. To end the test the host
 *                           replies args[0] = MEMSLOT_STOP (0x5709) to a SYNC(2).
 *   SYNC(3, iterations, mismatches, check)    after the stop: check = 1 when the
 *                           words written last before the stop (up to 4096 of them)
 *                           read back as written, i.e. the region shows the guest's
 *                           writes again (0 otherwise; the host decides which is
 *                           right for its scenario)
 *   DONE
 * The guest itself asserts nothing about the values: it reports them.
 */
#include "guest.h"

#define MEMSLOT_STOP 0x5709
#define REPORT_EVERY 4096

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id;
    struct ucall *uc = GUEST_SYNC(1);
    volatile uint64_t *region = (volatile uint64_t *)uc->args[0];
    uint64_t size = uc->args[1];
    GUEST_ASSERT(uc->args[0] != 1 && region != 0); /* args[0] still 1: the host did not reply */
    GUEST_ASSERT(size >= 8 && size % 8 == 0);
    uint64_t words = size / 8;

    uint64_t i = 0, mismatches = 0, last = 0;
    for (;;) {
        uint64_t w = i % words;
        region[w] = i;
        last = region[w];
        if (last != i)
            mismatches++;
        i++;
        if (i % REPORT_EVERY == 0) {
            uc = GUEST_SYNC(2, i, mismatches, last);
            if (uc->args[0] == MEMSLOT_STOP)
                break;
        }
    }

    /* After the stop: do the last writes show through? */
    uint64_t check = 1;
    uint64_t n = words < REPORT_EVERY ? words : REPORT_EVERY;
    for (uint64_t k = 1; k <= n; k++) {
        uint64_t v = i - k;
        if (region[v % words] != v)
            check = 0;
    }
    GUEST_SYNC(3, i, mismatches, check);
    (void)slot;
    GUEST_DONE();
}

/*
 * test-balloon: the guest gives memory back and takes it again, as a balloon driver does
 * (XENMEM_decrease_reservation / XENMEM_populate_physmap with a list of gfns), and reads its
 * memory map and reservation.
 *
 * Host expectations (each SYNC waits for the host):
 *   SYNC(1, pool gpa, pages, current_reservation, maximum_reservation)
 *                      every pool page holds the guest's pattern: the host sees them resident
 *   SYNC(2, done, current_reservation, gfn of the first ballooned page)
 *                      the first half of the pool was given back: the host sees those pages
 *                      not resident and the second half still resident
 *   SYNC(3, done, current_reservation, zero pages seen, pattern pages intact)
 *                      the first half is populated again: the guest found zeroes there and its
 *                      pattern untouched in the second half, then wrote a new pattern
 *   SYNC(4, e820 entries, first addr, first size, first type, maximum_ram_page)
 *   DONE
 */
#include "guest.h"

#define POOL_PAGES 64
#define HALF (POOL_PAGES / 2)

static uint8_t pool[POOL_PAGES][PAGE_SIZE] __attribute__((aligned(4096)));
static uint64_t gfns[POOL_PAGES];
static struct e820_entry e820[8];

static long memory_op(unsigned cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_memory_op, cmd, arg);
}

static long reservation(unsigned cmd, uint64_t *list, uint64_t n)
{
    struct xen_memory_reservation r = {
        .extent_start = list, .nr_extents = n, .extent_order = 0, .mem_flags = 0, .domid = DOMID_SELF,
    };
    return memory_op(cmd, &r);
}

static long current_reservation(void)
{
    uint16_t dom = DOMID_SELF;
    return memory_op(XENMEM_current_reservation, &dom);
}

static uint64_t pattern(unsigned page, unsigned word)
{
    return 0x9e3779b97f4a7c15ull * (page + 1) ^ word;
}

static void fill(unsigned page, unsigned salt)
{
    uint64_t *p = (uint64_t *)pool[page];
    for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
        p[i] = pattern(page + salt, i);
}

static int holds(unsigned page, unsigned salt)
{
    const volatile uint64_t *p = (const volatile uint64_t *)pool[page];
    for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
        if (p[i] != pattern(page + salt, i))
            return 0;
    return 1;
}

static int is_zero(unsigned page)
{
    const volatile uint64_t *p = (const volatile uint64_t *)pool[page];
    for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    GUEST_ASSERT(xen_hypercall_init() == 0);

    uint16_t dom = DOMID_SELF;
    long max = memory_op(XENMEM_maximum_reservation, &dom);
    long before = current_reservation();
    GUEST_ASSERT(before > 0 && before <= max);
    for (unsigned i = 0; i < POOL_PAGES; i++) {
        fill(i, 0);
        gfns[i] = virt_to_phys(pool[i]) >> 12;
    }
    GUEST_SYNC(1, virt_to_phys(pool), POOL_PAGES, before, max);

    long done = reservation(XENMEM_decrease_reservation, gfns, HALF);
    GUEST_ASSERT_EQ(done, HALF);
    long after = current_reservation();
    GUEST_ASSERT_EQ(after, before - HALF);
    /* the same gfns again: nothing more to give back */
    GUEST_ASSERT_EQ(reservation(XENMEM_decrease_reservation, gfns, 1), 0);
    GUEST_SYNC(2, done, after, gfns[0]);

    done = reservation(XENMEM_populate_physmap, gfns, HALF);
    GUEST_ASSERT_EQ(done, HALF);
    long zero = 0, intact = 0;
    for (unsigned i = 0; i < HALF; i++)
        zero += is_zero(i);
    for (unsigned i = HALF; i < POOL_PAGES; i++)
        intact += holds(i, 0);
    for (unsigned i = 0; i < POOL_PAGES; i++)
        fill(i, 7);
    for (unsigned i = 0; i < POOL_PAGES; i++)
        GUEST_ASSERT(holds(i, 7));
    /* the reservation is full again: populating one more page fails */
    GUEST_ASSERT_EQ(reservation(XENMEM_populate_physmap, gfns, 1), 0);
    GUEST_SYNC(3, done, current_reservation(), zero, intact);

    struct xen_memory_map map = { .nr_entries = 8, .buffer = e820 };
    GUEST_ASSERT_EQ(memory_op(XENMEM_memory_map, &map), 0);
    long top = memory_op(XENMEM_maximum_ram_page, 0);
    GUEST_SYNC(4, map.nr_entries, e820[0].addr, e820[0].size, e820[0].type, top);
    GUEST_DONE();
}

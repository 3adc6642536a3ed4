/*
 * test-grant-table: grant tables v1 from the granting guest's side, as a Linux frontend uses them.
 *
 * The guest asks for the table's size and version, places grant frame 0 in a page of its own
 * (XENMEM_add_to_physmap, XENMAPSPACE_grant_table), checks GNTTABOP_setup_table's frame list,
 * then grants two pages to domain 0: one read-write (ref 8) holding a known pattern, one
 * read-only (ref 9). Entries are filled the way Linux does: frame and domid first, a write
 * barrier, then the flags.
 *
 * Host expectations (each SYNC waits for the host):
 *   SYNC(1, rw ref, ro ref, gfn of the rw page, gfn of the grant frame)
 *                      the host maps both grants, checks the pattern, writes its reply into the
 *                      second half of the rw page, and keeps the mappings open
 *   SYNC(2, rw flags, ro flags, reply seen)
 *                      the guest saw GTF_reading|GTF_writing (rw) and GTF_reading (ro) while
 *                      mapped, and the host's reply; the host then closes the mappings
 *   SYNC(3, rw flags, ro flags, ended)
 *                      the flags are back to what the guest wrote, so the guest could end both
 *                      grants (compare-and-swap of the flags to 0, which fails while mapped)
 *   DONE
 */
#include "guest.h"

#define RW_REF 8
#define RO_REF 9
#define DOM0 0

static union {
    struct grant_entry_v1 e[PAGE_SIZE / sizeof(struct grant_entry_v1)];
    uint8_t frame[PAGE_SIZE];
} gnttab __attribute__((aligned(4096)));
static uint8_t rw_page[PAGE_SIZE] __attribute__((aligned(4096)));
static uint8_t ro_page[PAGE_SIZE] __attribute__((aligned(4096)));
static uint64_t frame_list[4];

static long grant_table_op(unsigned cmd, void *uop, unsigned count)
{
    return hypercall3(__HYPERVISOR_grant_table_op, cmd, uop, count);
}

static void grant(unsigned ref, const void *page, uint16_t flags)
{
    gnttab.e[ref].frame = (uint32_t)(virt_to_phys(page) >> 12);
    gnttab.e[ref].domid = DOM0;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&gnttab.e[ref].flags, flags, __ATOMIC_SEQ_CST);
}

/* Linux's gnttab_end_foreign_access_ref for v1: only when no one has it mapped. */
static int end_grant(unsigned ref)
{
    uint16_t flags = __atomic_load_n(&gnttab.e[ref].flags, __ATOMIC_SEQ_CST);
    if (flags & (GTF_reading | GTF_writing))
        return 0;
    return __atomic_compare_exchange_n(&gnttab.e[ref].flags, &flags, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    GUEST_ASSERT(xen_hypercall_init() == 0);

    struct gnttab_query_size q = { .dom = DOMID_SELF };
    GUEST_ASSERT_EQ(grant_table_op(GNTTABOP_query_size, &q, 1), 0);
    GUEST_ASSERT_EQ(q.status, GNTST_okay);
    GUEST_ASSERT(q.nr_frames >= 1);
    GUEST_ASSERT(q.max_nr_frames >= 32);
    struct gnttab_get_version gv = { .dom = DOMID_SELF };
    GUEST_ASSERT_EQ(grant_table_op(GNTTABOP_get_version, &gv, 1), 0);
    GUEST_ASSERT_EQ(gv.version, 1);
    struct gnttab_set_version sv = { .version = 2 };
    GUEST_ASSERT_EQ(grant_table_op(GNTTABOP_set_version, &sv, 1), -XEN_ENOSYS);
    GUEST_ASSERT_EQ(sv.version, 1);
    sv.version = 1;
    GUEST_ASSERT_EQ(grant_table_op(GNTTABOP_set_version, &sv, 1), 0);

    uint64_t frame_gfn = virt_to_phys(&gnttab) >> 12;
    struct xen_add_to_physmap xatp = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 0,
                                       .gpfn = frame_gfn };
    GUEST_ASSERT_EQ(hypercall2(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, &xatp), 0);
    xatp.idx = XENMAPIDX_grant_table_status; /* version 1 has no status frames */
    GUEST_ASSERT_EQ(hypercall2(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, &xatp), -XEN_EINVAL);

    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 2, .frame_list = frame_list };
    GUEST_ASSERT_EQ(grant_table_op(GNTTABOP_setup_table, &st, 1), 0);
    GUEST_ASSERT_EQ(st.status, GNTST_okay);
    GUEST_ASSERT_EQ(frame_list[0], frame_gfn);
    GUEST_ASSERT_EQ(frame_list[1], ~0ull); /* frame 1 is placed nowhere */

    for (unsigned i = 0; i < PAGE_SIZE; i++) {
        rw_page[i] = (uint8_t)(i * 7 + 3);
        ro_page[i] = (uint8_t)(i * 13 + 1);
    }
    grant(RW_REF, rw_page, GTF_permit_access);
    grant(RO_REF, ro_page, GTF_permit_access | GTF_readonly);
    GUEST_SYNC(1, RW_REF, RO_REF, virt_to_phys(rw_page) >> 12, frame_gfn);

    uint16_t rw_flags = __atomic_load_n(&gnttab.e[RW_REF].flags, __ATOMIC_SEQ_CST);
    uint16_t ro_flags = __atomic_load_n(&gnttab.e[RO_REF].flags, __ATOMIC_SEQ_CST);
    long reply = 1;
    for (unsigned i = PAGE_SIZE / 2; i < PAGE_SIZE; i++)
        if (((volatile uint8_t *)rw_page)[i] != (uint8_t)(0xff - (i & 0xff)))
            reply = 0;
    GUEST_ASSERT(!end_grant(RW_REF)); /* mapped: the guest must not end it */
    GUEST_SYNC(2, rw_flags, ro_flags, reply);

    rw_flags = __atomic_load_n(&gnttab.e[RW_REF].flags, __ATOMIC_SEQ_CST);
    ro_flags = __atomic_load_n(&gnttab.e[RO_REF].flags, __ATOMIC_SEQ_CST);
    long ended = end_grant(RW_REF) + end_grant(RO_REF);
    GUEST_SYNC(3, rw_flags, ro_flags, ended);
    GUEST_DONE();
}

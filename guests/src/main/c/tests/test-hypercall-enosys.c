/*
 * test-hypercall-enosys: numbers Xen does not define get -ENOSYS (-38).
 *
 * ucalls: SYNC(1, result of hypercall 47, result of hypercall 43) then the guest
 * asserts both equal -38 (args: result, expected); DONE. Both numbers lie in the
 * gap 43..47 that Xen 4.17 leaves unused.
 */
#include "guest.h"

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    GUEST_ASSERT(xen_hypercall_init() == 0);
    long r47 = hypercall6(47, 1, 2, 3, 4, 5, 6);
    long r43 = hypercall0(43);
    GUEST_SYNC(1, r47, r43);
    GUEST_ASSERT_EQ(r47, -XEN_ENOSYS);
    GUEST_ASSERT_EQ(r43, -XEN_ENOSYS);
    GUEST_DONE();
}

/*
 * test-hypercall-page: the hypercall MSR write and the page the host writes.
 *
 * Host expectations:
 *   SYNC(1, msr, page_gpa, page_gva)   just before the wrmsr; the host then sees a
 *                                      KVM_EXIT_X86_WRMSR with index msr, data page_gpa
 *                                      and fills the page
 *   SYNC(2, first 8 bytes of entry 0, first 8 bytes of entry 23)  after the wrmsr
 *   SYNC(3, xen_version(XENVER_version) result)   a first call through the page;
 *                                                   not asserted (any value is reported)
 *   DONE
 * The guest asserts the page layout of docs/kvm-backend.md for each of the 128
 * entries: b8 <nr imm32> e7 e4 c3, int3 (cc) up to 32 bytes; entry 23 starts 0f 0b.
 * On a mismatch: ASSERT with args = (entry number, byte offset).
 */
#include "guest.h"

static void check_entry(unsigned nr)
{
    const uint8_t *e = hypercall_page + nr * XEN_HYPERCALL_ENTRY_SIZE;
    uint8_t want[XEN_HYPERCALL_ENTRY_SIZE];
    memset(want, 0xcc, sizeof want);
    if (nr == __HYPERVISOR_iret) {
        want[0] = 0x0f;
        want[1] = 0x0b;
    } else {
        want[0] = 0xb8;
        want[1] = (uint8_t)nr;
        want[2] = (uint8_t)(nr >> 8);
        want[3] = (uint8_t)(nr >> 16);
        want[4] = (uint8_t)(nr >> 24);
        want[5] = 0xe7;
        want[6] = HYPERCALL_PORT;
        want[7] = 0xc3;
    }
    for (unsigned i = 0; i < XEN_HYPERCALL_ENTRY_SIZE; i++)
        if (e[i] != want[i])
            ucall_assert(__FILE_NAME__, __LINE__, "hypercall page entry differs (args: entry, offset)", nr, i, 2);
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    uint32_t base = xen_cpuid_base();
    GUEST_ASSERT(base != 0);
    uint32_t pages, msr, c, d;
    cpuid(base + 2, 0, &pages, &msr, &c, &d);
    GUEST_ASSERT(pages >= 1);

    GUEST_SYNC(1, msr, virt_to_phys(hypercall_page), (uint64_t)hypercall_page);
    GUEST_ASSERT_EQ(hypercall_page[0], 0xcc); /* untouched before the wrmsr */
    wrmsr(msr, virt_to_phys(hypercall_page));

    uint64_t e0, e23;
    memcpy(&e0, hypercall_page, 8);
    memcpy(&e23, hypercall_page + __HYPERVISOR_iret * XEN_HYPERCALL_ENTRY_SIZE, 8);
    GUEST_SYNC(2, e0, e23);
    for (unsigned nr = 0; nr < XEN_HYPERCALL_ENTRIES; nr++)
        check_entry(nr);

    long v = HYPERVISOR_xen_version(XENVER_version, 0);
    GUEST_SYNC(3, v);
    GUEST_DONE();
}

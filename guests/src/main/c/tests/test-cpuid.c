/*
 * test-cpuid: Xen detection by CPUID.
 *
 * Host expectations (ucalls, in order; every SYNC is answered by resuming):
 *   SYNC(1, base, eax, ebx, ecx, edx)   leaf base+0: max leaf and "XenVMMXenVMM"
 *   SYNC(2, eax)                        leaf base+1: major << 16 | minor
 *   SYNC(3, eax, ebx)                   leaf base+2: hypercall pages, hypercall MSR
 *   SYNC(4, eax, ebx, ecx)              leaf base+4 (only when base+0 EAX >= base+4)
 *   DONE
 * The guest asserts the signature, max leaf >= base+2 and at least one hypercall page;
 * with no Xen leaves at all it asserts at once (args[0] = 0).
 */
#include "guest.h"

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    uint32_t base = xen_cpuid_base();
    GUEST_ASSERT(base != 0);

    uint32_t a, b, c, d;
    cpuid(base, 0, &a, &b, &c, &d);
    GUEST_SYNC(1, base, a, b, c, d);
    GUEST_ASSERT_EQ(b, XEN_SIGNATURE_EBX);
    GUEST_ASSERT_EQ(c, XEN_SIGNATURE_ECX);
    GUEST_ASSERT_EQ(d, XEN_SIGNATURE_EDX);
    GUEST_ASSERT(a >= base + 2);
    uint32_t max = a;

    cpuid(base + 1, 0, &a, &b, &c, &d);
    GUEST_SYNC(2, a);

    cpuid(base + 2, 0, &a, &b, &c, &d);
    GUEST_SYNC(3, a, b);
    GUEST_ASSERT(a >= 1);

    if (max >= base + 4) {
        cpuid(base + 4, 0, &a, &b, &c, &d);
        GUEST_SYNC(4, a, b, c);
    }
    GUEST_DONE();
}

/*
 * test-hypercall-args: six distinct arguments in, a distinct value out (64-bit ABI).
 *
 * The host's test dispatcher must answer hypercall 48 (arch_0), which Xen leaves to
 * the architecture and jxen reserves for this test, by checking
 *   rdi = 0x1111111111111111, rsi = 0x2222222222222222, rdx = 0x3333333333333333,
 *   r10 = 0x4444444444444444, r8  = 0x5555555555555555, r9  = 0x6666666666666666
 * and returning 0x5a5a5a5a (TEST_HYPERCALL_RESULT). The 32-bit ABI is exercised by
 * the direct-boot guest test-pvh-hypercall before it leaves 32-bit mode.
 *
 * ucalls: SYNC(1, page gpa) after the page is set up; SYNC(2, result) after the
 * call; ASSERT if result != 0x5a5a5a5a (args: result, expected) or if a
 * callee-saved register changed across the call; DONE.
 */
#include "guest.h"

#define TEST_HYPERCALL_NR     __HYPERVISOR_arch_0
#define TEST_HYPERCALL_RESULT 0x5a5a5a5al

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    GUEST_ASSERT(xen_hypercall_init() == 0);
    GUEST_SYNC(1, virt_to_phys(hypercall_page));

    long r = hypercall6(TEST_HYPERCALL_NR, 0x1111111111111111ul, 0x2222222222222222ul,
                        0x3333333333333333ul, 0x4444444444444444ul, 0x5555555555555555ul,
                        0x6666666666666666ul);
    GUEST_SYNC(2, r);
    GUEST_ASSERT_EQ(r, TEST_HYPERCALL_RESULT);

    /* Callee-saved registers survive the call through the page. */
    uint64_t rbx = 0xb0b0b0b0b0b0b0b0ul, r12 = 0x1212121212121212ul;
    uint64_t rbx_after, r12_after;
    register uint64_t r10 __asm__("r10") = 0x4444444444444444ul;
    register uint64_t r8 __asm__("r8") = 0x5555555555555555ul;
    register uint64_t r9 __asm__("r9") = 0x6666666666666666ul;
    uint64_t a1 = 0x1111111111111111ul, a2 = 0x2222222222222222ul, a3 = 0x3333333333333333ul;
    uint8_t *entry = hypercall_page + TEST_HYPERCALL_NR * XEN_HYPERCALL_ENTRY_SIZE;
    __asm__ volatile("mov %[rbx_in], %%rbx\n\t"
                     "mov %[r12_in], %%r12\n\t"
                     "call *%%rcx\n\t"
                     "mov %%rbx, %[rbx_out]\n\t"
                     "mov %%r12, %[r12_out]\n\t"
                     : "=a"(r), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8), "+r"(r9),
                       "+c"(entry), [rbx_out] "=m"(rbx_after), [r12_out] "=m"(r12_after)
                     : [rbx_in] "m"(rbx), [r12_in] "m"(r12)
                     : "rbx", "r12", "r11", "memory");
    GUEST_ASSERT_EQ(r, TEST_HYPERCALL_RESULT);
    GUEST_ASSERT_EQ(rbx_after, rbx);
    GUEST_ASSERT_EQ(r12_after, r12);
    GUEST_DONE();
}

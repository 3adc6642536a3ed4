/*
 * test-pvh-hypercall: the six-argument test hypercall in both word sizes.
 *
 * In 32-bit protected mode, paging off, before long mode (boot32_hook in
 * test-pvh-hypercall32.S; it takes no exception), the guest finds the Xen CPUID
 * base, writes the hypercall MSR with the page's gpa and calls entry 48 (arch_0) with
 *   ebx = 0x11111111, ecx = 0x22222222, edx = 0x33333333,
 *   esi = 0x44444444, edi = 0x55555555, ebp = 0x66666666
 * and then entry 47. In 64-bit mode it calls 48 with the 64-bit pattern of
 * test-hypercall-args (rdi 0x1111..., ..., r9 0x6666...) and 47 again.
 *
 * Host expectations: hypercall 48 returns 0x5a5a5a5a in both modes after checking
 * its arguments (the dispatcher sees word size 4 for the first call, 8 for the
 * second); 47 returns -ENOSYS (-38). The guest prints one line per check on the
 * console (CONSOLEIO_write) and on port 0xe9:
 *   "test-pvh-hypercall: 32-bit arch_0 -> 5a5a5a5a ok" (or FAIL), ..., then
 * SCHEDOP_shutdown(poweroff) when all four passed, SHUTDOWN_crash otherwise.
 * boot32_status: 0 ran, 1 no Xen CPUID leaves.
 */
#include "guest.h"

extern uint32_t boot32_status, boot32_result48, boot32_result47;

static int check(const char *what, long got, long want)
{
    int ok = got == want;
    char line[128];
    snprintf(line, sizeof line, "test-pvh-hypercall: %s -> %lx %s\n", what, got, ok ? "ok" : "FAIL");
    debug_write(line);
    if (xen_present())
        console_write(line);
    return ok;
}

void kernel_main(uint64_t start_info_pa)
{
    (void)start_info_pa;
    if (boot32_status != 0 || xen_hypercall_init() != 0) {
        debug_write("test-pvh-hypercall: no Xen CPUID leaves, FAIL\n");
        halt_forever();
    }
    int ok = 1;
    ok &= check("32-bit arch_0", (int32_t)boot32_result48, 0x5a5a5a5a);
    ok &= check("32-bit 47", (int32_t)boot32_result47, -XEN_ENOSYS);
    long r = hypercall6(__HYPERVISOR_arch_0, 0x1111111111111111ul, 0x2222222222222222ul,
                        0x3333333333333333ul, 0x4444444444444444ul, 0x5555555555555555ul,
                        0x6666666666666666ul);
    ok &= check("64-bit arch_0", r, 0x5a5a5a5a);
    ok &= check("64-bit 47", hypercall0(47), -XEN_ENOSYS);
    xen_shutdown(ok ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}

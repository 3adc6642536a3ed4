/*
 * pvh-hello: the smallest direct-boot guest. Proves the 32 -> 64-bit switch of
 * pvh32.S and reports what the loader handed over.
 *
 * Host expectations: load as a PVH kernel (entry from XEN_ELFNOTE_PHYS32_ENTRY,
 * EBX = hvm_start_info gpa). Output on port 0xe9:
 *   "pvh-hello: long mode, start_info magic <hex> at <hex>\n"
 * then, when Xen CPUID leaves are present: sets up the hypercall page, writes
 * "pvh-hello: hello from a jxen guest\n" through CONSOLEIO_write, and calls
 * SCHEDOP_shutdown(poweroff). Without Xen it prints "pvh-hello: no Xen, halting\n"
 * and stops in `cli; hlt` (KVM_EXIT_HLT).
 */
#include "guest.h"

void kernel_main(uint64_t start_info_pa)
{
    const struct hvm_start_info *si = (const struct hvm_start_info *)start_info_pa;
    uint32_t magic = start_info_pa ? si->magic : 0;
    debug_printf("pvh-hello: long mode, start_info magic %x at %lx\n", magic, start_info_pa);
    if (xen_hypercall_init() != 0) {
        debug_write("pvh-hello: no Xen, halting\n");
        halt_forever();
    }
    console_write("pvh-hello: hello from a jxen guest\n");
    xen_shutdown(magic == XEN_HVM_START_MAGIC ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}

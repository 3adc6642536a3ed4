/* Runtime set-up for direct-boot guests: vCPU 0 with a ucall slot inside the image. */
#include "guest.h"

static struct ucall boot_ucall_slot __attribute__((aligned(256)));

void pvh_runtime_init(void)
{
    runtime_init_cpu(0, virt_to_phys(&boot_ucall_slot), &boot_ucall_slot);
}

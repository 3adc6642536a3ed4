/* hypercall32(): see compat32.h; the mode switch is compat32_entry.S. */
#include "compat32.h"

struct compat_frame {      /* offsets used by compat32_entry.S */
    uint32_t entry;        /* 0: low address of the hypercall page entry */
    uint32_t args[5];      /* 4..20: ebx ecx edx esi edi */
    uint32_t result;       /* 24: eax after the call */
    uint32_t back;         /* 28: low address of the 64-bit landing code */
    uint32_t stack;        /* 32: low address of the top of the 32-bit stack */
    uint32_t flags;        /* 36: bit 0, sti just before the call */
};
_Static_assert(__builtin_offsetof(struct compat_frame, result) == 24, "compat frame result");
_Static_assert(__builtin_offsetof(struct compat_frame, stack) == 32, "compat frame stack");
_Static_assert(__builtin_offsetof(struct compat_frame, flags) == 36, "compat frame flags");

uint32_t compat_call(uint32_t frame_low); /* compat32_entry.S */

static struct compat_frame frame;
static uint8_t stack[8192] __attribute__((aligned(16)));

extern char __kernel_va_base[], __bss_end[];

uint32_t low32(const void *p)
{
    uint64_t v = (uint64_t)p;
    /* low addresses are used as they are; image addresses have a low alias; nothing else does
       (a stack the host allocated in the upper half, for example) */
    GUEST_ASSERT(v < (1ull << 32) || (v >= (uint64_t)__kernel_va_base && v < (uint64_t)__bss_end));
    uint64_t pa = virt_to_phys(p);
    GUEST_ASSERT(pa < (1ull << 32));
    return (uint32_t)pa;
}

static long call32(unsigned nr, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4, uint32_t a5, uint32_t flags)
{
    frame.entry = low32(hypercall_page + nr * XEN_HYPERCALL_ENTRY_SIZE);
    frame.args[0] = a1;
    frame.args[1] = a2;
    frame.args[2] = a3;
    frame.args[3] = a4;
    frame.args[4] = a5;
    frame.stack = low32(stack + sizeof stack);
    frame.flags = flags;
    barrier();
    uint32_t r = compat_call(low32(&frame));
    barrier();
    return (long)(int32_t)r;
}

long hypercall32(unsigned nr, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4, uint32_t a5)
{
    return call32(nr, a1, a2, a3, a4, a5, 0);
}

long hypercall32_sti(unsigned nr, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4, uint32_t a5)
{
    return call32(nr, a1, a2, a3, a4, a5, 1);
}

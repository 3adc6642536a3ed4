/* 64-bit IDT shared by all vCPUs; stubs in entry.S call trap_dispatch(). */
#include "guest.h"

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "idt gate");

extern char trap_stubs[]; /* 256 stubs, 16 bytes apart */

static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler_t handlers[256];

static const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "?9", "#TS", "#NP",
    "#SS", "#GP", "#PF", "?15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void idt_load(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    /* Every vCPU writes the same values: harmless when two do it at once. */
    for (int v = 0; v < 256; v++) {
        uint64_t a = (uint64_t)(trap_stubs + v * 16);
        idt[v].offset_low = (uint16_t)a;
        idt[v].selector = cs;
        idt[v].ist = 0;
        idt[v].type_attr = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
        idt[v].offset_mid = (uint16_t)(a >> 16);
        idt[v].offset_high = (uint32_t)(a >> 32);
        idt[v].reserved = 0;
    }
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } d = { sizeof idt - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" :: "m"(d) : "memory");
}

void idt_set_handler(uint8_t vector, irq_handler_t handler)
{
    __atomic_store_n(&handlers[vector], handler, __ATOMIC_RELEASE);
}

void trap_dispatch(struct trap_frame *f)
{
    irq_handler_t h = __atomic_load_n(&handlers[f->vector & 0xff], __ATOMIC_ACQUIRE);
    if (h) {
        h(f);
        return;
    }
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    char text[128];
    const char *name = f->vector < 32 && exception_names[f->vector] ? exception_names[f->vector] : "interrupt";
    snprintf(text, sizeof text, "unexpected %s vector %lu at rip %lx err %lx cr2 %lx",
             name, f->vector, f->rip, f->error_code, cr2);
    /* args[0] = vector, args[1] = rip */
    ucall_assert("trap", (uint32_t)f->vector, text, f->vector, f->rip, 2);
}

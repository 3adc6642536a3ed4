/* jxen guest runtime: per-vCPU state, addresses, Xen detection, hypercall page. */
#include "guest.h"

/* Linker-script symbols: pa = va - __kernel_va_base + __kernel_pa_base. */
extern char __kernel_va_base[], __kernel_pa_base[];

static struct percpu percpu[MAX_VCPUS];
static int xen_ready;

uint64_t virt_to_phys(const void *va)
{
    uint64_t v = (uint64_t)va;
    if (v < (1ull << 32))
        return v; /* direct-boot guests: identity map of low memory */
    return v - (uint64_t)__kernel_va_base + (uint64_t)__kernel_pa_base;
}

struct percpu *this_cpu(void)
{
    struct percpu *p;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(p));
    return p;
}

uint32_t this_vcpu_id(void) { return this_cpu()->vcpu_id; }

#define MSR_GS_BASE 0xc0000101u

void idt_load(void);

/*
 * Our own GDT, so that interrupt delivery and iretq (which read descriptors from
 * memory) never depend on what the host left in GDTR: 0x08 64-bit code, 0x10 data,
 * 0x18 32-bit code (compatibility mode, for hypercalls with the 32-bit ABI: compat32.h).
 */
static const uint64_t gdt[4] __attribute__((aligned(16))) = {
    0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cf9b000000ffffull,
};

static void gdt_load(void)
{
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } d = { sizeof gdt - 1, (uint64_t)gdt };
    __asm__ volatile("lgdt %0\n\t"
                     "pushq $0x08\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\tmovl $0x10, %%eax\n\t"
                     "movl %%eax, %%ss\n\t"
                     "movl %%eax, %%ds\n\t"
                     "movl %%eax, %%es\n\t"
                     :: "m"(d) : "rax", "memory");
}

void runtime_init_cpu(uint32_t vcpu_id, uint64_t ucall_gpa, struct ucall *ucall_gva)
{
    struct percpu *p = &percpu[vcpu_id % MAX_VCPUS];
    p->self = p;
    p->vcpu_id = vcpu_id;
    p->ucall = ucall_gva;
    p->ucall_gpa = ucall_gpa;
    gdt_load(); /* before the GS base: segment loads must not disturb it */
    wrmsr(MSR_GS_BASE, (uint64_t)p);
    idt_load();
}

void halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt" ::: "memory");
}

uint32_t xen_cpuid_base(void)
{
    for (uint32_t base = XEN_CPUID_FIRST; base < XEN_CPUID_LAST; base += XEN_CPUID_STEP) {
        uint32_t a, b, c, d;
        cpuid(base, 0, &a, &b, &c, &d);
        if (b == XEN_SIGNATURE_EBX && c == XEN_SIGNATURE_ECX && d == XEN_SIGNATURE_EDX
            && a >= base + 2)
            return base;
    }
    return 0;
}

int xen_hypercall_init(void)
{
    uint32_t base = xen_cpuid_base();
    if (base == 0)
        return -1;
    uint32_t pages, msr, c, d;
    cpuid(base + 2, 0, &pages, &msr, &c, &d);
    if (pages < 1)
        return -1;
    wrmsr(msr, virt_to_phys(hypercall_page) | 0 /* page index */);
    xen_ready = 1;
    return 0;
}

int xen_present(void) { return xen_ready; }

void xen_shutdown(unsigned reason)
{
    struct sched_shutdown arg = { .reason = reason };
    if (xen_ready)
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &arg);
    halt_forever();
}

/* ---- x2APIC ---- */

#define MSR_APIC_BASE 0x1bu
#define APIC_BASE_EXTD (1u << 10)
#define APIC_BASE_EN   (1u << 11)
#define MSR_X2APIC_TPR 0x808u
#define MSR_X2APIC_EOI 0x80bu
#define MSR_X2APIC_SVR 0x80fu

int x2apic_available(void)
{
    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    return (c >> 21) & 1;
}

void x2apic_enable(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_EN)) {
        base |= APIC_BASE_EN;
        wrmsr(MSR_APIC_BASE, base);
    }
    wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
    wrmsr(MSR_X2APIC_SVR, 0x1ff); /* software enable, spurious vector 0xff */
    wrmsr(MSR_X2APIC_TPR, 0);
}

void apic_eoi(void) { wrmsr(MSR_X2APIC_EOI, 0); }

/* ---- the few string functions gcc may also call by itself ---- */

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

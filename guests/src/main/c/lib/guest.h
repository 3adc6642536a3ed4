/*
 * jxen guest runtime: what a freestanding test or demo guest may call.
 *
 * Two start kinds link against this library:
 *  - harness guests (start64.S, harness.ld): entered by jxen's test harness in
 *    64-bit mode with rdi = vCPU id, rsi = ucall slot gpa, rdx = ucall slot gva;
 *    they define guest_main().
 *  - direct-boot guests (pvh32.S, pvh.ld): entered in 32-bit flat protected mode
 *    by the Xen HVM/PVH convention; they define kernel_main().
 *
 * Contract with the host: docs/kvm-backend.md (ports 0xe4 hypercall doorbell,
 * 0xe5 ucall doorbell, 0xe9 and 0x12 debug console).
 */
#ifndef JXEN_GUEST_H
#define JXEN_GUEST_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include "xen.h"

#define HYPERCALL_PORT 0xe4
#define UCALL_PORT     0xe5
#define DEBUG_PORT     0xe9
#define DEBUG_PORT2    0x12

#define PAGE_SIZE 4096ul
#define KERNEL_VA_BASE 0xffffffff80000000ul
#define MAX_VCPUS 64

/* ---- CPU helpers ---- */

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void halt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port) : "memory"); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port) : "memory"); }

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Stop this vCPU for good: interrupts off, hlt forever. */
__attribute__((noreturn)) void halt_forever(void);

/* ---- addresses ---- */

/*
 * Guest-physical address of an address inside the image (text, data, bss).
 * Harness guests: the harness loads each PT_LOAD segment at its p_paddr and maps
 * KERNEL_VA_BASE + x -> 0x100000 + x (see harness.ld). Direct-boot guests map
 * physical 0..1 GiB at KERNEL_VA_BASE (and identity). Not valid for addresses
 * the host allocated outside the image.
 */
uint64_t virt_to_phys(const void *va);

/* ---- per-vCPU state (reached through GS base) ---- */

struct ucall;

struct percpu {
    struct percpu *self;   /* offset 0: %gs:0 */
    uint32_t vcpu_id;
    uint32_t pad;
    struct ucall *ucall;   /* guest-virtual address of this vCPU's ucall slot */
    uint64_t ucall_gpa;    /* its guest-physical address (below 4 GiB) */
};

struct percpu *this_cpu(void);
uint32_t this_vcpu_id(void);

/* Called by the start code on each vCPU before guest_main/kernel_main. */
void runtime_init_cpu(uint32_t vcpu_id, uint64_t ucall_gpa, struct ucall *ucall_gva);

/* ---- hypercalls ---- */

extern uint8_t hypercall_page[PAGE_SIZE]; /* in .text, filled by the host */

/*
 * 64-bit calling convention: number selects the page entry; arguments in
 * rdi, rsi, rdx, r10, r8, r9; result in rax. Argument registers are treated
 * as clobbered (Xen may scribble on them).
 */
static inline long hypercall6(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3,
                              uint64_t a4, uint64_t a5, uint64_t a6)
{
    register uint64_t r10 __asm__("r10") = a4;
    register uint64_t r8 __asm__("r8") = a5;
    register uint64_t r9 __asm__("r9") = a6;
    long ret;
    __asm__ volatile("call *%[entry]"
                     : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8), "+r"(r9)
                     : [entry] "r"(hypercall_page + nr * XEN_HYPERCALL_ENTRY_SIZE)
                     : "rcx", "r11", "memory");
    return ret;
}
#define hypercall0(nr)                   hypercall6((nr), 0, 0, 0, 0, 0, 0)
#define hypercall1(nr, a)                hypercall6((nr), (uint64_t)(a), 0, 0, 0, 0, 0)
#define hypercall2(nr, a, b)             hypercall6((nr), (uint64_t)(a), (uint64_t)(b), 0, 0, 0, 0)
#define hypercall3(nr, a, b, c)          hypercall6((nr), (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), 0, 0, 0)
#define hypercall4(nr, a, b, c, d)       hypercall6((nr), (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), (uint64_t)(d), 0, 0)
#define hypercall5(nr, a, b, c, d, e)    hypercall6((nr), (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), (uint64_t)(d), (uint64_t)(e), 0)

/* Xen CPUID base (0x40000000 + k*0x100) or 0 when no Xen signature is found. */
uint32_t xen_cpuid_base(void);

/*
 * Detect Xen and have the host fill hypercall_page: wrmsr(MSR from CPUID
 * base+2 EBX, gpa of hypercall_page | 0). Returns 0, or -1 without Xen.
 */
int xen_hypercall_init(void);
int xen_present(void); /* 1 after a successful xen_hypercall_init() */

static inline long HYPERVISOR_console_io(int op, unsigned long len, const char *buf)
{ return hypercall3(__HYPERVISOR_console_io, op, len, buf); }
static inline long HYPERVISOR_xen_version(int op, void *arg)
{ return hypercall2(__HYPERVISOR_xen_version, op, arg); }
static inline long HYPERVISOR_sched_op(int op, void *arg)
{ return hypercall2(__HYPERVISOR_sched_op, op, arg); }
static inline long HYPERVISOR_vcpu_op(int op, unsigned vcpu, void *arg)
{ return hypercall3(__HYPERVISOR_vcpu_op, op, vcpu, arg); }
static inline long HYPERVISOR_event_channel_op(int op, void *arg)
{ return hypercall2(__HYPERVISOR_event_channel_op, op, arg); }
static inline long HYPERVISOR_hvm_op(int op, void *arg)
{ return hypercall2(__HYPERVISOR_hvm_op, op, arg); }
static inline long HYPERVISOR_memory_op(int op, void *arg)
{ return hypercall2(__HYPERVISOR_memory_op, op, arg); }

/* SCHEDOP_shutdown with the given reason; halts if the host returns. */
__attribute__((noreturn)) void xen_shutdown(unsigned reason);

/* ---- console ---- */

void debug_putc(char c);                 /* port 0xe9 */
void debug_write(const char *s);         /* port 0xe9 */
long console_write(const char *s);       /* CONSOLEIO_write hypercall */

/* A small formatter: %s %c %d %i %u %x %p %%, with l/ll, width and 0 flag. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int debug_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* port 0xe9 */
int console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* console_io */

size_t strlen(const char *s);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* ---- ucall: guest -> host messages through the vCPU's slot ---- */

enum { UCALL_DONE = 1, UCALL_SYNC = 2, UCALL_ASSERT = 3, UCALL_PRINT = 4 };

struct ucall {                /* 256 bytes, little-endian; see docs/kvm-backend.md */
    uint64_t cmd;
    uint64_t args[6];
    uint32_t line;
    uint32_t pad;
    char file[64];
    char text[128];
};
_Static_assert(sizeof(struct ucall) == 256, "ucall size");
_Static_assert(__builtin_offsetof(struct ucall, line) == 56, "ucall.line");
_Static_assert(__builtin_offsetof(struct ucall, file) == 64, "ucall.file");
_Static_assert(__builtin_offsetof(struct ucall, text) == 128, "ucall.text");

/*
 * Fill this vCPU's slot and ring the doorbell (out %eax, $0xe5 with %eax = slot
 * gpa). Returns the slot: after a UCALL_SYNC the host may have written a reply
 * into slot->args (a jxen convention for tests that need a value from the host,
 * e.g. the address of a region it allocated); args it did not touch still hold
 * what the guest sent.
 */
struct ucall *ucall(uint64_t cmd, int nargs, ...);
__attribute__((noreturn)) void ucall_assert(const char *file, uint32_t line, const char *expr,
                                            uint64_t a, uint64_t b, int nargs);
void ucall_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void ucall_done(void);

#define UCALL_NARGS_(_1, _2, _3, _4, _5, _6, n, ...) n
#define UCALL_NARGS(...) UCALL_NARGS_(__VA_ARGS__, 6, 5, 4, 3, 2, 1, 0)
#define UCALL_U64_1(a) (uint64_t)(a)
#define UCALL_U64_2(a, ...) (uint64_t)(a), UCALL_U64_1(__VA_ARGS__)
#define UCALL_U64_3(a, ...) (uint64_t)(a), UCALL_U64_2(__VA_ARGS__)
#define UCALL_U64_4(a, ...) (uint64_t)(a), UCALL_U64_3(__VA_ARGS__)
#define UCALL_U64_5(a, ...) (uint64_t)(a), UCALL_U64_4(__VA_ARGS__)
#define UCALL_U64_6(a, ...) (uint64_t)(a), UCALL_U64_5(__VA_ARGS__)
#define UCALL_CAT_(a, b) a##b
#define UCALL_CAT(a, b) UCALL_CAT_(a, b)

/* GUEST_SYNC(stage, up to five values): args[0] = stage, args[1..] = values. */
#define GUEST_SYNC(...) \
    ucall(UCALL_SYNC, UCALL_NARGS(__VA_ARGS__), UCALL_CAT(UCALL_U64_, UCALL_NARGS(__VA_ARGS__))(__VA_ARGS__))
#define GUEST_DONE() ucall_done()
#define GUEST_PRINTF(...) ucall_print(__VA_ARGS__)

/* UCALL_ASSERT: file, line, expression text; args[0], args[1] = the two values (EQ). */
#define GUEST_ASSERT(cond) do { \
        if (!(cond)) ucall_assert(__FILE_NAME__, __LINE__, #cond, 0, 0, 0); \
    } while (0)
#define GUEST_ASSERT_EQ(a, b) do { \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b); \
        if (a_ != b_) ucall_assert(__FILE_NAME__, __LINE__, #a " == " #b, a_, b_, 2); \
    } while (0)
#define GUEST_FAIL(text) ucall_assert(__FILE_NAME__, __LINE__, text, 0, 0, 0)

/* ---- interrupts ---- */

struct trap_frame {           /* as pushed by the stubs in entry.S */
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*irq_handler_t)(struct trap_frame *frame);

/*
 * Install a C handler for a vector (32..255; exceptions 0..31 report an
 * UCALL_ASSERT unless a handler is installed). The IDT is shared by all vCPUs;
 * each stub saves the general registers, calls the handler and returns with iretq.
 * Do not raise vectors with `int $n`: on the project's nested KVM host a software
 * interrupt ends in KVM_EXIT_INTERNAL_ERROR (emulation failure); CPU exceptions
 * (#UD, #PF) and external interrupts are delivered normally.
 */
void idt_set_handler(uint8_t vector, irq_handler_t handler);

/* Local APIC in x2APIC mode (needed for interrupts a host sends with KVM_SIGNAL_MSI). */
int x2apic_available(void);
void x2apic_enable(void);   /* IA32_APIC_BASE EN|EXTD, SVR = 0x1ff, TPR = 0 */
void apic_eoi(void);        /* x2APIC EOI register */

/* ---- entry points the guest defines ---- */

void guest_main(uint32_t vcpu_id, struct ucall *ucall_slot);  /* harness guests */
void kernel_main(uint64_t start_info_pa);                     /* direct-boot guests */

#endif

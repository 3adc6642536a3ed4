/*
 * test-vcpu-up: vCPU bring-up with VCPUOP_initialise, VCPUOP_up, VCPUOP_down and
 * VCPUOP_is_up. Three vCPUs; the host starts vCPUs 1 and 2 down (the harness's
 * "secondaries offline" option).
 *
 * vCPU 0:
 *   checks is_up (1, 0, 0, -ENOENT), up before initialise (-EINVAL), refused contexts
 *   (-EINVAL for a bad mode and a non-zero pad, -EFAULT for a bad pointer), -EEXIST for
 *   itself; initialises vCPU 1 in 64-bit mode at _start with a stack and a ucall slot of
 *   its own, and -EEXIST for a second initialise; then
 *   SYNC(1)                        vCPU 1 is initialised but still down
 *   ups vCPU 1, which starts at _start:
 *     vCPU 1: SYNC(10, 1, starts)  its first and only start; then it counts in a loop
 *   takes vCPU 1 down (it stops counting), then
 *   SYNC(2, count)                 the host sees vCPU 1 offline
 *   ups it again: it goes on counting where it stopped (no second start), -EEXIST for a
 *   new initialise; initialises vCPU 2 in 32-bit flat protected mode, paging off, at a
 *   32-bit stub that copies ESI and EDI into a ucall slot that vCPU 0 prepared and rings
 *   the doorbell with EBX = the slot's address:
 *     vCPU 2: SYNC(20, esi, edi)   then it halts for good (interrupts off)
 *   SYNC(3)
 *   takes itself down: vCPU 1 sees is_up(0) == 0,
 *     vCPU 1: SYNC(11)             the host sees vCPU 0 offline; vCPU 1 ups vCPU 0 and is DONE
 *   vCPU 0 returns from its down with 0 and is DONE.
 */
#include "guest.h"

#define NR_VCPUS 3
#define SPIN_LIMIT_TSC (60ull * 1000 * 1000 * 1000) /* 20 s at 3 GHz */
#define MAGIC_ESI 0x12345678u
#define MAGIC_EDI 0x9abcdef0u

extern char _start[];
extern char ap32_entry[];

static uint8_t ap_stack[NR_VCPUS][16384] __attribute__((aligned(16)));
static struct ucall ap_slot[NR_VCPUS] __attribute__((aligned(64)));
static struct vcpu_hvm_context ctx;
static volatile uint32_t ap_starts;
static volatile uint64_t ap_count;
static volatile uint32_t phase;

/* 32-bit flat mode, paging off: EBX = slot address; args[1] = ESI, args[2] = EDI. */
__asm__(".pushsection .text\n"
        ".globl ap32_entry\n"
        ".code32\n"
        "ap32_entry:\n"
        "    movl %esi, 16(%ebx)\n"
        "    movl %edi, 24(%ebx)\n"
        "    movl %ebx, %eax\n"
        "    outl %eax, $0xe5\n"
        "1:  cli\n"
        "    hlt\n"
        "    jmp 1b\n"
        ".code64\n"
        ".popsection\n");

static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }

static long vcpu_op(int op, unsigned vcpu, void *arg) { return HYPERVISOR_vcpu_op(op, vcpu, arg); }

/* A 64-bit context that enters the harness's _start as vCPU id, on a stack and slot of the guest's own. */
static void context_64(uint32_t id)
{
    memset(&ctx, 0, sizeof ctx);
    ctx.mode = VCPU_HVM_MODE_64B;
    struct vcpu_hvm_x86_64 *r = &ctx.cpu_regs.x86_64;
    r->rip = (uint64_t)_start;
    r->rsp = (uint64_t)(ap_stack[id] + sizeof ap_stack[id]);
    r->rdi = id;
    r->rsi = virt_to_phys(&ap_slot[id]);
    r->rdx = (uint64_t)&ap_slot[id];
    r->rflags = 0x2;
    r->cr0 = read_cr0();
    r->cr3 = read_cr3();
    r->cr4 = read_cr4();
    r->efer = rdmsr(0xc0000080u);
}

static void context_32(void)
{
    memset(&ctx, 0, sizeof ctx);
    ctx.mode = VCPU_HVM_MODE_32B;
    struct vcpu_hvm_x86_32 *r = &ctx.cpu_regs.x86_32;
    r->eip = (uint32_t)virt_to_phys(ap32_entry);
    r->ebx = (uint32_t)virt_to_phys(&ap_slot[2]);
    r->esi = MAGIC_ESI;
    r->edi = MAGIC_EDI;
    r->eflags = 0x2;
    r->cr0 = 0x11; /* PE | ET: protected mode, paging off */
    r->cs_limit = r->ds_limit = r->ss_limit = r->es_limit = 0xffffffffu;
    r->cs_ar = 0xc9b; /* code exec/read, s, p, db, g */
    r->ds_ar = r->ss_ar = r->es_ar = 0xc93; /* data read/write */
    r->tr_limit = 0x67;
    r->tr_ar = 0x8b; /* busy 32-bit TSS, p */
}

static void wait_until(volatile uint64_t *p, uint64_t above)
{
    uint64_t start = rdtsc();
    while (__atomic_load_n(p, __ATOMIC_ACQUIRE) <= above) {
        cpu_relax();
        if (rdtsc() - start > SPIN_LIMIT_TSC)
            ucall_assert(__FILE_NAME__, __LINE__, "count did not pass (args: want above, have)", above, *p, 2);
    }
}

/* Waits until the counter stands still for a while: the counting vCPU is off. */
static uint64_t wait_stopped(volatile uint64_t *p)
{
    uint64_t start = rdtsc();
    for (;;) {
        uint64_t a = *p;
        uint64_t t = rdtsc();
        while (rdtsc() - t < 30ull * 1000 * 1000) /* ~10-30 ms */
            cpu_relax();
        if (*p == a)
            return a;
        if (rdtsc() - start > SPIN_LIMIT_TSC)
            ucall_assert(__FILE_NAME__, __LINE__, "the counting vCPU did not stop", a, *p, 2);
    }
}

__attribute__((noreturn)) static void secondary_main(uint32_t id)
{
    GUEST_ASSERT_EQ(id, 1);
    uint32_t starts = __atomic_add_fetch(&ap_starts, 1, __ATOMIC_SEQ_CST);
    GUEST_SYNC(10, id, starts);
    while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) == 0)
        __atomic_fetch_add(&ap_count, 1, __ATOMIC_RELEASE);
    /* vCPU 0 takes itself down */
    uint64_t start = rdtsc();
    while (vcpu_op(VCPUOP_is_up, 0, NULL) != 0) {
        cpu_relax();
        if (rdtsc() - start > SPIN_LIMIT_TSC)
            GUEST_FAIL("vCPU 0 did not go down");
    }
    GUEST_SYNC(11);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_up, 0, NULL), 0);
    GUEST_DONE();
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)slot;
    if (vcpu_id != 0)
        secondary_main(vcpu_id);
    GUEST_ASSERT(xen_hypercall_init() == 0);

    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_is_up, 0, NULL), 1);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_is_up, 1, NULL), 0);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_is_up, 2, NULL), 0);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_is_up, 3, NULL), -XEN_ENOENT);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_up, 1, NULL), -XEN_EINVAL); /* not initialised */
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_up, 3, NULL), -XEN_ENOENT);

    context_64(1);
    ctx.mode = 5;
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL);
    context_64(1);
    ctx.pad = 1;
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_initialise, 1, (void *)0x0000800000000000ull), -XEN_EFAULT);
    context_64(1);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_initialise, 0, &ctx), -XEN_EEXIST);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_initialise, 1, &ctx), 0);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EEXIST);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_is_up, 1, NULL), 0);
    GUEST_SYNC(1);

    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_up, 1, NULL), 0);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_is_up, 1, NULL), 1);
    wait_until(&ap_count, 1000);

    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_down, 1, NULL), 0);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_is_up, 1, NULL), 0);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_down, 1, NULL), 0); /* down again: nothing to do */
    uint64_t stopped = wait_stopped(&ap_count);
    GUEST_SYNC(2, stopped);

    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_up, 1, NULL), 0);
    wait_until(&ap_count, stopped + 1000);
    GUEST_ASSERT_EQ(ap_starts, 1); /* it went on where it stopped */
    context_64(1);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EEXIST);

    context_32();
    memset(&ap_slot[2], 0, sizeof ap_slot[2]);
    ap_slot[2].cmd = UCALL_SYNC;
    ap_slot[2].args[0] = 20;
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_initialise, 2, &ctx), 0);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_up, 2, NULL), 0);
    GUEST_SYNC(3);

    __atomic_store_n(&phase, 1, __ATOMIC_RELEASE);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_down, 0, NULL), 0); /* returns once vCPU 1 ups us again */
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_is_up, 0, NULL), 1);
    GUEST_DONE();
}

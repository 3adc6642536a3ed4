/*
 * test-emulation-gaps: instructions a guest kernel executes that KVM's instruction emulator cannot do.
 * On hosts that run guest supervisor code natively these never reach the emulator; on the project's
 * hosts (which emulate it) jxen completes int3 and fwait itself, and cmpxchg16b stops the vCPU with
 * a report.
 *
 * Host expectations (ucalls, in order; every SYNC is answered by resuming):
 *   SYNC(1, bp_hits, bp_rip, rip_after_int3)   int3 reached the #BP handler once, with the RIP after it
 *   SYNC(2, nm_hits)                           fwait with CR0.TS clear: no exception
 *   SYNC(3, nm_hits, cr0_ts)                   fwait with CR0.TS and MP set: #NM once; the handler
 *                                              clears TS and the fwait then completes
 *   SYNC(4, swapped, lo, hi)                   lock cmpxchg16b on a 16-byte pair (0, 0) -> (1, 2)
 *   DONE
 */
#include "guest.h"

static volatile uint64_t bp_hits, bp_rip, nm_hits;
static uint64_t pair[2] __attribute__((aligned(16)));

static uint64_t read_cr0(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static void write_cr0(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr0" :: "r"(v) : "memory");
}

static void on_bp(struct trap_frame *f)
{
    bp_hits++;
    bp_rip = f->rip;
}

static void on_nm(struct trap_frame *f)
{
    (void)f;
    nm_hits++;
    write_cr0(read_cr0() & ~8ul); /* clear TS, as a kernel does once the FPU state is its own */
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    idt_set_handler(3, on_bp);
    idt_set_handler(7, on_nm);

    uint64_t after;
    __asm__ volatile("int3\n1: lea 1b(%%rip), %0" : "=r"(after) :: "memory");
    GUEST_SYNC(1, bp_hits, bp_rip, after);
    GUEST_ASSERT_EQ(bp_hits, 1);
    GUEST_ASSERT_EQ(bp_rip, after);

    __asm__ volatile("fninit; fwait" ::: "memory");
    GUEST_SYNC(2, nm_hits);
    GUEST_ASSERT_EQ(nm_hits, 0);

    write_cr0(read_cr0() | 0xa); /* TS | MP */
    __asm__ volatile("fwait" ::: "memory");
    uint64_t ts = (read_cr0() >> 3) & 1;
    GUEST_SYNC(3, nm_hits, ts);
    GUEST_ASSERT_EQ(nm_hits, 1);
    GUEST_ASSERT_EQ(ts, 0);

    uint64_t lo = 0, hi = 0;
    uint8_t swapped;
    __asm__ volatile("lock cmpxchg16b %1; setz %0"
                     : "=q"(swapped), "+m"(pair[0]), "+a"(lo), "+d"(hi)
                     : "b"(1ul), "c"(2ul), "m"(pair[1])
                     : "memory", "cc");
    GUEST_SYNC(4, swapped, pair[0], pair[1]);
    GUEST_ASSERT_EQ(swapped, 1);
    GUEST_DONE();
}

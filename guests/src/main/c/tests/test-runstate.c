/*
 * test-runstate: runstate areas end to end (SCENARIOS.md 2, 3 and 4). Two vCPUs; the host
 * starts vCPU 1 down (the harness's "secondaries offline" option).
 *
 * vCPU 0 registers a runstate area for itself and one for vCPU 1, each crossing a page
 * boundary, and reads them the way Linux does (entry time, fields, entry time again; retry
 * while XEN_RUNSTATE_UPDATE is set or the entry time changed). Every read checks that
 * state_entry_time is the sum of the four times and that no time went down (except across a
 * change the host made on purpose).
 *
 *   SYNC(0)  the host answers in args[1] which scenario to run: 2, 3 or 4.
 *
 * Scenario 2 (vCPU 1 observed by vCPU 0):
 *   offline  vCPU 1 never ran: offline time only, and it grows
 *   running  vCPU 0's own area shows running after its own hypercall, with running time growing;
 *            vCPU 1, initialised and up, spins: its running time grows
 *   blocked  vCPU 1 halts with interrupts on (inside KVM, no exit): blocked shows and grows
 *   SYNC(21) the host pins vCPU 1's thread and busy threads to one CPU; vCPU 0 wakes vCPU 1
 *            (an x2APIC IPI) and it spins again
 *   runnable shows and grows (it waits for a CPU)
 *   SYNC(22, runnable growth) the host unpins
 *   offline  after VCPUOP_down(1): shows and grows
 *   SYNC(29, reads checked, running shown for vCPU 1 by the host's sampler)
 *
 * Scenario 3 (the host sets and adjusts runstate data; vCPU 1 stays down):
 *   SYNC(30) the host sets vCPU 1's record and answers args[1..4] = running, runnable,
 *            blocked, offline; the area and VCPUOP_get_runstate_info show exactly those, except
 *            offline, the current state, which may have grown
 *   SYNC(31) the host adjusts by args[1..4] = deltas; exactly applied
 *   SYNC(32) the host sets vCPU 0's own record (while vCPU 0 runs) to args[1..4]: the area
 *            shows at least those, and the entry time is their sum
 *   SYNC(39, reads checked)
 *
 * Scenario 4 (steal time on vCPU 0):
 *   SYNC(40) the host pins vCPU 0's thread and busy threads to one CPU
 *   vCPU 0 spins reading its area until time[runnable] grew by STEAL_NS (counted from a
 *            read a few ms after the SYNC, so the growth is from a guest that spins)
 *   SYNC(41, runnable growth, running growth) the host unpins
 *   VCPUOP_get_runstate_info agrees with the area; SYNC(49, reads checked)
 * DONE.
 */
#include "guest.h"

#define WAKE_VECTOR 0xf4
#define MS 1000000ull
#define GROW_NS (30 * MS)
#define STEAL_NS (50 * MS)
#define SPIN_LIMIT_TSC (150ull * 1000 * 1000 * 1000) /* 50 s at 3 GHz, longer on slower clocks */
#define MSR_X2APIC_ICR 0x830u
#define MSR_EFER 0xc0000080u

enum { PHASE_SPIN = 1, PHASE_HALT = 2 };

struct __attribute__((packed)) rs {
    int32_t state;
    uint32_t pad;
    uint64_t entry;
    uint64_t time[4];
};
_Static_assert(sizeof(struct rs) == 48, "vcpu_runstate_info, 64-bit");

static uint8_t rs_pages[4][4096] __attribute__((aligned(4096)));
/*
 * each area crosses a page boundary, inside time[0] and inside time[1]; not inside
 * state_entry_time, which a guest must read in one access for the update protocol to hold
 */
#define AREA0 ((volatile struct rs *)(rs_pages[0] + 4096 - 20))
#define AREA1 ((volatile struct rs *)(rs_pages[2] + 4096 - 24))

extern char _start[];
static uint8_t ap_stack[16384] __attribute__((aligned(16)));
static struct ucall ap_slot __attribute__((aligned(64)));
static struct vcpu_hvm_context ctx;
static volatile uint32_t phase;
static volatile uint32_t ap_alive;
static volatile uint64_t wakes;

static struct rs last[2];
static int have_last[2];
static uint64_t checks;

static volatile struct rs *area(int v) { return v ? AREA1 : AREA0; }

static uint64_t sum(const struct rs *r) { return r->time[0] + r->time[1] + r->time[2] + r->time[3]; }

/* The guest's read (as Linux's xen_get_runstate_snapshot), then the checks of every read. */
static void read_area(int v, struct rs *out)
{
    volatile struct rs *p = area(v);
    uint64_t start = rdtsc();
    for (;;) {
        uint64_t e1 = p->entry;
        barrier();
        out->state = p->state;
        out->pad = 0;
        for (int i = 0; i < 4; i++)
            out->time[i] = p->time[i];
        barrier();
        uint64_t e2 = p->entry;
        if (e1 == e2 && !(e1 & XEN_RUNSTATE_UPDATE)) {
            out->entry = e1;
            break;
        }
        cpu_relax();
        if (rdtsc() - start > SPIN_LIMIT_TSC)
            ucall_assert(__FILE_NAME__, __LINE__, "the area stayed in update (args: vcpu, entry)", v, e1, 2);
    }
    checks++;
    GUEST_ASSERT(out->state >= RUNSTATE_running && out->state <= RUNSTATE_offline);
    GUEST_ASSERT_EQ(out->entry, sum(out));
    if (have_last[v]) {
        for (int i = 0; i < 4; i++)
            if (out->time[i] < last[v].time[i])
                ucall_assert(__FILE_NAME__, __LINE__, "a runstate time went down (args: before, after)",
                             last[v].time[i], out->time[i], 2);
    }
    last[v] = *out;
    have_last[v] = 1;
}

/* The host changed vCPU v's record on purpose: the next read starts a new monotonic run. */
static void host_changed(int v) { have_last[v] = 0; }

/*
 * Busy for about `ms` (at least that at <= 1 GHz, a few times more on faster TSCs). No `pause`:
 * under nested KVM a pause loop exits to the host, which may yield the vCPU thread, and the
 * point here is a vCPU that really runs.
 */
static void spin_ms(uint64_t ms)
{
    uint64_t t = rdtsc();
    while (rdtsc() - t < ms * 1000 * 1000)
        barrier();
}

/*
 * Waits until vCPU v's area shows `state` (when `must_show`) and time[state] grew by at least
 * `grow` ns; returns the growth. Every read is checked.
 */
static uint64_t wait_state(int v, int state, uint64_t grow, int must_show, int *shown)
{
    struct rs base, now;
    read_area(v, &base);
    int seen = base.state == state;
    uint64_t start = rdtsc();
    for (;;) {
        spin_ms(1);
        read_area(v, &now);
        seen |= now.state == state;
        if ((seen || !must_show) && now.time[state] >= base.time[state] + grow)
            break;
        if (rdtsc() - start > SPIN_LIMIT_TSC)
            ucall_assert(__FILE_NAME__, __LINE__, "state not shown or its time did not grow (args: state, growth)",
                         (uint64_t)state | ((uint64_t)seen << 8), now.time[state] - base.time[state], 2);
    }
    if (shown)
        *shown = seen;
    return now.time[state] - base.time[state];
}

static long vcpu_op(int op, unsigned vcpu, void *arg) { return HYPERVISOR_vcpu_op(op, vcpu, arg); }

static void register_area(int v)
{
    struct vcpu_register_memory_area a = { .addr = (uint64_t)area(v) };
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_register_runstate_memory_area, v, &a), 0);
}

static void get_info(int v, struct rs *out)
{
    struct vcpu_runstate_info info;
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_get_runstate_info, v, &info), 0);
    out->state = info.state;
    out->entry = info.state_entry_time;
    for (int i = 0; i < 4; i++)
        out->time[i] = info.time[i];
    GUEST_ASSERT_EQ(out->entry, sum(out));
    GUEST_ASSERT_EQ(out->entry & XEN_RUNSTATE_UPDATE, 0);
}

static void wake_handler(struct trap_frame *f)
{
    (void)f;
    wakes++;
    apic_eoi();
}

static void wake_vcpu1(void)
{
    wrmsr(MSR_X2APIC_ICR, (1ull << 32) | (1u << 14) | WAKE_VECTOR); /* fixed, assert, physical id 1 */
}

static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }

static void start_vcpu1(void)
{
    memset(&ctx, 0, sizeof ctx);
    ctx.mode = VCPU_HVM_MODE_64B;
    struct vcpu_hvm_x86_64 *r = &ctx.cpu_regs.x86_64;
    r->rip = (uint64_t)_start;
    r->rsp = (uint64_t)(ap_stack + sizeof ap_stack);
    r->rdi = 1;
    r->rsi = virt_to_phys(&ap_slot);
    r->rdx = (uint64_t)&ap_slot;
    r->rflags = 0x2;
    r->cr0 = read_cr0();
    r->cr3 = read_cr3();
    r->cr4 = read_cr4();
    r->efer = rdmsr(MSR_EFER);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_initialise, 1, &ctx), 0);
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_up, 1, NULL), 0);
    uint64_t start = rdtsc();
    while (!ap_alive) {
        cpu_relax();
        if (rdtsc() - start > SPIN_LIMIT_TSC)
            GUEST_FAIL("vCPU 1 did not start");
    }
}

/* vCPU 1: spins or halts as vCPU 0 says; never returns. */
__attribute__((noreturn)) static void secondary_main(void)
{
    x2apic_enable();
    ap_alive = 1;
    for (;;) {
        if (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) == PHASE_HALT) {
            halt(); /* sti; hlt: sleeps inside KVM_RUN until an interrupt */
            cli();
        } else {
            barrier(); /* spin without `pause` (see spin_ms) */
        }
    }
}

static void scenario2(void)
{
    struct rs r;
    int shown;
    /* offline: vCPU 1 never ran */
    read_area(1, &r);
    GUEST_ASSERT_EQ(r.state, RUNSTATE_offline);
    GUEST_ASSERT_EQ(r.time[RUNSTATE_running] + r.time[RUNSTATE_runnable] + r.time[RUNSTATE_blocked], 0);
    GUEST_ASSERT(r.time[RUNSTATE_offline] > 0);
    wait_state(1, RUNSTATE_offline, GROW_NS, 1, NULL);

    /* running: vCPU 0's own area after its own hypercall */
    struct rs mine, mine0;
    get_info(0, &mine0);
    uint64_t start = rdtsc();
    do {
        get_info(0, &mine); /* a hypercall: vCPU 0's thread accounts itself, running */
        read_area(0, &r);
        if (rdtsc() - start > SPIN_LIMIT_TSC)
            GUEST_FAIL("vCPU 0's own area never showed running");
    } while (r.state != RUNSTATE_running || mine.time[RUNSTATE_running] < mine0.time[RUNSTATE_running] + GROW_NS);

    /* running: vCPU 1 spins */
    phase = PHASE_SPIN;
    start_vcpu1();
    int running_shown;
    wait_state(1, RUNSTATE_running, GROW_NS, 0, &running_shown);

    /* blocked: vCPU 1 halts inside KVM */
    phase = PHASE_HALT;
    wait_state(1, RUNSTATE_blocked, GROW_NS, 1, NULL);

    /* runnable: vCPU 1 spins on a CPU the host crowded */
    GUEST_SYNC(21);
    phase = PHASE_SPIN;
    wake_vcpu1();
    uint64_t steal = wait_state(1, RUNSTATE_runnable, GROW_NS, 1, &shown);
    GUEST_SYNC(22, steal);

    /* offline again */
    GUEST_ASSERT_EQ(vcpu_op(VCPUOP_down, 1, NULL), 0);
    wait_state(1, RUNSTATE_offline, GROW_NS, 1, NULL);

    /* get_runstate_info is never behind the area */
    struct rs info;
    read_area(1, &r);
    get_info(1, &info);
    for (int i = 0; i < 4; i++)
        GUEST_ASSERT(info.time[i] >= r.time[i]);
    GUEST_ASSERT_EQ(info.state, RUNSTATE_offline);
    GUEST_SYNC(29, checks, running_shown, wakes);
}

static void scenario3(void)
{
    struct rs r, info;
    read_area(1, &r);
    GUEST_ASSERT_EQ(r.state, RUNSTATE_offline);

    struct ucall *u = GUEST_SYNC(30);
    uint64_t want[4] = { u->args[1], u->args[2], u->args[3], u->args[4] };
    host_changed(1);
    read_area(1, &r);
    GUEST_ASSERT_EQ(r.state, RUNSTATE_offline);
    GUEST_ASSERT_EQ(r.time[RUNSTATE_running], want[0]);
    GUEST_ASSERT_EQ(r.time[RUNSTATE_runnable], want[1]);
    GUEST_ASSERT_EQ(r.time[RUNSTATE_blocked], want[2]);
    GUEST_ASSERT(r.time[RUNSTATE_offline] >= want[3]);
    get_info(1, &info);
    GUEST_ASSERT_EQ(info.time[RUNSTATE_running], want[0]);
    GUEST_ASSERT_EQ(info.time[RUNSTATE_runnable], want[1]);
    GUEST_ASSERT_EQ(info.time[RUNSTATE_blocked], want[2]);
    GUEST_ASSERT(info.time[RUNSTATE_offline] >= r.time[RUNSTATE_offline]);

    u = GUEST_SYNC(31, r.time[RUNSTATE_offline]);
    int64_t d[4] = { (int64_t)u->args[1], (int64_t)u->args[2], (int64_t)u->args[3], (int64_t)u->args[4] };
    host_changed(1);
    struct rs before = r;
    read_area(1, &r);
    GUEST_ASSERT_EQ(r.time[RUNSTATE_running], before.time[RUNSTATE_running] + d[0]);
    GUEST_ASSERT_EQ(r.time[RUNSTATE_runnable], before.time[RUNSTATE_runnable] + d[1]);
    GUEST_ASSERT_EQ(r.time[RUNSTATE_blocked], before.time[RUNSTATE_blocked] + d[2]);
    GUEST_ASSERT(r.time[RUNSTATE_offline] >= before.time[RUNSTATE_offline] + d[3]);
    wait_state(1, RUNSTATE_offline, GROW_NS, 1, NULL); /* accounting goes on from there */

    u = GUEST_SYNC(32);
    uint64_t mine[4] = { u->args[1], u->args[2], u->args[3], u->args[4] };
    host_changed(0);
    read_area(0, &r);
    for (int i = 0; i < 4; i++)
        GUEST_ASSERT(r.time[i] >= mine[i]);
    GUEST_ASSERT(r.entry >= mine[0] + mine[1] + mine[2] + mine[3]);
    wait_state(0, RUNSTATE_running, GROW_NS, 0, NULL); /* and goes on, monotonic again */
    GUEST_SYNC(39, checks);
}

static void scenario4(void)
{
    struct rs base, r, info;
    GUEST_SYNC(40);
    /*
     * Measure while the guest runs, not the wait for a CPU that ended this SYNC's exit (that
     * counts too, as steal, but it is not what this scenario shows): spin a little, then start.
     */
    spin_ms(5);
    read_area(0, &base);
    uint64_t start = rdtsc();
    do {
        spin_ms(1);
        read_area(0, &r);
        if (rdtsc() - start > SPIN_LIMIT_TSC)
            ucall_assert(__FILE_NAME__, __LINE__, "no steal time (args: runnable before, after)",
                         base.time[RUNSTATE_runnable], r.time[RUNSTATE_runnable], 2);
    } while (r.time[RUNSTATE_runnable] < base.time[RUNSTATE_runnable] + STEAL_NS);
    GUEST_SYNC(41, r.time[RUNSTATE_runnable] - base.time[RUNSTATE_runnable],
               r.time[RUNSTATE_running] - base.time[RUNSTATE_running]);
    read_area(0, &r);
    get_info(0, &info);
    for (int i = 0; i < 4; i++)
        GUEST_ASSERT(info.time[i] >= r.time[i]);
    GUEST_ASSERT_EQ(info.state, RUNSTATE_running);
    GUEST_SYNC(49, checks);
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)slot;
    if (vcpu_id != 0)
        secondary_main();
    GUEST_ASSERT(xen_hypercall_init() == 0);
    GUEST_ASSERT(x2apic_available());
    idt_set_handler(WAKE_VECTOR, wake_handler);
    x2apic_enable();
    register_area(0);
    register_area(1);
    struct ucall *u = GUEST_SYNC(0);
    switch (u->args[1]) {
    case 2: scenario2(); break;
    case 3: scenario3(); break;
    case 4: scenario4(); break;
    default: GUEST_FAIL("unknown scenario");
    }
    GUEST_DONE();
}

/*
 * test-pvh-xenabi: a direct-boot guest whose hypercall ABI changes as it boots
 * (SCENARIOS.md 20, the 32-bit protected mode -> long mode direction).
 *
 * In 32-bit protected mode, paging off (boot32_hook in test-pvh-xenabi32.S), it maps
 * shared_info, registers a runstate area 46 bytes before a page boundary, binds an IPI
 * port and sends on it, all with the 32-bit ABI. In long mode (here) it checks that
 * the domain used the 32-bit layouts (wall clock at 2304, the port's pending bit and
 * evtchn_pending_sel in 32-bit words, the 44-byte runstate record with the sentinel
 * after it untouched), then makes its first 64-bit hypercall and checks that the
 * layouts follow: the runstate record in 48 bytes, the wall clock at 3072, a send
 * sets the 64-bit selector word.
 *
 * Host expectations: jxen's Xen domain serves the hypercalls. The guest records its
 * checks and, at the end, prints one line per check on the console (CONSOLEIO_write)
 * and port 0xe9,
 *   "test-pvh-xenabi: <check> ok" (or "... FAIL got <value>"),
 * and shuts down with SHUTDOWN_poweroff when all passed, SHUTDOWN_crash otherwise.
 */
#include "guest.h"

#define SENTINEL 0xa5

extern uint32_t xenabi32_status, xenabi32_results[5], xenabi32_port;

/* shared_info's frame and the runstate area's pages, used by the 32-bit code through
   their physical addresses (paging off) */
uint8_t xenabi_shinfo[PAGE_SIZE] __attribute__((aligned(4096)));
uint8_t xenabi_area_pages[2 * PAGE_SIZE] __attribute__((aligned(4096)));

/*
 * Checks are recorded first and printed at the end: printing is a console_io hypercall,
 * and the first one made in long mode would switch the layouts under the 32-bit checks.
 */
static struct { const char *what; uint64_t got, want; } checks[32];
static int nchecks;

static void check(const char *what, uint64_t got, uint64_t want)
{
    if (nchecks < (int)(sizeof checks / sizeof checks[0]))
        checks[nchecks++] = (typeof(checks[0])){ what, got, want };
}

static int report(void)
{
    int all_ok = 1;
    for (int i = 0; i < nchecks; i++) {
        char line[160];
        int ok = checks[i].got == checks[i].want;
        if (ok)
            snprintf(line, sizeof line, "test-pvh-xenabi: %s ok\n", checks[i].what);
        else
            snprintf(line, sizeof line, "test-pvh-xenabi: %s FAIL got %lx want %lx\n", checks[i].what,
                     checks[i].got, checks[i].want);
        all_ok &= ok;
        debug_write(line);
        console_write(line);
    }
    return all_ok;
}

static uint64_t u64_at(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t u32_at(const uint8_t *p)
{
    return *(volatile const uint32_t *)p;
}

/* 1 when the record at `area` in the given layout is running, not mid-update, and sums up */
static int record_ok(const uint8_t *area, int bits)
{
    int entry_at = bits == 32 ? 4 : 8, time_at = bits == 32 ? 12 : 16;
    uint64_t entry = u64_at(area + entry_at), sum = 0;
    for (int i = 0; i < 4; i++)
        sum += u64_at(area + time_at + 8 * i);
    return u32_at(area) == RUNSTATE_running && !(entry & XEN_RUNSTATE_UPDATE) && entry == sum && entry != 0;
}

static int sentinel_ok(const uint8_t *from, const uint8_t *to)
{
    for (const uint8_t *p = from; p < to; p++)
        if (*p != SENTINEL)
            return 0;
    return 1;
}

void kernel_main(uint64_t start_info_pa)
{
    (void)start_info_pa;
    if (xenabi32_status != 0 || xen_hypercall_init() != 0) {
        debug_write("test-pvh-xenabi: no Xen CPUID leaves, FAIL\n");
        xen_shutdown(SHUTDOWN_crash);
    }
    uint8_t *si = xenabi_shinfo;
    uint8_t *area = xenabi_area_pages + PAGE_SIZE - 46;
    uint32_t port = xenabi32_port;

    /* what the 32-bit hypercalls did */
    check("32-bit xen_version", xenabi32_results[0] >> 16 >= 4, 1);
    check("32-bit add_to_physmap(shared_info)", xenabi32_results[1], 0);
    check("32-bit register_runstate_memory_area", xenabi32_results[2], 0);
    check("32-bit bind_ipi", xenabi32_results[3], 0);
    check("32-bit send", xenabi32_results[4], 0);
    uint32_t wc = u32_at(si + 2304);
    check("32-bit layout: wc_version at 2304 even and non-zero", wc != 0 && wc % 2 == 0, 1);
    check("32-bit layout: nothing at the 64-bit wc_version (3072)", u32_at(si + 3072), 0);
    check("32-bit layout: the port pends in its 32-bit word", (u32_at(si + 2048 + 4 * (port / 32)) >> (port % 32)) & 1, 1);
    check("32-bit layout: evtchn_pending_sel is a 32-bit word at 4", u32_at(si + 4), 1u << (port / 32));
    check("32-bit layout: evtchn_upcall_pending", si[0], 1);
    check("32-bit layout: runstate record of 44 bytes", record_ok(area, 32), 1);
    check("32-bit layout: the bytes after the 44-byte record untouched", sentinel_ok(area + 44, area + 80), 1);
    check("32-bit layout: the bytes before the record untouched", sentinel_ok(area - 16, area), 1);

    /* the first 64-bit hypercall latches the 64-bit ABI */
    memset(area + 44, SENTINEL, 36);
    long version = HYPERVISOR_xen_version(XENVER_version, 0);
    check("64-bit xen_version", version >> 16 >= 4, 1);
    check("64-bit layout: runstate record of 48 bytes, across the page boundary", record_ok(area, 64), 1);
    check("64-bit layout: the bytes after the 48-byte record untouched", sentinel_ok(area + 48, area + 80), 1);
    wc = u32_at(si + 3072);
    check("64-bit layout: wc_version at 3072 even and non-zero", wc != 0 && wc % 2 == 0, 1);

    /* the guest handles the pending port (as its upcall handler would), then sends again */
    si[0] = 0;
    *(volatile uint32_t *)(si + 4) = 0;
    __atomic_fetch_and((uint32_t *)(si + 2048 + 4 * (port / 32)), ~(1u << (port % 32)), __ATOMIC_SEQ_CST);
    struct evtchn_port_arg send = { .port = port };
    check("64-bit send", HYPERVISOR_event_channel_op(EVTCHNOP_send, &send), 0);
    check("64-bit layout: evtchn_pending_sel is a 64-bit word at 8", u64_at(si + 8), 1ull << (port / 64));
    check("64-bit layout: the port pends in its 64-bit word", (u64_at(si + 2048 + 8 * (port / 64)) >> (port % 64)) & 1, 1);

    xen_shutdown(report() ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}

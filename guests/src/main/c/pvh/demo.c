/*
 * demo: jxen's demo guest, a small Xen-aware kernel booted by the Xen HVM/PVH
 * direct-boot convention (pvh32.S: 32-bit entry named by XEN_ELFNOTE_PHYS32_ENTRY,
 * hvm_start_info in EBX, own page tables, long mode). `jxen run` with no kernel
 * boots it.
 *
 * What it does, as a Xen guest kernel would:
 *   - finds Xen by CPUID and has the host fill its hypercall page
 *   - maps shared_info (XENMEM_add_to_physmap), registers its vcpu_info at a
 *     non-zero offset in a page of its own and a runstate area
 *   - takes upcalls on a vector (HVMOP_set_evtchn_upcall_vector, x2APIC)
 *   - binds VIRQ_TIMER and an IPI, arms a one-shot timer
 *     (VCPUOP_set_singleshot_timer) and waits for it with SCHEDOP_poll, then
 *     sends itself the IPI
 *   - reads and writes its XenStore home over the store ring
 *     (HVM_PARAM_STORE_PFN/EVTCHN), or says "xenstore: not available" when the
 *     host offers none
 *   - prints its report through the PV console ring (HVM_PARAM_CONSOLE_PFN/
 *     EVTCHN), or through console_io when the host offers no console page
 *   - shuts down with SCHEDOP_shutdown: poweroff when every check passed,
 *     crash otherwise
 *
 * Host expectations: the Xen HVM direct-boot convention, Xen CPUID leaves, the
 * in-kernel local APIC (x2APIC), jxen's Xen domain. The last line is
 * "demo: all checks passed" or "demo: <n> checks FAILED".
 */
#include "guest.h"
#include "xen_setup.h"
#include "xenpv.h"

static union {
    struct shared_info s;
    uint8_t frame[4096];
} shinfo_frame __attribute__((aligned(4096)));
#define shinfo (shinfo_frame.s)

/* vcpu_info lives at offset 0x40 of a page of its own once registered */
#define VCPU_INFO_OFFSET 0x40
static uint8_t vcpu_info_page[4096] __attribute__((aligned(4096)));

static struct vcpu_runstate_info runstate __attribute__((aligned(64)));

static int failures;

/* One line of the report: the PV console ring when the host offers it, else console_io. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1)
        n = sizeof buf - 1;
    if (xencons_ready())
        xencons_write(buf, (size_t)n);
    else
        HYPERVISOR_console_io(CONSOLEIO_write, (unsigned long)n, buf);
}

static void check(int ok, const char *what)
{
    if (!ok) {
        failures++;
        say("  FAILED: %s\n", what);
    }
}

/*
 * Lets pending interrupts in, with a bound: never hangs. Interrupts stay enabled through the
 * whole wait: a one-instruction window (sti; pause; cli) can be missed every time where the host
 * emulates kernel code and injects only at its own instruction boundaries (seen on the project's
 * hosts: an IPI pending in the local APIC not taken in 2.8 s of such windows).
 */
static void take_interrupts_until(volatile uint32_t *counter, uint32_t want)
{
    sti();
    for (int i = 0; i < 1000000 && *counter < want; i++)
        cpu_relax();
    cli();
}

/* "YYYY-MM-DD HH:MM:SS" from seconds since 1970 (UTC), by the civil-from-days method. */
static void format_utc(char *buf, size_t size, uint64_t secs)
{
    int64_t days = (int64_t)(secs / 86400);
    uint32_t rem = (uint32_t)(secs % 86400);
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    uint32_t doe = (uint32_t)(z - era * 146097);
    uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint32_t mp = (5 * doy + 2) / 153;
    uint32_t d = doy - (153 * mp + 2) / 5 + 1;
    uint32_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    snprintf(buf, size, "%ld-%02u-%02u %02u:%02u:%02u UTC", y, m, d, rem / 3600, rem / 60 % 60, rem % 60);
}

static void report_xenstore(void)
{
    if (xs_init() != 0) {
        say("  xenstore: not available (the host offers no store page)\n");
        return;
    }
    char domid[16];
    char home[64] = "(relative)";
    if (xs_read("domid", domid, sizeof domid) > 0) {
        char path[64];
        if (xs_request(XS_GET_DOMAIN_PATH, domid, (uint32_t)strlen(domid) + 1, path, sizeof path) > 0)
            memcpy(home, path, sizeof home);
    }
    const char *value = "hello from the jxen demo guest";
    int w = xs_write("data/jxen-demo", value);
    char back[64];
    int r = xs_read("data/jxen-demo", back, sizeof back);
    int ok = w == 0 && r == (int)strlen(value) && memcmp(back, value, (size_t)r) == 0;
    say("  xenstore: ring at gfn 0x%lx, port %u; home %s; wrote and read back data/jxen-demo: %s\n",
        xs_gfn(), xs_port(), home, ok ? "ok" : "FAILED");
    check(ok, "xenstore write and read back");
}

void kernel_main(uint64_t start_info_pa)
{
    const struct hvm_start_info *si = (const struct hvm_start_info *)start_info_pa;
    if (xen_hypercall_init() != 0) {
        debug_write("demo: no Xen CPUID leaves; this guest needs Xen (or jxen)\n");
        halt_forever();
    }
    int console_ring = xencons_init() == 0;

    uint32_t base = xen_cpuid_base(), ver, b, c, d;
    cpuid(base + 1, 0, &ver, &b, &c, &d);
    char extra[16] = { 0 };
    HYPERVISOR_xen_version(XENVER_extraversion, extra);
    long version = HYPERVISOR_xen_version(XENVER_version, NULL);
    say("jxen demo guest: a Xen HVM direct-boot kernel\n");
    say("  xen: %u.%u%s (CPUID leaf 0x%x; XENVER_version %ld.%ld)\n", ver >> 16, ver & 0xffff, extra, base,
        version >> 16, version & 0xffff);
    check(version == (long)ver, "XENVER_version matches CPUID");
    const char *cmdline = si->cmdline_paddr ? (const char *)si->cmdline_paddr : "";
    say("  boot: hvm_start_info magic 0x%x at 0x%lx, %u memory map entries, command line \"%s\"\n", si->magic,
        start_info_pa, si->memmap_entries, cmdline);
    check(si->magic == XEN_HVM_START_MAGIC, "hvm_start_info magic");
    say("  hypercall page: gpa 0x%lx\n", virt_to_phys(hypercall_page));

    /* shared_info and the wall clock */
    struct xen_add_to_physmap xatp = { .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .idx = 0,
                                       .gpfn = virt_to_phys(&shinfo) >> 12 };
    long rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    check(rc == 0, "XENMEM_add_to_physmap(shared_info)");
    pv_set_shared_info(&shinfo);
    xen_shinfo = &shinfo;
    xen_vcpu_info[0] = &shinfo.vcpu_info[0];
    if (console_ring)
        evtchn_mask(xencons_port());
    uint32_t wc_version = __atomic_load_n(&shinfo.wc_version, __ATOMIC_ACQUIRE);
    uint64_t boot_sec = shinfo.wc_sec | ((uint64_t)shinfo.wc_sec_hi << 32);
    uint64_t now_ns = xen_system_time();
    char when[40];
    format_utc(when, sizeof when, boot_sec + now_ns / 1000000000ull);
    say("  shared_info: gfn 0x%lx; wall clock %s (wc_version %u)\n", (uint64_t)xatp.gpfn, when, wc_version);
    check(wc_version != 0 && (wc_version & 1) == 0 && boot_sec > 1600000000ull, "wall clock in shared_info");

    /* vcpu_info at a non-zero offset of a page of our own; a runstate area */
    struct vcpu_register_vcpu_info rvi = { .mfn = virt_to_phys(vcpu_info_page) >> 12, .offset = VCPU_INFO_OFFSET };
    rc = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &rvi);
    check(rc == 0, "VCPUOP_register_vcpu_info");
    if (rc == 0)
        xen_vcpu_info[0] = (struct vcpu_info *)(vcpu_info_page + VCPU_INFO_OFFSET);
    say("  vcpu_info: registered at gpa 0x%lx + 0x%x\n", virt_to_phys(vcpu_info_page), VCPU_INFO_OFFSET);
    struct vcpu_register_memory_area area = { .addr = (uint64_t)&runstate };
    rc = HYPERVISOR_vcpu_op(VCPUOP_register_runstate_memory_area, 0, &area);
    check(rc == 0, "VCPUOP_register_runstate_memory_area");

    /* upcalls on a vector through the local APIC */
    check(x2apic_available(), "x2APIC");
    idt_set_handler(XEN_UPCALL_VECTOR, xen_evtchn_do_upcall);
    x2apic_enable();
    struct xen_hvm_evtchn_upcall_vector up = { .vcpu = 0, .vector = XEN_UPCALL_VECTOR };
    check(HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &up) == 0, "HVMOP_set_evtchn_upcall_vector");

    struct evtchn_bind_virq virq = { .virq = VIRQ_TIMER, .vcpu = 0 };
    check(HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &virq) == 0, "EVTCHNOP_bind_virq(VIRQ_TIMER)");
    struct evtchn_bind_ipi ipi = { .vcpu = 0 };
    check(HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &ipi) == 0, "EVTCHNOP_bind_ipi");
    say("  events: upcall vector 0x%x, VIRQ_TIMER on port %u, IPI on port %u\n", XEN_UPCALL_VECTOR, virq.port,
        ipi.port);

    /* a one-shot timer 20 ms ahead, waited for with SCHEDOP_poll */
    uint64_t t0 = xen_system_time();
    struct vcpu_set_singleshot_timer st = { .timeout_abs_ns = t0 + 20000000ull, .flags = VCPU_SSHOTTMR_future };
    check(HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &st) == 0, "VCPUOP_set_singleshot_timer");
    uint32_t ports[1] = { virq.port };
    struct sched_poll poll = { .ports = ports, .nr_ports = 1, .timeout = t0 + 2000000000ull };
    HYPERVISOR_sched_op(SCHEDOP_poll, &poll);
    uint64_t t1 = xen_system_time();
    take_interrupts_until(&xen_evtchn_hits[virq.port], 1);
    say("  timer: one-shot for +20 ms fired after %lu.%03lu ms; upcall %s\n", (t1 - t0) / 1000000,
        (t1 - t0) / 1000 % 1000, xen_evtchn_hits[virq.port] ? "taken" : "MISSING");
    check(xen_evtchn_hits[virq.port] == 1 && t1 - t0 >= 20000000ull, "VIRQ_TIMER after the deadline, not before");

    /* an IPI to ourselves */
    check(evtchn_send(ipi.port) == 0, "EVTCHNOP_send(IPI)");
    take_interrupts_until(&xen_evtchn_hits[ipi.port], 1);
    say("  ipi: sent to vCPU 0, upcall %s (%lu upcalls in all)\n",
        xen_evtchn_hits[ipi.port] ? "taken" : "MISSING", xen_upcalls[0]);
    check(xen_evtchn_hits[ipi.port] == 1, "IPI delivered");

    /* the runstate area: the host keeps it up to date */
    uint64_t entry, running, blocked;
    int state;
    do {
        entry = __atomic_load_n(&runstate.state_entry_time, __ATOMIC_ACQUIRE);
        state = runstate.state;
        running = runstate.time[RUNSTATE_running];
        blocked = runstate.time[RUNSTATE_blocked];
    } while ((entry & XEN_RUNSTATE_UPDATE) || entry != __atomic_load_n(&runstate.state_entry_time, __ATOMIC_ACQUIRE));
    say("  runstate: state %d, running %lu us, blocked %lu us\n", state, running / 1000, blocked / 1000);
    /* the state is the host's latest classification (a sample from another thread may show a
     * crowded vCPU runnable); the times are what must have grown */
    check(state != RUNSTATE_offline && running > 0 && blocked > 0, "runstate area");

    report_xenstore();

    if (console_ring)
        say("  console: this report came through the PV console ring (gfn 0x%lx, port %u)\n", xencons_gfn(),
            xencons_port());
    else
        say("  console: console_io (the host offers no PV console page)\n");
    if (failures == 0)
        say("demo: all checks passed\n");
    else
        say("demo: %d checks FAILED\n", failures);
    xen_shutdown(failures == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}

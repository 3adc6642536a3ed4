/*
 * test-runstate-layout: the runstate area's two layouts and the hypercall ABI switch
 * (SCENARIOS.md 19 and 20). 32-bit hypercalls are made in compatibility mode
 * (compat32.h): the host maps the image at virtual = physical as well.
 *
 * Set-up (xen_setup.h): shared_info in a frame of the guest's own, vcpu_info at offset
 * 0x40 of a page of its own, the per-vCPU upcall vector; an idle IPI port, masked,
 * that polls wait on until their timeout.
 *
 * Host expectations:
 *   SYNC(1)   reply args[0] = scenario (19 or 20); for 19 args[1] = gva (below 4 GiB)
 *             of a 3-page region whose pages the host scattered over guest memory
 *             (different memslots), or 0 to sweep only the guest's own buffer
 *
 * 19: in each region (the guest's own 3 pages, contiguous; then the host's, if any)
 *     and each layout (64-bit; then 32-bit with every hypercall in compatibility mode),
 *     for every offset from 2*PAGE - size - 4 to 2*PAGE + 4: register the area at that
 *     offset, fill the rest of the 256 bytes around the page boundary with a sentinel, poll the
 *     idle port with a 1 ms timeout (blocked, then running again), and check: the
 *     record is not being updated, state is running, state_entry_time is the sum of
 *     the four times and not after HVMOP_get_time, blocked time grew since the last
 *     offset, every byte around the area still holds the sentinel (a changed byte is
 *     an assert with its offset from the area and its value). Then unregister.
 *   SYNC(19, layout bits, region (0 own, 1 host), offsets checked, blocked ns)  per sweep
 *
 * 20: the guest switches its hypercall ABI 64 -> 32 -> 64 bits. Its runstate area
 *     sits 46 bytes before a page boundary (the 48-byte record crosses it, the 44-byte
 *     one does not), registered once, in 64-bit mode, at its low address.
 *   SYNC(20, IPI port, port >= 1024, status rc of it, gpa of shared_info, gpa of the area)
 *             the host raises the IPI port; the guest waits for its upcall (64-bit words)
 *   SYNC(21, hits on it, blocked ns)
 *   -- one 32-bit hypercall latches the 32-bit ABI; the guest checks the area is in the
 *      44-byte layout (bytes 44..63 after it keep the sentinel it wrote before), polls in
 *      32-bit mode, checks again, reads the wall clock at its 32-bit offsets
 *   SYNC(22, wc_sec (32-bit offsets), status rc of the port >= 1024 (-EINVAL: 1024 ports),
 *        status rc of the IPI port, blocked ns)
 *             (interrupts off) the host raises the IPI port; the guest enables interrupts
 *             in compatibility mode, just before a 32-bit hypercall, where the upcall is
 *             taken (through the 64-bit IDT, back with iretq); the handler reads 32-bit words
 *   SYNC(23, hits, code segment the upcall interrupted (0x18))   the guest has masked the
 *                                   port in the 32-bit mask
 *                                   array; the host raises it again
 *   SYNC(24, pending (32-bit word), hits)   then a 32-bit EVTCHNOP_unmask re-delivers
 *   SYNC(25, hits, get_runstate_info (32-bit) wrote 44 bytes: 1)
 *   -- one 64-bit hypercall switches back; the area is in the 48-byte layout again
 *   SYNC(26, wc_version (64-bit offsets), status rc of the port >= 1024, blocked ns)
 *             the host raises the IPI port: 64-bit words again
 *   SYNC(27, hits)
 *   DONE
 */
#include "xen_setup.h"
#include "compat32.h"

#define MS 1000000ull
#define SENTINEL 0xa5
#define WINDOW 128 /* bytes checked on each side of the page boundary */

static uint8_t own_region[3 * PAGE_SIZE] __attribute__((aligned(4096)));
static uint8_t area20_pages[2 * PAGE_SIZE] __attribute__((aligned(4096)));
static uint32_t idle_port;

/* arguments of 32-bit hypercalls: in the image, so that they have a low alias */
static struct vcpu_register_memory_area_32 reg32;
static struct { uint64_t now; } time32;
static struct sched_poll_32 poll32;
static uint32_t port32;
static struct evtchn_status_arg { uint16_t dom; uint16_t pad; uint32_t port; uint32_t status, vcpu; uint32_t u[2]; } status_arg;
static uint8_t runstate_copy[64];

/* ---- the hypercalls used here, in either ABI ---- */

static long register_runstate(int abi32, void *area)
{
    if (abi32) {
        reg32.addr = area ? low32(area) : 0;
        reg32.pad = 0;
        return hypercall32(__HYPERVISOR_vcpu_op, VCPUOP_register_runstate_memory_area, 0, low32(&reg32), 0, 0);
    }
    struct vcpu_register_memory_area r = { .addr = (uint64_t)area };
    return HYPERVISOR_vcpu_op(VCPUOP_register_runstate_memory_area, 0, &r);
}

static uint64_t get_time(int abi32)
{
    if (!abi32)
        return xen_get_time();
    GUEST_ASSERT_EQ(hypercall32(__HYPERVISOR_hvm_op, HVMOP_get_time, low32(&time32), 0, 0, 0), 0);
    return time32.now;
}

static void poll_idle(int abi32, uint64_t ns)
{
    uint64_t deadline = get_time(abi32) + ns;
    if (abi32) {
        port32 = idle_port;
        poll32 = (struct sched_poll_32){ .ports = low32(&port32), .nr_ports = 1, .timeout = deadline };
        GUEST_ASSERT_EQ(hypercall32(__HYPERVISOR_sched_op, SCHEDOP_poll, low32(&poll32), 0, 0, 0), 0);
    } else {
        GUEST_ASSERT_EQ(xen_poll(&idle_port, 1, deadline), 0);
    }
}

static long evtchn_status(int abi32, uint32_t port)
{
    status_arg = (struct evtchn_status_arg){ .dom = DOMID_SELF, .port = port };
    if (abi32)
        return hypercall32(__HYPERVISOR_event_channel_op, EVTCHNOP_status, low32(&status_arg), 0, 0, 0);
    return HYPERVISOR_event_channel_op(EVTCHNOP_status, &status_arg);
}

/* ---- reading the area ---- */

struct record {
    uint32_t state;
    uint64_t entry;
    uint64_t time[4];
};

static uint64_t read_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static struct record read_record(const uint8_t *area, int abi32)
{
    struct record r;
    int entry_at = abi32 ? 4 : 8, time_at = abi32 ? 12 : 16;
    memcpy(&r.state, area, 4);
    r.entry = read_u64(area + entry_at);
    for (int i = 0; i < 4; i++)
        r.time[i] = read_u64(area + time_at + 8 * i);
    return r;
}

/*
 * Reads the record as Linux does (entry time, record, entry time; again while the update flag
 * is set or the entry time changed: the host may write the area at any time), then checks it
 * against HVMOP_get_time read afterwards. The host runs this guest without periodic runstate
 * sampling, so the vCPU's own record says running whenever its code runs.
 */
static struct record check_record(const uint8_t *area, int abi32)
{
    int entry_at = abi32 ? 4 : 8;
    struct record r;
    for (int tries = 0;; tries++) {
        GUEST_ASSERT(tries < 1000);
        uint64_t before = read_u64((const uint8_t *)area + entry_at);
        __asm__ volatile("" ::: "memory");
        r = read_record(area, abi32);
        __asm__ volatile("" ::: "memory");
        if (!(before & XEN_RUNSTATE_UPDATE) && before == read_u64((const uint8_t *)area + entry_at))
            break;
    }
    uint64_t now = get_time(abi32);
    GUEST_ASSERT_EQ(r.entry & XEN_RUNSTATE_UPDATE, 0);
    GUEST_ASSERT_EQ(r.state, RUNSTATE_running);
    GUEST_ASSERT_EQ(r.entry, r.time[0] + r.time[1] + r.time[2] + r.time[3]);
    GUEST_ASSERT(r.entry <= now);
    return r;
}

static void fill(uint8_t *from, uint8_t *to)
{
    for (uint8_t *p = from; p < to; p++)
        *(volatile uint8_t *)p = SENTINEL;
}

/* fills [from, to) but for [skip, skip + len), which is a registered area the host may write */
static void fill_around(uint8_t *from, uint8_t *to, uint8_t *skip, uint64_t len)
{
    fill(from, skip);
    fill(skip + len, to);
}

/* every byte of [from, to) outside [skip, skip + len) holds the sentinel */
static void check_sentinel(const uint8_t *from, const uint8_t *to, const uint8_t *skip, uint64_t len)
{
    for (const uint8_t *p = from; p < to; p++) {
        if (p >= skip && p < skip + len)
            continue;
        if (*(volatile const uint8_t *)p != SENTINEL)
            ucall_assert(__FILE_NAME__, __LINE__, "a byte outside the area changed (its offset from the area, its value)",
                         (uint64_t)(p - skip), *p, 2);
    }
}

/* ---- scenario 19 ---- */

static void sweep(uint8_t *region, int abi32, uint64_t region_kind)
{
    uint64_t size = abi32 ? 44 : 48;
    uint8_t *boundary = region + 2 * PAGE_SIZE;
    uint64_t offsets = 0, last_blocked = 0;
    for (uint8_t *area = boundary - size - 4; area <= boundary + 4; area++) {
        /* registered first: until then the area one byte lower is, and the host may write it */
        GUEST_ASSERT_EQ(register_runstate(abi32, area), 0);
        fill_around(boundary - WINDOW, boundary + WINDOW, area, size);
        poll_idle(abi32, 1 * MS);
        struct record r = check_record(area, abi32);
        GUEST_ASSERT(r.time[RUNSTATE_blocked] > last_blocked);
        last_blocked = r.time[RUNSTATE_blocked];
        check_sentinel(boundary - WINDOW, boundary + WINDOW, area, size);
        offsets++;
    }
    GUEST_ASSERT_EQ(register_runstate(abi32, 0), 0);
    GUEST_SYNC(19, abi32 ? 32 : 64, region_kind, offsets, last_blocked);
}

static void scenario19(uint8_t *host_region)
{
    sweep(own_region, 0, 0);
    sweep((uint8_t *)(uint64_t)low32(own_region), 1, 0); /* 32-bit addresses: the low alias */
    if (host_region) {
        xen_get_time(); /* back to the 64-bit ABI */
        sweep(host_region, 0, 1);
        sweep(host_region, 1, 1);
    }
    xen_get_time();
}

/* ---- scenario 20 ---- */

static uint32_t wc_sec(int abi32)
{
    const uint8_t *si = (const uint8_t *)xen_shinfo;
    uint32_t version = *(volatile const uint32_t *)(si + (abi32 ? XEN32_SHINFO_WC_VERSION : 3072));
    GUEST_ASSERT(version != 0 && version % 2 == 0);
    return *(volatile const uint32_t *)(si + (abi32 ? XEN32_SHINFO_WC_SEC : 3076));
}

static void scenario20(uint32_t ipi)
{
    int high = 0;
    while (high < XEN32_NR_PORTS) {
        high = xen_alloc_unbound();
        GUEST_ASSERT(high > 0);
    }
    /* 46 bytes before the boundary, registered at its low address (valid in both modes) */
    uint8_t *area = (uint8_t *)(uint64_t)low32(area20_pages + PAGE_SIZE - 46);
    fill(area - 32, area + 64);
    GUEST_ASSERT_EQ(register_runstate(0, area), 0);
    poll_idle(0, 1 * MS);
    struct record r = check_record(area, 0);
    check_sentinel(area - 32, area + 64, area, 48);
    (void)wc_sec(0); /* asserts the version */
    GUEST_SYNC(20, ipi, high, evtchn_status(0, high), virt_to_phys(xen_shinfo), (uint64_t)area);
    xen_wait_for_hits(ipi, 1);
    GUEST_SYNC(21, xen_evtchn_hits[ipi], r.time[RUNSTATE_blocked]);

    /* to 32 bits: the switching hypercall lays the area out again */
    fill(area + 44, area + 64);
    cli();
    xen_abi_32bit = 1;
    GUEST_ASSERT(hypercall32(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0) > 0);
    sti();
    r = check_record(area, 1);
    check_sentinel(area - 32, area + 64, area, 44);
    poll_idle(1, 1 * MS);
    struct record r2 = check_record(area, 1);
    GUEST_ASSERT(r2.time[RUNSTATE_blocked] > r.time[RUNSTATE_blocked]);
    check_sentinel(area - 32, area + 64, area, 44);
    uint32_t wc32 = wc_sec(1);
    long status_high = evtchn_status(1, high), status_ipi = evtchn_status(1, ipi);
    cli(); /* the host's raise stays pending until the 32-bit code enables interrupts */
    GUEST_SYNC(22, wc32, status_high, status_ipi, r2.time[RUNSTATE_blocked]);
    GUEST_ASSERT(hypercall32_sti(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0) > 0);
    xen_wait_for_hits(ipi, 2);
    xen_evtchn_mask(ipi); /* the 32-bit mask array */
    GUEST_SYNC(23, xen_evtchn_hits[ipi], xen_upcall_cs[0]);
    poll_idle(1, 5 * MS);
    GUEST_SYNC(24, xen_evtchn_pending(ipi), xen_evtchn_hits[ipi]);
    port32 = ipi;
    GUEST_ASSERT_EQ(hypercall32(__HYPERVISOR_event_channel_op, EVTCHNOP_unmask, low32(&port32), 0, 0, 0), 0);
    xen_wait_for_hits(ipi, 3);
    memset(runstate_copy, SENTINEL, sizeof runstate_copy);
    GUEST_ASSERT_EQ(hypercall32(__HYPERVISOR_vcpu_op, VCPUOP_get_runstate_info, 0, low32(runstate_copy), 0, 0), 0);
    check_record(runstate_copy, 1);
    int only44 = 1;
    for (unsigned i = 44; i < sizeof runstate_copy; i++)
        if (runstate_copy[i] != SENTINEL)
            only44 = 0;
    GUEST_SYNC(25, xen_evtchn_hits[ipi], only44);

    /* back to 64 bits */
    fill(area + 48, area + 64);
    cli();
    xen_abi_32bit = 0;
    (void)xen_get_time(); /* the switching hypercall */
    sti();
    r = check_record(area, 0);
    check_sentinel(area - 32, area + 64, area, 48);
    poll_idle(0, 1 * MS);
    r2 = check_record(area, 0);
    GUEST_ASSERT(r2.time[RUNSTATE_blocked] > r.time[RUNSTATE_blocked]);
    check_sentinel(area - 32, area + 64, area, 48);
    uint32_t version64 = *(volatile uint32_t *)((uint8_t *)xen_shinfo + 3072);
    GUEST_SYNC(26, version64, evtchn_status(0, high), r2.time[RUNSTATE_blocked]);
    xen_wait_for_hits(ipi, 4);
    GUEST_SYNC(27, xen_evtchn_hits[ipi]);
    GUEST_ASSERT_EQ(register_runstate(0, 0), 0);
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    struct ucall *uc = GUEST_SYNC(1);
    uint64_t scenario = uc->args[0];
    uint8_t *host_region = (uint8_t *)uc->args[1];
    struct xen_setup setup = { .vcpu_info_offset = 0x40, .upcall = XEN_UPCALL_PER_VCPU };
    xen_setup(&setup);
    int idle = xen_bind_ipi(0);
    GUEST_ASSERT(idle > 0);
    idle_port = idle;
    xen_evtchn_mask(idle_port);
    int ipi = xen_bind_ipi(0);
    GUEST_ASSERT(ipi > 0);
    sti();
    if (scenario == 19)
        scenario19(host_region);
    else if (scenario == 20)
        scenario20(ipi);
    else
        GUEST_ASSERT_EQ(scenario, 19);
    GUEST_DONE();
}

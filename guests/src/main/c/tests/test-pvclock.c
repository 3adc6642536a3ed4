/*
 * test-pvclock: Xen system time from the pvclock, end to end (issue 5; SCENARIOS.md 18).
 *
 * The guest maps shared_info, registers its vcpu_info at a non-zero offset inside a page of its
 * own and a vcpu_time_info area (VCPUOP_register_vcpu_time_memory_area), then computes Xen
 * system time from its pvclock as Linux does: read version (retry while odd), rdtsc, the fields,
 * version again (retry if it changed); system_time + ((tsc - tsc_timestamp) << tsc_shift) *
 * tsc_to_system_mul >> 32. It compares that with HVMOP_get_time made between two such reads,
 * sleeping 2 ms between comparisons with SCHEDOP_poll (a timeout in its own system time).
 *
 * Host expectations (each SYNC waits for the host):
 *   SYNC(1, base+3 eax, ebx, ecx, submap 0 of XENVER_get_features)
 *   SYNC(2, rdtsc)                       the host brackets it with reads of its own TSC
 *   SYNC(3, shared_info gpa, vcpu_info gpa, time area gpa)
 *                                        the host replies args[1] = measurement time in ms
 *   SYNC(4, pvclock time)                the host brackets it with its own clock
 *   SYNC(5, comparisons, max |get_time - middle of the two pvclock reads| ns,
 *        max get_time outside the two reads ns, max width of the two reads ns, pvclock updates seen)
 *   SYNC(6, max |vcpu_info pvclock - time area pvclock| ns, reads of the two, flags, min width ns,
 *        |get_time - middle| ns of the comparison with the narrowest width)
 *   DONE
 */
#include "guest.h"

#define HVMOP_get_time 10
#define XENFEAT_hvm_safe_pvclock 9
#define XEN_PVCLOCK_TSC_STABLE 1

struct xen_feature_info { uint32_t submap_idx; uint32_t submap; };

/* shared_info gets a frame of its own, as Xen replaces the whole frame */
static union {
    struct shared_info s;
    uint8_t frame[4096];
} shinfo_frame __attribute__((aligned(4096)));
/* vcpu_info at offset 0x40 of a page; the time area at 0x80 of another */
static uint8_t vcpu_info_page[4096] __attribute__((aligned(4096)));
static uint8_t time_area_page[4096] __attribute__((aligned(4096)));
#define VCPU_INFO_OFFSET 0x40
#define TIME_AREA_OFFSET 0x80

static inline uint64_t rdtsc_ordered(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

struct pvclock_params {
    uint32_t version;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t mul;
    int8_t shift;
    uint8_t flags;
};

/* One consistent read of a pvclock and the TSC taken inside it. */
static uint64_t pvclock_read(volatile struct vcpu_time_info *t, struct pvclock_params *p)
{
    uint32_t v;
    uint64_t tsc;
    do {
        v = __atomic_load_n(&t->version, __ATOMIC_ACQUIRE);
        tsc = rdtsc_ordered();
        p->tsc_timestamp = t->tsc_timestamp;
        p->system_time = t->system_time;
        p->mul = t->tsc_to_system_mul;
        p->shift = t->tsc_shift;
        p->flags = t->flags;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while ((v & 1) || v != __atomic_load_n(&t->version, __ATOMIC_ACQUIRE));
    p->version = v;
    return tsc;
}

static uint64_t pvclock_time_at(const struct pvclock_params *p, uint64_t tsc)
{
    uint64_t delta = tsc - p->tsc_timestamp;
    if (p->shift >= 0)
        delta <<= p->shift;
    else
        delta >>= -p->shift;
    return p->system_time + (uint64_t)(((unsigned __int128)delta * p->mul) >> 32);
}

static uint64_t pvclock_now(volatile struct vcpu_time_info *t, struct pvclock_params *p)
{
    uint64_t tsc = pvclock_read(t, p);
    return pvclock_time_at(p, tsc);
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)slot;
    GUEST_ASSERT(xen_hypercall_init() == 0);

    uint32_t a, b, c, d;
    cpuid(xen_cpuid_base() + 3, 0, &a, &b, &c, &d);
    struct xen_feature_info fi = { .submap_idx = 0 };
    GUEST_ASSERT_EQ(HYPERVISOR_xen_version(XENVER_get_features, &fi), 0);
    GUEST_ASSERT(fi.submap & (1u << XENFEAT_hvm_safe_pvclock));
    GUEST_SYNC(1, a, b, c, fi.submap);
    GUEST_SYNC(2, rdtsc());

    struct xen_add_to_physmap xatp = { .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .idx = 0,
                                       .gpfn = virt_to_phys(&shinfo_frame) >> 12 };
    GUEST_ASSERT_EQ(HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp), 0);
    /* shared_info's vcpu_info holds a pvclock from the moment it is mapped */
    GUEST_ASSERT(shinfo_frame.s.vcpu_info[vcpu_id].time.version != 0);

    struct vcpu_register_vcpu_info vi = { .mfn = virt_to_phys(vcpu_info_page) >> 12, .offset = VCPU_INFO_OFFSET };
    GUEST_ASSERT_EQ(HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, vcpu_id, &vi), 0);
    volatile struct vcpu_info *info = (volatile struct vcpu_info *)(vcpu_info_page + VCPU_INFO_OFFSET);
    volatile struct vcpu_time_info *time = &info->time;
    GUEST_ASSERT(time->version != 0 && (time->version & 1) == 0); /* written by the registration */

    volatile struct vcpu_time_info *area = (volatile struct vcpu_time_info *)(time_area_page + TIME_AREA_OFFSET);
    struct vcpu_register_memory_area tma = { .addr = (uint64_t)area };
    GUEST_ASSERT_EQ(HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_time_memory_area, vcpu_id, &tma), 0);
    GUEST_ASSERT(area->version != 0 && (area->version & 1) == 0);
    GUEST_ASSERT(area->flags & XEN_PVCLOCK_TSC_STABLE); /* what Linux checks before using it */

    struct ucall *u = GUEST_SYNC(3, virt_to_phys(&shinfo_frame), virt_to_phys((void *)info),
                                 virt_to_phys((void *)area));
    uint64_t duration_ms = u->args[1];

    struct pvclock_params p1, p2, pa;
    GUEST_SYNC(4, pvclock_now(time, &p1));

    /* a port to poll on: nothing will be pending, so the poll ends at its timeout */
    struct evtchn_bind_ipi ipi = { .vcpu = vcpu_id };
    GUEST_ASSERT_EQ(HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &ipi), 0);
    uint32_t port = ipi.port;

    uint64_t start = pvclock_now(time, &p1);
    uint64_t end = start + duration_ms * 1000000ull;
    uint64_t n = 0, max_err = 0, max_out = 0, max_width = 0, min_width = ~0ull, updates = 0, err_at_min = 0;
    uint64_t max_area = 0, area_reads = 0;
    uint32_t last_version = p1.version;
    uint8_t flags = p1.flags;
    for (;;) {
        uint64_t now = pvclock_now(time, &p1);
        if (now >= end)
            break;
        struct sched_poll poll = { .ports = &port, .nr_ports = 1, .timeout = now + 2000000ull };
        GUEST_ASSERT_EQ(HYPERVISOR_sched_op(SCHEDOP_poll, &poll), 0);

        uint64_t g1 = pvclock_now(time, &p1);
        struct xen_hvm_get_time gt;
        GUEST_ASSERT_EQ(HYPERVISOR_hvm_op(HVMOP_get_time, &gt), 0);
        uint64_t g2 = pvclock_now(time, &p2);
        uint64_t h = gt.now;
        GUEST_ASSERT(g2 >= g1);
        uint64_t mid = g1 + (g2 - g1) / 2;
        uint64_t err = absdiff(h, mid);
        uint64_t out = h < g1 ? g1 - h : h > g2 ? h - g2 : 0;
        uint64_t width = g2 - g1;
        if (err > max_err)
            max_err = err;
        if (out > max_out)
            max_out = out;
        if (width > max_width)
            max_width = width;
        if (width < min_width) {
            min_width = width;
            err_at_min = err;
        }
        if (p2.version != last_version) {
            updates++;
            last_version = p2.version;
        }
        flags &= p2.flags;
        n++;

        /* the time area: a copy of vcpu_info's pvclock; both give the same time at one TSC value */
        pvclock_read(area, &pa);
        uint64_t tsc = pvclock_read(time, &p1);
        uint64_t t = rdtsc_ordered();
        if (t < tsc)
            t = tsc;
        uint64_t diff = absdiff(pvclock_time_at(&p1, t), pvclock_time_at(&pa, t));
        if (diff > max_area)
            max_area = diff;
        area_reads++;
    }
    GUEST_SYNC(5, n, max_err, max_out, max_width, updates);
    GUEST_SYNC(6, max_area, area_reads, flags, min_width, err_at_min);
    GUEST_DONE();
}

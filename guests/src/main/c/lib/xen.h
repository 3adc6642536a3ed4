/*
 * The part of Xen's guest ABI that jxen's test guests use, 64-bit x86 guest
 * layouts. Written from the numbers in docs (XEN-ABI-FACTS.md); every size
 * and offset below is pinned with _Static_assert so that a slip fails the
 * guest build rather than a test.
 */
#ifndef JXEN_GUEST_XEN_H
#define JXEN_GUEST_XEN_H

#include <stdint.h>

/* Hypercall numbers (index into the hypercall page, 32 bytes per entry). */
enum {
    __HYPERVISOR_set_trap_table = 0,
    __HYPERVISOR_mmu_update = 1,
    __HYPERVISOR_platform_op = 7,
    __HYPERVISOR_memory_op = 12,
    __HYPERVISOR_multicall = 13,
    __HYPERVISOR_set_timer_op = 15,
    __HYPERVISOR_xen_version = 17,
    __HYPERVISOR_console_io = 18,
    __HYPERVISOR_grant_table_op = 20,
    __HYPERVISOR_iret = 23,
    __HYPERVISOR_vcpu_op = 24,
    __HYPERVISOR_sched_op = 29,
    __HYPERVISOR_callback_op = 30,
    __HYPERVISOR_event_channel_op = 32,
    __HYPERVISOR_physdev_op = 33,
    __HYPERVISOR_hvm_op = 34,
    __HYPERVISOR_arch_0 = 48,
    __HYPERVISOR_arch_7 = 55,
};

#define XEN_HYPERCALL_ENTRY_SIZE 32
#define XEN_HYPERCALL_ENTRIES    128

/* console_io sub-ops */
#define CONSOLEIO_write 0
#define CONSOLEIO_read  1

/* xen_version sub-ops */
#define XENVER_version      0
#define XENVER_extraversion 1
#define XENVER_get_features 6
#define XENVER_pagesize     7

/* sched_op sub-ops and shutdown reasons */
#define SCHEDOP_yield    0
#define SCHEDOP_block    1
#define SCHEDOP_shutdown 2
#define SCHEDOP_poll     3
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot   1
#define SHUTDOWN_suspend  2
#define SHUTDOWN_crash    3
#define SHUTDOWN_watchdog 4

/* vcpu_op sub-ops */
#define VCPUOP_initialise                    0
#define VCPUOP_up                            1
#define VCPUOP_down                          2
#define VCPUOP_is_up                         3
#define VCPUOP_get_runstate_info             4
#define VCPUOP_register_runstate_memory_area 5
#define VCPUOP_set_periodic_timer            6
#define VCPUOP_stop_periodic_timer           7
#define VCPUOP_set_singleshot_timer          8
#define VCPUOP_stop_singleshot_timer         9
#define VCPUOP_register_vcpu_info            10
#define VCPUOP_register_vcpu_time_memory_area 13
#define VCPU_SSHOTTMR_future (1u << 0)

/* runstates */
#define RUNSTATE_running  0
#define RUNSTATE_runnable 1
#define RUNSTATE_blocked  2
#define RUNSTATE_offline  3
#define XEN_RUNSTATE_UPDATE (1ull << 63)

/* event_channel_op sub-ops */
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq        1
#define EVTCHNOP_close            3
#define EVTCHNOP_send             4
#define EVTCHNOP_status           5
#define EVTCHNOP_alloc_unbound    6
#define EVTCHNOP_bind_ipi         7
#define EVTCHNOP_bind_vcpu        8
#define EVTCHNOP_unmask           9
#define VIRQ_TIMER   0
#define VIRQ_DEBUG   1
#define VIRQ_CONSOLE 2
#define DOMID_SELF 0x7FF0u

/* memory_op sub-ops and map spaces */
#define XENMEM_add_to_physmap      7
#define XENMEM_remove_from_physmap 15
#define XENMAPSPACE_shared_info 0
#define XENMAPSPACE_grant_table 1

/* hvm_op sub-ops and parameters */
#define HVMOP_set_param                0
#define HVMOP_get_param                1
#define HVMOP_get_time                 10
#define HVMOP_set_evtchn_upcall_vector 23
#define HVM_PARAM_CALLBACK_IRQ 0
#define HVM_PARAM_STORE_PFN    1
#define HVM_PARAM_STORE_EVTCHN 2
#define HVM_PARAM_CONSOLE_PFN    17
#define HVM_PARAM_CONSOLE_EVTCHN 18
#define HVM_PARAM_CALLBACK_TYPE_VECTOR 2ull /* in bits 63:56 of CALLBACK_IRQ */

/* Xen errno values (hypercalls return them negated) */
#define XEN_EPERM   1
#define XEN_ENOENT  2
#define XEN_EFAULT  14
#define XEN_EEXIST  17
#define XEN_EINVAL  22
#define XEN_ENOSYS  38

/* CPUID leaves */
#define XEN_CPUID_FIRST  0x40000000u
#define XEN_CPUID_LAST   0x40010000u
#define XEN_CPUID_STEP   0x100u
#define XEN_SIGNATURE_EBX 0x566e6558u /* "XenV" */
#define XEN_SIGNATURE_ECX 0x65584d4du /* "MMXe" */
#define XEN_SIGNATURE_EDX 0x4d4d566eu /* "nVMM" */

/* The hvm_start_info handed to a direct-boot (PVH) kernel in %ebx. */
#define XEN_HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct vcpu_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t   tsc_shift;
    uint8_t  flags;
    uint8_t  pad1[2];
};

struct arch_vcpu_info {
    uint64_t cr2;
    uint64_t pad;
};

struct vcpu_info {
    uint8_t  evtchn_upcall_pending;
    uint8_t  evtchn_upcall_mask;
    uint8_t  pad0[6];
    uint64_t evtchn_pending_sel;
    struct arch_vcpu_info arch;
    struct vcpu_time_info time;
};

#define XEN_LEGACY_MAX_VCPUS 32
#define EVTCHN_2L_WORDS 64 /* 4096 ports / 64 bits */

struct arch_shared_info {
    uint64_t max_pfn;
    uint64_t pfn_to_mfn_frame_list_list;
    uint64_t nmi_reason;
    uint64_t p2m_cr3;
    uint64_t p2m_vaddr;
    uint64_t p2m_generation;
};

struct shared_info {
    struct vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS];
    uint64_t evtchn_pending[EVTCHN_2L_WORDS];
    uint64_t evtchn_mask[EVTCHN_2L_WORDS];
    uint32_t wc_version;
    uint32_t wc_sec;
    uint32_t wc_nsec;
    uint32_t wc_sec_hi;
    struct arch_shared_info arch;
};

struct vcpu_runstate_info {
    int32_t  state;
    uint32_t pad;
    uint64_t state_entry_time;
    uint64_t time[4];
};

/* VCPUOP_initialise's argument for HVM/PVH guests (xen/hvm/hvm_vcpu.h) */
#define VCPU_HVM_MODE_32B 0
#define VCPU_HVM_MODE_64B 1

struct vcpu_hvm_x86_32 {
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi, eip, eflags;
    uint32_t cr0, cr3, cr4;
    uint32_t pad1;
    uint64_t efer;
    uint32_t cs_base, ds_base, ss_base, es_base, tr_base;
    uint32_t cs_limit, ds_limit, ss_limit, es_limit, tr_limit;
    uint16_t cs_ar, ds_ar, ss_ar, es_ar, tr_ar;
    uint16_t pad2[3];
};

struct vcpu_hvm_x86_64 {
    uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, rip, rflags;
    uint64_t cr0, cr3, cr4, efer;
};

struct vcpu_hvm_context {
    uint32_t mode;
    uint32_t pad;
    union {
        struct vcpu_hvm_x86_32 x86_32;
        struct vcpu_hvm_x86_64 x86_64;
    } cpu_regs;
};

struct vcpu_register_vcpu_info {
    uint64_t mfn;
    uint32_t offset;
    uint32_t rsvd;
};

struct vcpu_register_memory_area { /* runstate and time areas: one guest VA */
    uint64_t addr;
};

struct vcpu_set_singleshot_timer {
    uint64_t timeout_abs_ns;
    uint32_t flags;
    uint32_t pad;
};

struct sched_shutdown { uint32_t reason; };

struct sched_poll {
    uint32_t *ports;
    uint32_t nr_ports;
    uint32_t pad;
    uint64_t timeout;
};

struct evtchn_port_arg { uint32_t port; }; /* send, close, unmask */

struct evtchn_alloc_unbound {
    uint16_t dom;
    uint16_t remote_dom;
    uint32_t port;
};

struct evtchn_bind_interdomain {
    uint16_t remote_dom;
    uint16_t pad;
    uint32_t remote_port;
    uint32_t local_port;
};

struct evtchn_bind_virq {
    uint32_t virq;
    uint32_t vcpu;
    uint32_t port;
};

struct evtchn_bind_ipi {
    uint32_t vcpu;
    uint32_t port;
};

struct evtchn_bind_vcpu {
    uint32_t port;
    uint32_t vcpu;
};

struct xen_add_to_physmap {
    uint16_t domid;
    uint16_t size;
    uint32_t space;
    uint64_t idx;
    uint64_t gpfn;
};

struct xen_hvm_param {
    uint16_t domid;
    uint16_t pad;
    uint32_t index;
    uint64_t value;
};

struct xen_hvm_evtchn_upcall_vector {
    uint32_t vcpu;
    uint8_t  vector;
    uint8_t  pad[3];
};

struct xen_hvm_get_time {
    uint64_t now; /* Xen system time in ns */
};

/* The PV console page (io/console.h): guest produces out[], host produces in[]. */
#define XENCONS_IN_SIZE  1024
#define XENCONS_OUT_SIZE 2048
struct xencons_interface {
    char in[XENCONS_IN_SIZE];
    char out[XENCONS_OUT_SIZE];
    uint32_t in_cons, in_prod;
    uint32_t out_cons, out_prod;
};

/* The XenStore page (io/xs_wire.h): guest produces req[], host produces rsp[]. */
#define XENSTORE_RING_SIZE 1024
#define XENSTORE_PAYLOAD_MAX 4096
struct xenstore_domain_interface {
    char req[XENSTORE_RING_SIZE];
    char rsp[XENSTORE_RING_SIZE];
    uint32_t req_cons, req_prod;
    uint32_t rsp_cons, rsp_prod;
    uint32_t server_features;
    uint32_t connection;
    uint32_t error;
};

enum xsd_sockmsg_type {
    XS_DIRECTORY = 1,
    XS_READ = 2,
    XS_WATCH = 4,
    XS_TRANSACTION_START = 6,
    XS_TRANSACTION_END = 7,
    XS_GET_DOMAIN_PATH = 10,
    XS_WRITE = 11,
    XS_MKDIR = 12,
    XS_RM = 13,
    XS_WATCH_EVENT = 15,
    XS_ERROR = 16,
};

struct xsd_sockmsg {
    uint32_t type;
    uint32_t req_id;
    uint32_t tx_id;
    uint32_t len; /* payload bytes that follow */
};

#define XEN_PIN_SIZE(t, n) _Static_assert(sizeof(struct t) == (n), #t " size")
#define XEN_PIN_OFF(t, f, n) _Static_assert(__builtin_offsetof(struct t, f) == (n), #t "." #f)

XEN_PIN_SIZE(hvm_start_info, 56);
XEN_PIN_OFF(hvm_start_info, memmap_paddr, 40);
XEN_PIN_SIZE(vcpu_time_info, 32);
XEN_PIN_OFF(vcpu_time_info, tsc_shift, 28);
XEN_PIN_SIZE(vcpu_info, 64);
XEN_PIN_OFF(vcpu_info, evtchn_pending_sel, 8);
XEN_PIN_OFF(vcpu_info, arch, 16);
XEN_PIN_OFF(vcpu_info, time, 32);
XEN_PIN_SIZE(shared_info, 3136);
XEN_PIN_OFF(shared_info, evtchn_pending, 2048);
XEN_PIN_OFF(shared_info, evtchn_mask, 2560);
XEN_PIN_OFF(shared_info, wc_version, 3072);
XEN_PIN_OFF(shared_info, wc_sec_hi, 3084);
XEN_PIN_OFF(shared_info, arch, 3088);
XEN_PIN_SIZE(vcpu_runstate_info, 48);
XEN_PIN_OFF(vcpu_runstate_info, state_entry_time, 8);
XEN_PIN_OFF(vcpu_runstate_info, time, 16);
XEN_PIN_SIZE(vcpu_hvm_x86_32, 120);
XEN_PIN_OFF(vcpu_hvm_x86_32, efer, 56);
XEN_PIN_OFF(vcpu_hvm_x86_32, cs_base, 64);
XEN_PIN_OFF(vcpu_hvm_x86_32, cs_limit, 84);
XEN_PIN_OFF(vcpu_hvm_x86_32, cs_ar, 104);
XEN_PIN_OFF(vcpu_hvm_x86_32, pad2, 114);
XEN_PIN_SIZE(vcpu_hvm_x86_64, 112);
XEN_PIN_OFF(vcpu_hvm_x86_64, rip, 64);
XEN_PIN_OFF(vcpu_hvm_x86_64, efer, 104);
XEN_PIN_SIZE(vcpu_hvm_context, 128);
XEN_PIN_OFF(vcpu_hvm_context, cpu_regs, 8);
XEN_PIN_SIZE(vcpu_register_vcpu_info, 16);
XEN_PIN_SIZE(vcpu_set_singleshot_timer, 16);
XEN_PIN_SIZE(sched_poll, 24);
XEN_PIN_OFF(sched_poll, timeout, 16);
XEN_PIN_SIZE(evtchn_alloc_unbound, 8);
XEN_PIN_OFF(evtchn_alloc_unbound, port, 4);
XEN_PIN_SIZE(evtchn_bind_interdomain, 12);
XEN_PIN_SIZE(evtchn_bind_virq, 12);
XEN_PIN_SIZE(evtchn_bind_ipi, 8);
XEN_PIN_SIZE(evtchn_bind_vcpu, 8);
XEN_PIN_SIZE(xen_add_to_physmap, 24);
XEN_PIN_OFF(xen_add_to_physmap, idx, 8);
XEN_PIN_OFF(xen_add_to_physmap, gpfn, 16);
XEN_PIN_SIZE(xen_hvm_param, 16);
XEN_PIN_OFF(xen_hvm_param, value, 8);
XEN_PIN_SIZE(xen_hvm_evtchn_upcall_vector, 8);
XEN_PIN_SIZE(xen_hvm_get_time, 8);
XEN_PIN_SIZE(xencons_interface, 3088);
XEN_PIN_OFF(xencons_interface, out, 1024);
XEN_PIN_OFF(xencons_interface, in_cons, 3072);
XEN_PIN_OFF(xencons_interface, out_prod, 3084);
XEN_PIN_SIZE(xenstore_domain_interface, 2076);
XEN_PIN_OFF(xenstore_domain_interface, rsp, 1024);
XEN_PIN_OFF(xenstore_domain_interface, req_cons, 2048);
XEN_PIN_OFF(xenstore_domain_interface, rsp_prod, 2060);
XEN_PIN_OFF(xenstore_domain_interface, error, 2072);
XEN_PIN_SIZE(xsd_sockmsg, 16);

/* ---- memory reservation, memory map and grant tables v1 (memory_op, grant_table_op) ---- */

#define XENMEM_increase_reservation 0
#define XENMEM_decrease_reservation 1
#define XENMEM_maximum_ram_page     2
#define XENMEM_current_reservation  3
#define XENMEM_maximum_reservation  4
#define XENMEM_populate_physmap     6
#define XENMEM_memory_map           9
#define XENMEM_add_to_physmap_batch 23
#define XENMEM_EXTENT_SHIFT         6 /* cmd >> 6: the extent to start at */
#define XENMAPIDX_grant_table_status 0x80000000u

struct xen_memory_reservation {
    uint64_t *extent_start; /* xen_pfn_t[]: gfns */
    uint64_t nr_extents;
    uint32_t extent_order;
    uint32_t mem_flags;
    uint16_t domid;
};

struct xen_memory_map {
    uint32_t nr_entries;
    void *buffer; /* struct e820_entry[] */
};

#define E820_RAM      1
#define E820_RESERVED 2
struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));

#define GNTTABOP_setup_table 2
#define GNTTABOP_query_size  6
#define GNTTABOP_set_version 8
#define GNTTABOP_get_version 10

#define GTF_invalid       0
#define GTF_permit_access 1
#define GTF_readonly      (1u << 2)
#define GTF_reading       (1u << 3)
#define GTF_writing       (1u << 4)

#define GNTST_okay          0
#define GNTST_general_error (-1)

struct grant_entry_v1 {
    uint16_t flags;
    uint16_t domid;
    uint32_t frame;
};

struct gnttab_setup_table {
    uint16_t dom;
    uint32_t nr_frames;
    int16_t  status;
    uint64_t *frame_list;
};

struct gnttab_query_size {
    uint16_t dom;
    uint32_t nr_frames;
    uint32_t max_nr_frames;
    int16_t  status;
};

struct gnttab_set_version { uint32_t version; };

struct gnttab_get_version {
    uint16_t dom;
    uint16_t pad;
    uint32_t version;
};

XEN_PIN_SIZE(xen_memory_reservation, 32);
XEN_PIN_OFF(xen_memory_reservation, nr_extents, 8);
XEN_PIN_OFF(xen_memory_reservation, extent_order, 16);
XEN_PIN_OFF(xen_memory_reservation, mem_flags, 20);
XEN_PIN_OFF(xen_memory_reservation, domid, 24);
XEN_PIN_SIZE(xen_memory_map, 16);
XEN_PIN_OFF(xen_memory_map, buffer, 8);
XEN_PIN_SIZE(e820_entry, 20);
XEN_PIN_OFF(e820_entry, type, 16);
XEN_PIN_SIZE(grant_entry_v1, 8);
XEN_PIN_OFF(grant_entry_v1, frame, 4);
XEN_PIN_SIZE(gnttab_setup_table, 24);
XEN_PIN_OFF(gnttab_setup_table, status, 8);
XEN_PIN_OFF(gnttab_setup_table, frame_list, 16);
XEN_PIN_SIZE(gnttab_query_size, 16);
XEN_PIN_OFF(gnttab_query_size, status, 12);
XEN_PIN_SIZE(gnttab_set_version, 4);
XEN_PIN_SIZE(gnttab_get_version, 8);

#endif

/*
 * The 32-bit hypercall ABI from a 64-bit guest: hypercall32() switches the vCPU to
 * compatibility mode (long mode, a 32-bit code segment: GDT selector 0x18 of the
 * runtime's GDT), calls the hypercall page entry with the 32-bit convention
 * (eax = number, ebx ecx edx esi edi = arguments) and comes back to 64-bit mode.
 * The hypervisor sees a 32-bit caller (Xen: hvm_guest_x86_mode() != 8), as it would
 * from a 32-bit kernel, so its shared structures switch to the 32-bit layouts.
 *
 * Compatibility-mode code runs at 32-bit addresses: the host must map the image's
 * physical range at virtual = physical as well (supervisor, writable). The code
 * runs there; pointer arguments must be such low addresses too (low32()). Interrupts
 * taken in compatibility mode go through the 64-bit IDT and come back with iretq,
 * which works on every host (unlike iret in 32-bit protected mode, HOST-KVM-NOTES.md).
 *
 * Threads: one vCPU at a time (one static frame and stack).
 *
 * Also here: the 32-bit (compat) layouts the scenario guests read, from
 * XEN-ABI-FACTS.md.
 */
#ifndef JXEN_COMPAT32_H
#define JXEN_COMPAT32_H

#include "guest.h"

/*
 * The identity-mapped (physical) address of an image address (text, data, bss: not the
 * stack, which the host allocated elsewhere), checked to be below 4 GiB; an address
 * already below 4 GiB is returned as it is.
 */
uint32_t low32(const void *p);

/* A hypercall in compatibility mode; returns eax sign-extended. Leaves EFLAGS.IF as it was. */
long hypercall32(unsigned nr, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4, uint32_t a5);
/*
 * The same, but enables interrupts (sti) in compatibility mode just before the call: an
 * interrupt pending since the caller disabled them is taken there, in compatibility mode.
 * Interrupts stay enabled afterwards.
 */
long hypercall32_sti(unsigned nr, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4, uint32_t a5);

/* ---- 32-bit layouts ---- */
#define XEN32_VCPU_INFO_PENDING_SEL 4    /* uint32_t evtchn_pending_sel */
#define XEN32_SHINFO_EVTCHN_PENDING 2048 /* uint32_t[32] */
#define XEN32_SHINFO_EVTCHN_MASK    2176 /* uint32_t[32] */
#define XEN32_SHINFO_WC_VERSION     2304
#define XEN32_SHINFO_WC_SEC         2308
#define XEN32_SHINFO_WC_NSEC        2312
#define XEN32_SHINFO_WC_SEC_HI      2340
#define XEN32_NR_PORTS              1024

struct vcpu_runstate_info_32 {
    int32_t  state;
    uint64_t state_entry_time;
    uint64_t time[4];
} __attribute__((packed));

struct sched_poll_32 {
    uint32_t ports;
    uint32_t nr_ports;
    uint64_t timeout;
} __attribute__((packed));

struct vcpu_register_memory_area_32 { /* the 64-bit union, of which a 32-bit guest fills the low half */
    uint32_t addr;
    uint32_t pad;
};

_Static_assert(sizeof(struct vcpu_runstate_info_32) == 44, "vcpu_runstate_info 32-bit size");
_Static_assert(__builtin_offsetof(struct vcpu_runstate_info_32, state_entry_time) == 4, "32-bit entry time");
_Static_assert(__builtin_offsetof(struct vcpu_runstate_info_32, time) == 12, "32-bit time");
_Static_assert(sizeof(struct sched_poll_32) == 16, "sched_poll 32-bit size");

#endif

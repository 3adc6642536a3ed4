/*
 * Setup and event-channel helpers shared by the scenario guests (SCENARIOS.md):
 * the set-up a Xen-aware guest does (CPUID detection, hypercall page, shared_info
 * at a frame of its choice, vcpu_info at a non-zero offset, a runstate area that
 * crosses a page, the upcall vector per vCPU or through HVM_PARAM_CALLBACK_IRQ),
 * an upcall handler in the manner of Linux's 2-level one that counts what it sees
 * per port, and thin wrappers of the time, timer and poll hypercalls.
 *
 * Event words are read in the layout of the guest's current hypercall ABI:
 * 64-bit words by default, 32-bit words after xen_abi_32bit is set (a guest that
 * makes its hypercalls in 32-bit mode; see compat32.h).
 *
 * Threads: set-up on each vCPU for itself; the handler on the vCPU it interrupts.
 */
#ifndef JXEN_XEN_SETUP_H
#define JXEN_XEN_SETUP_H

#include "guest.h"

#define XEN_UPCALL_VECTOR   0xf3
#define XEN_SETUP_MAX_VCPUS 4
#define XEN_NR_PORTS        4096

enum xen_upcall_kind {
    XEN_UPCALL_PER_VCPU = 0,  /* HVMOP_set_evtchn_upcall_vector */
    XEN_UPCALL_CALLBACK_IRQ,  /* HVM_PARAM_CALLBACK_IRQ, type vector (domain-wide) */
};

struct xen_setup {
    void *shared_info;            /* page-aligned frame for shared_info; NULL: one of the library's */
    uint64_t shared_info_gpa;     /* its guest-physical address (when shared_info is not NULL) */
    uint32_t vcpu_info_offset;    /* register vcpu_info at this offset in a page of its own; 0: stay in shared_info */
    int runstate_across_pages;    /* register a runstate area that crosses a page boundary */
    enum xen_upcall_kind upcall;
    irq_handler_t upcall_handler; /* at XEN_UPCALL_VECTOR; NULL: xen_evtchn_do_upcall */
};

/* Everything in struct xen_setup for the calling vCPU (shared_info and the callback vector once). */
void xen_setup(const struct xen_setup *o);

/*
 * The library's upcall handler, Linux's 2-level one: counts into xen_upcalls and
 * xen_evtchn_hits and ends with the APIC EOI. A guest that does its own set-up
 * instead of xen_setup() sets xen_shinfo and xen_vcpu_info[its vCPU] and installs
 * this at XEN_UPCALL_VECTOR; until both are set it only counts the upcall.
 */
void xen_evtchn_do_upcall(struct trap_frame *f);

extern struct shared_info *xen_shinfo;
extern struct vcpu_info *xen_vcpu_info[XEN_SETUP_MAX_VCPUS];       /* where each vCPU's vcpu_info is */
extern struct vcpu_runstate_info *xen_runstate[XEN_SETUP_MAX_VCPUS]; /* registered areas, or NULL */

/* Counted by the library's upcall handler. */
extern volatile uint64_t xen_upcalls[XEN_SETUP_MAX_VCPUS];
extern volatile uint32_t xen_evtchn_hits[XEN_NR_PORTS];
/* The code segment selector of the context each vCPU's latest upcall interrupted. */
extern volatile uint64_t xen_upcall_cs[XEN_SETUP_MAX_VCPUS];
/* Set to 1 while the guest's hypercalls are made in 32-bit mode: event words are then 32 bits. */
extern volatile int xen_abi_32bit;

/* ---- ports ---- */
int xen_bind_ipi(uint32_t vcpu);                 /* port, or a negative Xen errno */
int xen_bind_virq(uint32_t virq, uint32_t vcpu); /* port, or a negative Xen errno */
int xen_alloc_unbound(void);                     /* port, or a negative Xen errno */
long xen_evtchn_send(uint32_t port);
long xen_evtchn_unmask(uint32_t port);
void xen_evtchn_mask(uint32_t port);             /* sets the mask bit in shared_info */
int xen_evtchn_pending(uint32_t port);           /* the pending bit in shared_info */
void xen_evtchn_clear(uint32_t port);            /* clears the pending bit */
/* Halts (interrupts on) until the handler has seen `port` at least `count` times. */
void xen_wait_for_hits(uint32_t port, uint32_t count);

/* ---- time, timers, poll ---- */
uint64_t xen_get_time(void);                     /* HVMOP_get_time: Xen system time in ns */
long xen_set_timer_op(uint64_t deadline);        /* absolute system time; 0 stops */
long xen_set_singleshot(uint64_t deadline, uint32_t flags);
long xen_poll(uint32_t *ports, uint32_t nr_ports, uint64_t timeout); /* timeout absolute, 0: none */

#endif

/*
 * PV drivers for jxen's guests, as a Xen-aware kernel has them: event-channel
 * helpers, the PV console ring (HVM_PARAM_CONSOLE_PFN / CONSOLE_EVTCHN) and a
 * XenStore client over the store ring (HVM_PARAM_STORE_PFN / STORE_EVTCHN).
 * The pages are reached at their guest-physical address, so the guest must map
 * them (direct-boot guests identity-map 0..4 GiB). All waits are bounded: a host
 * that stops answering makes a call fail after about two seconds, never hang.
 * One vCPU at a time.
 */
#ifndef JXEN_GUEST_XENPV_H
#define JXEN_GUEST_XENPV_H

#include <stddef.h>
#include <stdint.h>
#include "xen.h"

/* ---- events and time ---- */

/* Tell the helpers where shared_info is (needed to mask and clear ports). */
void pv_set_shared_info(struct shared_info *s);
long hvm_get_param(uint32_t index, uint64_t *value);
uint64_t xen_system_time(void);          /* HVMOP_get_time, ns; 0 if it fails */
long evtchn_send(uint32_t port);
void evtchn_mask(uint32_t port);          /* no upcall for it; SCHEDOP_poll still sees it */
void evtchn_clear(uint32_t port);
/* SCHEDOP_poll on one port until it is pending or timeout_ns pass. */
long evtchn_poll(uint32_t port, uint64_t timeout_ns);

/* ---- PV console ring ---- */

/* 0 when the host offers a console page and port (masks the port), else -1. */
int xencons_init(void);
int xencons_ready(void);
uint64_t xencons_gfn(void);
uint32_t xencons_port(void);
/* Writes n bytes to out[] and notifies; returns how many went (all, unless
 * the host took nothing for two seconds while the ring was full). */
size_t xencons_write(const char *buf, size_t n);
/* Takes up to max bytes of input from in[]; returns how many. */
size_t xencons_read(char *buf, size_t max);

/* ---- XenStore ---- */

/* 0 when the host offers a store page and port (masks the port), else -1. */
int xs_init(void);
int xs_ready(void);
uint64_t xs_gfn(void);
uint32_t xs_port(void);
/*
 * One request and its reply. Returns the reply's payload length (the payload is
 * NUL-terminated in reply when it fits), or -1 when the host did not answer in
 * time or the reply is too long, -2 for an XS_ERROR reply (its text, such as
 * "ENOENT", is in reply).
 */
int xs_request(uint32_t type, const char *payload, uint32_t len, char *reply, uint32_t max);
int xs_read(const char *path, char *value, uint32_t max);
int xs_write(const char *path, const char *value);

#endif

/* PV drivers: event-channel helpers, the PV console ring, a XenStore client. */
#include "guest.h"
#include "xenpv.h"

#define WAIT_NS    2000000000ull /* two seconds: then the host is not answering */
#define POLL_SLICE 10000000ull   /* each SCHEDOP_poll waits at most 10 ms */

static struct shared_info *shinfo;

void pv_set_shared_info(struct shared_info *s) { shinfo = s; }

long hvm_get_param(uint32_t index, uint64_t *value)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
    long rc = HYPERVISOR_hvm_op(HVMOP_get_param, &p);
    *value = rc == 0 ? p.value : 0;
    return rc;
}

uint64_t xen_system_time(void)
{
    struct xen_hvm_get_time t = { 0 };
    return HYPERVISOR_hvm_op(HVMOP_get_time, &t) == 0 ? t.now : 0;
}

long evtchn_send(uint32_t port)
{
    struct evtchn_port_arg a = { .port = port };
    return HYPERVISOR_event_channel_op(EVTCHNOP_send, &a);
}

void evtchn_mask(uint32_t port)
{
    if (shinfo)
        __atomic_fetch_or(&shinfo->evtchn_mask[port / 64], 1ull << (port % 64), __ATOMIC_SEQ_CST);
}

void evtchn_clear(uint32_t port)
{
    if (shinfo)
        __atomic_fetch_and(&shinfo->evtchn_pending[port / 64], ~(1ull << (port % 64)), __ATOMIC_SEQ_CST);
}

long evtchn_poll(uint32_t port, uint64_t timeout_ns)
{
    uint32_t ports[1] = { port };
    uint64_t now = xen_system_time();
    struct sched_poll p = { .ports = ports, .nr_ports = 1, .timeout = now ? now + timeout_ns : 0 };
    if (!now)
        return HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    return HYPERVISOR_sched_op(SCHEDOP_poll, &p);
}

/*
 * Waits until ready(arg) holds, polling `port` between looks; the pending bit is
 * cleared before each look, so an event sent after the look ends the poll.
 * Returns 0, or -1 after WAIT_NS.
 */
static int wait_until(uint32_t port, int (*ready)(void *), void *arg)
{
    uint64_t start = xen_system_time();
    for (;;) {
        evtchn_clear(port);
        if (ready(arg))
            return 0;
        uint64_t now = xen_system_time();
        if (now - start > WAIT_NS)
            return -1;
        evtchn_poll(port, POLL_SLICE);
    }
}

/* ---- PV console ring ---- */

static volatile struct xencons_interface *cons;
static uint64_t cons_gfn;
static uint32_t cons_port;

int xencons_init(void)
{
    uint64_t pfn, port;
    if (hvm_get_param(HVM_PARAM_CONSOLE_PFN, &pfn) != 0 || hvm_get_param(HVM_PARAM_CONSOLE_EVTCHN, &port) != 0
        || pfn == 0 || port == 0)
        return -1;
    cons_gfn = pfn;
    cons_port = (uint32_t)port;
    cons = (volatile struct xencons_interface *)(pfn << 12); /* identity-mapped */
    evtchn_mask(cons_port);
    return 0;
}

int xencons_ready(void) { return cons != 0; }
uint64_t xencons_gfn(void) { return cons_gfn; }
uint32_t xencons_port(void) { return cons_port; }

static int cons_has_space(void *arg)
{
    (void)arg;
    uint32_t used = cons->out_prod - __atomic_load_n(&cons->out_cons, __ATOMIC_ACQUIRE);
    return used < XENCONS_OUT_SIZE;
}

size_t xencons_write(const char *buf, size_t n)
{
    if (!cons)
        return 0;
    size_t done = 0;
    while (done < n) {
        uint32_t prod = cons->out_prod;
        uint32_t used = prod - __atomic_load_n(&cons->out_cons, __ATOMIC_ACQUIRE);
        if (used >= XENCONS_OUT_SIZE) {
            evtchn_send(cons_port); /* the host empties it and tells us */
            if (wait_until(cons_port, cons_has_space, NULL) != 0)
                break;
            continue;
        }
        while (done < n && used < XENCONS_OUT_SIZE) {
            cons->out[prod++ & (XENCONS_OUT_SIZE - 1)] = buf[done++];
            used++;
        }
        __atomic_store_n(&cons->out_prod, prod, __ATOMIC_RELEASE); /* bytes before the index */
    }
    evtchn_send(cons_port);
    return done;
}

size_t xencons_read(char *buf, size_t max)
{
    if (!cons)
        return 0;
    uint32_t c = cons->in_cons;
    uint32_t p = __atomic_load_n(&cons->in_prod, __ATOMIC_ACQUIRE);
    size_t n = 0;
    while (c != p && n < max)
        buf[n++] = cons->in[c++ & (XENCONS_IN_SIZE - 1)];
    __atomic_store_n(&cons->in_cons, c, __ATOMIC_RELEASE);
    if (n)
        evtchn_send(cons_port); /* space for more input */
    return n;
}

/* ---- XenStore ---- */

static volatile struct xenstore_domain_interface *store;
static uint64_t store_gfn;
static uint32_t store_port;
static uint32_t next_req_id = 1;

int xs_init(void)
{
    uint64_t pfn, port;
    if (hvm_get_param(HVM_PARAM_STORE_PFN, &pfn) != 0 || hvm_get_param(HVM_PARAM_STORE_EVTCHN, &port) != 0
        || pfn == 0 || port == 0)
        return -1;
    store_gfn = pfn;
    store_port = (uint32_t)port;
    store = (volatile struct xenstore_domain_interface *)(pfn << 12);
    evtchn_mask(store_port);
    return 0;
}

int xs_ready(void) { return store != 0; }
uint64_t xs_gfn(void) { return store_gfn; }
uint32_t xs_port(void) { return store_port; }

static int req_has_space(void *arg)
{
    (void)arg;
    return store->req_prod - __atomic_load_n(&store->req_cons, __ATOMIC_ACQUIRE) < XENSTORE_RING_SIZE;
}

static int rsp_has_bytes(void *arg)
{
    (void)arg;
    return __atomic_load_n(&store->rsp_prod, __ATOMIC_ACQUIRE) != store->rsp_cons;
}

static int ring_put(const char *data, uint32_t len)
{
    uint32_t done = 0;
    while (done < len) {
        if (!req_has_space(NULL)) {
            evtchn_send(store_port);
            if (wait_until(store_port, req_has_space, NULL) != 0)
                return -1;
        }
        uint32_t prod = store->req_prod;
        while (done < len && prod - __atomic_load_n(&store->req_cons, __ATOMIC_ACQUIRE) < XENSTORE_RING_SIZE)
            store->req[prod++ & (XENSTORE_RING_SIZE - 1)] = data[done++];
        __atomic_store_n(&store->req_prod, prod, __ATOMIC_RELEASE);
    }
    return 0;
}

static int ring_get(char *data, uint32_t len)
{
    uint32_t done = 0;
    while (done < len) {
        if (!rsp_has_bytes(NULL)) {
            evtchn_send(store_port);
            if (wait_until(store_port, rsp_has_bytes, NULL) != 0)
                return -1;
        }
        uint32_t cons = store->rsp_cons;
        uint32_t prod = __atomic_load_n(&store->rsp_prod, __ATOMIC_ACQUIRE);
        if (prod - cons > XENSTORE_RING_SIZE)
            return -1; /* the host broke the protocol */
        while (done < len && cons != prod)
            data[done++] = store->rsp[cons++ & (XENSTORE_RING_SIZE - 1)];
        __atomic_store_n(&store->rsp_cons, cons, __ATOMIC_RELEASE);
    }
    return 0;
}

int xs_request(uint32_t type, const char *payload, uint32_t len, char *reply, uint32_t max)
{
    if (!store || len > XENSTORE_PAYLOAD_MAX)
        return -1;
    struct xsd_sockmsg req = { .type = type, .req_id = next_req_id++, .tx_id = 0, .len = len };
    if (ring_put((const char *)&req, sizeof req) != 0 || ring_put(payload, len) != 0)
        return -1;
    evtchn_send(store_port);
    for (;;) {
        struct xsd_sockmsg rsp;
        if (ring_get((char *)&rsp, sizeof rsp) != 0 || rsp.len > XENSTORE_PAYLOAD_MAX)
            return -1;
        uint32_t keep = rsp.len < max ? rsp.len : (max ? max - 1 : 0);
        if (ring_get(reply, keep) != 0)
            return -1;
        for (uint32_t skip = keep; skip < rsp.len; skip++) {
            char c;
            if (ring_get(&c, 1) != 0)
                return -1;
        }
        evtchn_send(store_port); /* we made space in rsp[] */
        if (max)
            reply[keep] = 0;
        if (rsp.type == XS_WATCH_EVENT)
            continue; /* not ours: we set no watch, but a host may send them */
        if (rsp.req_id != req.req_id)
            continue;
        if (rsp.type == XS_ERROR)
            return -2;
        return keep < rsp.len ? -1 : (int)rsp.len;
    }
}

int xs_read(const char *path, char *value, uint32_t max)
{
    return xs_request(XS_READ, path, (uint32_t)strlen(path) + 1, value, max);
}

int xs_write(const char *path, const char *value)
{
    char buf[512];
    size_t p = strlen(path), v = strlen(value);
    if (p + 1 + v > sizeof buf)
        return -1;
    memcpy(buf, path, p + 1); /* path, NUL, value (no NUL) */
    memcpy(buf + p + 1, value, v);
    char ok[8];
    int rc = xs_request(XS_WRITE, buf, (uint32_t)(p + 1 + v), ok, sizeof ok);
    return rc < 0 ? rc : 0;
}

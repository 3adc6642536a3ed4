/*
 * test-pvh-console: every console source of a guest, interleaved, for the host
 * to check that they arrive in order on one stream; and a guest that stops in
 * the way the host asks (to test jxen's exit status and Ctrl-C).
 *
 * Host expectations: the Xen HVM direct-boot convention, jxen's Xen domain with
 * a PV console page (HVM_PARAM_CONSOLE_PFN/EVTCHN). Command-line words:
 *   rounds=N    N rounds (default 3) of, in this order:
 *                 "ring <i>\n"  through the PV console ring (then EVTCHNOP_send)
 *                 "io <i>\n"    through console_io
 *                 "e9 <i>\n"    on port 0xe9, a byte at a time
 *                 "12 <i>\n"    on port 0x12, a byte at a time
 *   flood=N     then N bytes through the ring in one write, more than the ring
 *               holds if N > 2048: lines "flood <k> abc...\n" of 64 bytes, the
 *               last one cut short; then "after flood\n" through console_io
 *   quiet=N     then "quiet <i>\n" N times through the ring without any
 *               EVTCHNOP_send (only the host's polling can take them), then
 *               waits up to 2 s for the host to take them and says
 *               "quiet taken\n" or "quiet NOT taken\n" through console_io
 *   echo=N      then reads N bytes of input from the ring's in[] (waiting up to
 *               5 s, polling the console port) and says "input: <bytes>\n"
 *               through console_io
 *   shutdown=R  finally SCHEDOP_shutdown with reason R (default 0, poweroff)
 *   hang        instead of shutting down, say "hanging\n" and halt for good
 *               (interrupts off): only the host can stop it
 * Without a console page it says "test-pvh-console: no PV console" through
 * console_io and shuts down with SHUTDOWN_crash.
 */
#include "guest.h"
#include "xenpv.h"

static const char *word_value(const char *cmdline, const char *key)
{
    size_t k = strlen(key);
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        if (memcmp(p, key, k) == 0 && (p[k] == '=' || p[k] == ' ' || p[k] == 0))
            return p[k] == '=' ? p + k + 1 : p + k;
        while (*p && *p != ' ')
            p++;
    }
    return NULL;
}

static long number(const char *cmdline, const char *key, long dflt)
{
    const char *v = word_value(cmdline, key);
    if (!v || *v < '0' || *v > '9')
        return dflt;
    long n = 0;
    while (*v >= '0' && *v <= '9')
        n = n * 10 + (*v++ - '0');
    return n;
}

static void port_write(uint16_t port, const char *s)
{
    while (*s)
        outb(port, (uint8_t)*s++);
}

static char flood_buf[16384];

void kernel_main(uint64_t start_info_pa)
{
    const struct hvm_start_info *si = (const struct hvm_start_info *)start_info_pa;
    const char *cmdline = si->cmdline_paddr ? (const char *)si->cmdline_paddr : "";
    if (xen_hypercall_init() != 0)
        halt_forever();
    if (xencons_init() != 0) {
        console_write("test-pvh-console: no PV console\n");
        xen_shutdown(SHUTDOWN_crash);
    }
    char line[64];
    long rounds = number(cmdline, "rounds", 3);
    for (long i = 0; i < rounds; i++) {
        int n = snprintf(line, sizeof line, "ring %ld\n", i);
        xencons_write(line, (size_t)n);
        snprintf(line, sizeof line, "io %ld\n", i);
        console_write(line);
        snprintf(line, sizeof line, "e9 %ld\n", i);
        port_write(DEBUG_PORT, line);
        snprintf(line, sizeof line, "12 %ld\n", i);
        port_write(DEBUG_PORT2, line);
    }

    long flood = number(cmdline, "flood", 0);
    if (flood > (long)sizeof flood_buf)
        flood = sizeof flood_buf;
    if (flood > 0) {
        for (long at = 0, k = 0; at < flood; k++) {
            char l[64];
            int n = snprintf(l, sizeof l, "flood %ld ", k);
            for (; n < 63; n++)
                l[n] = (char)('a' + n % 26);
            l[63] = '\n';
            for (int j = 0; j < 64 && at < flood; j++)
                flood_buf[at++] = l[j];
        }
        xencons_write(flood_buf, (size_t)flood);
        console_write("after flood\n");
    }

    long quiet = number(cmdline, "quiet", 0);
    if (quiet > 0) {
        volatile struct xencons_interface *c = (volatile struct xencons_interface *)(xencons_gfn() << 12);
        uint32_t prod = c->out_prod;
        for (long i = 0; i < quiet; i++) {
            int n = snprintf(line, sizeof line, "quiet %ld\n", i);
            for (int j = 0; j < n; j++)
                c->out[prod++ & (XENCONS_OUT_SIZE - 1)] = line[j];
        }
        __atomic_store_n(&c->out_prod, prod, __ATOMIC_RELEASE); /* and no EVTCHNOP_send */
        uint64_t start = xen_system_time();
        while (__atomic_load_n(&c->out_cons, __ATOMIC_ACQUIRE) != prod && xen_system_time() - start < 2000000000ull)
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
        console_write(__atomic_load_n(&c->out_cons, __ATOMIC_ACQUIRE) == prod ? "quiet taken\n" : "quiet NOT taken\n");
    }

    long echo = number(cmdline, "echo", 0);
    if (echo > 0) {
        char in[128];
        size_t got = 0;
        if (echo > (long)sizeof in - 1)
            echo = sizeof in - 1;
        uint64_t start = xen_system_time();
        while (got < (size_t)echo && xen_system_time() - start < 5000000000ull) {
            got += xencons_read(in + got, (size_t)echo - got);
            if (got < (size_t)echo)
                evtchn_poll(xencons_port(), 10000000ull);
        }
        in[got] = 0;
        console_write("input: ");
        console_write(in);
        console_write("\n");
    }

    if (word_value(cmdline, "hang")) {
        console_write("hanging\n");
        halt_forever();
    }
    xen_shutdown((unsigned)number(cmdline, "shutdown", SHUTDOWN_poweroff));
}

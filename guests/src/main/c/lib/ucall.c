/* ucall: a guest fills its vCPU's 256-byte slot and writes the slot's gpa to port 0xe5. */
#include "guest.h"

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < size; i++)
        dst[i] = src[i];
    dst[i] = 0;
}

static struct ucall *ucall_begin(uint64_t cmd)
{
    struct percpu *p = this_cpu();
    struct ucall *uc = p->ucall;
    if (!uc) {
        debug_write("ucall: this vCPU has no ucall slot\n");
        halt_forever();
    }
    uc->cmd = cmd;
    for (int i = 0; i < 6; i++)
        uc->args[i] = 0;
    uc->line = 0;
    uc->pad = 0;
    uc->file[0] = 0;
    uc->text[0] = 0;
    return uc;
}

static void ucall_ring(struct ucall *uc)
{
    barrier();
    outl(UCALL_PORT, (uint32_t)this_cpu()->ucall_gpa);
    barrier();
    (void)uc;
}

struct ucall *ucall(uint64_t cmd, int nargs, ...)
{
    struct ucall *uc = ucall_begin(cmd);
    va_list ap;
    va_start(ap, nargs);
    for (int i = 0; i < nargs && i < 6; i++)
        uc->args[i] = va_arg(ap, uint64_t);
    va_end(ap);
    ucall_ring(uc);
    return uc;
}

void ucall_assert(const char *file, uint32_t line, const char *expr, uint64_t a, uint64_t b, int nargs)
{
    debug_printf("GUEST_ASSERT %s:%u: %s (%lx, %lx)\n", file, line, expr, a, b);
    struct ucall *uc = ucall_begin(UCALL_ASSERT);
    uc->line = line;
    copy_str(uc->file, sizeof uc->file, file);
    copy_str(uc->text, sizeof uc->text, expr);
    if (nargs) {
        uc->args[0] = a;
        uc->args[1] = b;
    }
    ucall_ring(uc);
    halt_forever();
}

void ucall_print(const char *fmt, ...)
{
    struct ucall *uc = ucall_begin(UCALL_PRINT);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(uc->text, sizeof uc->text, fmt, ap);
    va_end(ap);
    ucall_ring(uc);
}

void ucall_done(void)
{
    ucall_ring(ucall_begin(UCALL_DONE));
    halt_forever();
}

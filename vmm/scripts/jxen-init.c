/*
 * jxen-init: the /init of the initramfs that vmm/scripts/linux-initramfs.sh builds. Linux runs it as
 * its first user process; it says where it runs on the console and powers the domain off, so that
 * `jxen run` ends with status 0. Freestanding (no C library): its first instruction sequence is ours,
 * and its first system call is the write below, made with a marker in r12 ("jxenINIT") so that a
 * register dump of that moment shows whose code it is.
 */
#define SYS_write 1
#define SYS_sync 162
#define SYS_reboot 169
#define SYS_uname 63
#define LINUX_REBOOT_MAGIC1 0xfee1dead
#define LINUX_REBOOT_MAGIC2 672274793
#define LINUX_REBOOT_CMD_POWER_OFF 0x4321fedc
#define MARKER 0x54494e496e65786aUL /* "jxenINIT", little-endian */

struct utsname {
    char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

static long syscall4(long n, long a, long b, long c, long d)
{
    register long r10 __asm__("r10") = d;
    register long r12 __asm__("r12") = MARKER;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r12)
                     : "rcx", "r11", "memory");
    return ret;
}

static unsigned long length(const char *s)
{
    unsigned long n = 0;
    while (s[n]) {
        n++;
    }
    return n;
}

static void say(const char *s)
{
    syscall4(SYS_write, 1, (long)s, (long)length(s), 0);
}

void _start(void)
{
    static struct utsname u;
    say("jxen-init: hello from user space\n");
    if (syscall4(SYS_uname, (long)&u, 0, 0, 0) == 0) {
        say("jxen-init: running on ");
        say(u.sysname);
        say(" ");
        say(u.release);
        say(" ");
        say(u.machine);
        say("\n");
    }
    say("jxen-init: powering off\n");
    syscall4(SYS_sync, 0, 0, 0, 0);
    syscall4(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF, 0);
    say("jxen-init: reboot(RB_POWER_OFF) returned\n");
    for (;;) {
        __asm__ volatile("pause");
    }
}

/*
 * jxen-init: the /init of the initramfs that vmm/scripts/linux-initramfs.sh builds. Linux runs it as
 * its first user process; it says where it runs on the console and powers the domain off, so that
 * `jxen run` ends with status 0.
 */
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void)
{
    struct utsname u;
    struct sysinfo si;
    uname(&u);
    sysinfo(&si);
    printf("jxen-init: hello from user space, pid %d, on %s %s (%s)\n", (int)getpid(), u.sysname, u.release,
           u.machine);
    printf("jxen-init: %lu MiB of RAM, %lu MiB free, up %ld s\n", si.totalram * si.mem_unit >> 20,
           si.freeram * si.mem_unit >> 20, si.uptime);
    printf("jxen-init: powering off\n");
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    perror("jxen-init: reboot(RB_POWER_OFF)");
    return 1;
}

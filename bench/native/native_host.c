/*
 * native_host: a minimal C host that runs jxen's guest images under raw KVM. It
 * checks guests and their start code without the Java host, and it is the native
 * floor of the hypercall benchmark: with -b it runs the bench-hypercall guest and
 * times its hypercall loop, the same guest image that jxen runs, so that the two
 * numbers differ only by the host (bench/run-hypercall-vs-floor.sh).
 *
 *   bench/native/build.sh; bench/target/native/native_host [-v vcpus] [-x] [-b calls] image.elf
 *     -x  no Xen CPUID leaves (PVH: shows the 32->64 switch alone)
 *     -b  bench-hypercall: rounds of `calls` hypercalls; prints
 *         native_host_ns_per_hypercall <median of 5 rounds>
 *
 * Kind by ELF: a PT_NOTE "Xen" type 18 -> direct boot (32-bit flat protected mode at
 * the note's address, EBX = hvm_start_info gpa); otherwise harness guest (64-bit,
 * rdi = vCPU id, rsi/rdx = ucall slot gpa/gva, rsp = stack), mapped as harness.ld says.
 *
 * Host side of the guests' contracts, minimal: Xen CPUID leaves at 0x40000000, the
 * hypercall MSR (user-space MSR filter) filling the page per docs/kvm-backend.md,
 * hypercalls through port 0xe4 (48: six-argument test -> 0x5a5a5a5a, 17 version,
 * 18 console write, 29 shutdown, else -ENOSYS), ucalls through port 0xe5, debug port
 * 0xe9. test-upcall: in-kernel irqchip, MSIs from another thread. test-memslot: a
 * region in its own memslot removed and re-added from another thread.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEM_SIZE   (64ul << 20)
static long bench_calls;               /* -b: calls per round of bench-hypercall */
#define KVA        0xffffffff80000000ull
#define IMAGE_PA   0x100000ull
#define PT_BASE    0x800000ull          /* host-built page tables (harness kind) */
#define STACKS_VA  (KVA + 0x200000)     /* -> PA 0x300000, 16 KiB per vCPU */
#define SLOTS_VA   (KVA + 0x3f0000)     /* -> PA 0x4f0000, 256 B per vCPU */
#define REGION_VA  (KVA + 0x400000)     /* test-memslot region, 2 MiB page */
#define REGION_PA  0x8000000ull     /* above slot 0 */
#define REGION_SZ  (2ul << 20)
#define START_INFO 0x7000ull

static int kvm, vm, nvcpus = 1, no_xen, pvh;
static uint8_t *mem, *region_mem;
static const char *guest_name;
static volatile int failed, finished;
static sem_t sync_sem;
static volatile int memslot_phase; /* 0 running, 1 removed, 2 re-added */
static volatile long mmio_exits;

static void die(const char *what) { fprintf(stderr, "guest-smoke: %s: %s\n", what, strerror(errno)); exit(1); }

static uint64_t va_to_pa(int vcpu, uint64_t va)
{
    struct kvm_translation t = { .linear_address = va };
    if (ioctl(vcpu, KVM_TRANSLATE, &t) < 0 || !t.valid) {
        fprintf(stderr, "guest-smoke: cannot translate %#llx\n", (unsigned long long)va);
        return 0;
    }
    return t.physical_address;
}

static void fill_hypercall_page(uint64_t gpa)
{
    uint8_t *p = mem + (gpa & ~0xfffull);
    memset(p, 0xcc, 4096);
    for (unsigned nr = 0; nr < 128; nr++) {
        uint8_t *e = p + nr * 32;
        if (nr == 23) { e[0] = 0x0f; e[1] = 0x0b; continue; }
        e[0] = 0xb8; memcpy(e + 1, &nr, 4); e[5] = 0xe7; e[6] = 0xe4; e[7] = 0xc3;
    }
    printf("[host] hypercall page filled at gpa %#llx\n", (unsigned long long)gpa);
}

static long hypercall(int vcpu, struct kvm_regs *r, struct kvm_sregs *s)
{
    int longmode = (s->efer & 0x400) && s->cs.l;
    uint64_t nr = longmode ? r->rax : (uint32_t)r->rax;
    uint64_t a[6];
    if (longmode) { a[0] = r->rdi; a[1] = r->rsi; a[2] = r->rdx; a[3] = r->r10; a[4] = r->r8; a[5] = r->r9; }
    else { a[0] = (uint32_t)r->rbx; a[1] = (uint32_t)r->rcx; a[2] = (uint32_t)r->rdx;
           a[3] = (uint32_t)r->rsi; a[4] = (uint32_t)r->rdi; a[5] = (uint32_t)r->rbp; }
    switch (nr) {
    case 48: {
        int ok = 1;
        for (int i = 0; i < 6; i++) {
            uint64_t want = (i + 1) * (longmode ? 0x1111111111111111ull : 0x11111111ull);
            if (a[i] != want) ok = 0;
        }
        printf("[host] hypercall 48 (%d-bit): args %s\n", longmode ? 64 : 32, ok ? "as expected" : "WRONG");
        return ok ? 0x5a5a5a5a : -22;
    }
    case 17: return (4 << 16) | 17;
    case 18: {
        if (a[0] != 0) return -38;
        char buf[512];
        size_t n = a[1] < sizeof buf - 1 ? a[1] : sizeof buf - 1;
        uint64_t pa = va_to_pa(vcpu, a[2]);
        memcpy(buf, mem + pa, n);
        buf[n] = 0;
        printf("[console] %s", buf);
        return (long)a[1];
    }
    case 29:
        if (a[0] == 2) {
            uint32_t reason;
            memcpy(&reason, mem + va_to_pa(vcpu, a[1]), 4);
            printf("[host] SCHEDOP_shutdown reason %u\n", reason);
            if (reason != 0) failed = 1;
            finished = 1;
            return 0;
        }
        return -38;
    default:
        if (!bench_calls) printf("[host] hypercall %llu -> -ENOSYS\n", (unsigned long long)nr);
        return -38;
    }
}

struct ucall { uint64_t cmd, args[6]; uint32_t line, pad; char file[64], text[128]; };

static void send_msi(uint32_t dest, uint32_t vector)
{
    struct kvm_msi msi = { .address_lo = 0xfee00000u | (dest << 12), .data = vector };
    if (ioctl(vm, KVM_SIGNAL_MSI, &msi) < 0) die("KVM_SIGNAL_MSI");
}

static void *upcall_sender(void *arg)
{
    (void)arg;
    for (;;) {
        sem_wait(&sync_sem);
        if (finished) return NULL;
        usleep(2000); /* let the vCPU reach hlt */
        send_msi(0, 0xf3);
    }
}

static void set_region_slot(int present)
{
    struct kvm_userspace_memory_region r = { .slot = 1, .guest_phys_addr = REGION_PA,
        .memory_size = present ? REGION_SZ : 0, .userspace_addr = (uint64_t)region_mem };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0) die("KVM_SET_USER_MEMORY_REGION slot 1");
}

static void *memslot_changer(void *arg)
{
    (void)arg;
    sem_wait(&sync_sem);
    usleep(1000);
    set_region_slot(0);
    memslot_phase = 1;
    printf("[host] region memslot removed while the vCPU runs\n");
    usleep(20000);
    set_region_slot(1);
    memslot_phase = 2;
    printf("[host] region memslot added back\n");
    return NULL;
}

static int bench_round = -2;            /* two warm-up rounds */
static double bench_ns[5];
static struct timespec bench_t0;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* bench-hypercall's protocol: reply N to SYNC(1), time until SYNC(2); STOP after 5 rounds. */
static void bench_ucall(struct ucall *uc)
{
    struct timespec t1;
    if (uc->args[0] == 1) {
        if (bench_round >= 5) {
            qsort(bench_ns, 5, sizeof bench_ns[0], cmp_double);
            printf("native_host_ns_per_hypercall %.0f\n", bench_ns[2]);
            uc->args[0] = 0x57095709;
            return;
        }
        uc->args[0] = bench_round < 0 ? bench_calls / 4 : bench_calls;
        uc->args[1] = 0;
        clock_gettime(CLOCK_MONOTONIC, &bench_t0);
    } else if (uc->args[0] == 2) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ns = (t1.tv_sec - bench_t0.tv_sec) * 1e9 + (t1.tv_nsec - bench_t0.tv_nsec);
        if (uc->args[3] != 0) {
            printf("bench: %llu calls did not return -ENOSYS\n", (unsigned long long)uc->args[3]);
            failed = 1;
        }
        if (bench_round >= 0) {
            bench_ns[bench_round] = ns / (double)uc->args[1];
            printf("round %d: %llu calls, %.0f ns per hypercall\n", bench_round,
                   (unsigned long long)uc->args[1], bench_ns[bench_round]);
        }
        bench_round++;
    }
}

static int handle_ucall(int vcpu, uint32_t gpa)
{
    struct ucall *uc = (struct ucall *)(mem + gpa);
    (void)vcpu;
    switch (uc->cmd) {
    case 1: printf("[ucall] DONE\n"); return 1;
    case 2:
        if (bench_calls > 0) {
            bench_ucall(uc);
            return 0;
        }
        if (!strcmp(guest_name, "test-memslot")) {
            if (uc->args[0] == 1) { uc->args[0] = REGION_VA; uc->args[1] = 4096; }
            else if (uc->args[0] == 2) {
                static int first = 1;
                if (first) { first = 0; sem_post(&sync_sem); }
                if (memslot_phase == 2) {
                    printf("[ucall] SYNC(2, i=%llu, mismatches=%llu); mmio exits %ld; replying STOP\n",
                           (unsigned long long)uc->args[1], (unsigned long long)uc->args[2], mmio_exits);
                    uc->args[0] = 0x5709;
                }
                return 0;
            }
        }
        printf("[ucall] SYNC(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx)\n",
               (unsigned long long)uc->args[0], (unsigned long long)uc->args[1], (unsigned long long)uc->args[2],
               (unsigned long long)uc->args[3], (unsigned long long)uc->args[4], (unsigned long long)uc->args[5]);
        if (!strcmp(guest_name, "test-upcall")) sem_post(&sync_sem);
        return 0;
    case 3:
        printf("[ucall] ASSERT %.64s:%u: %.128s (%#llx, %#llx)\n", uc->file, uc->line, uc->text,
               (unsigned long long)uc->args[0], (unsigned long long)uc->args[1]);
        failed = 1;
        return 1;
    case 4: printf("[ucall] PRINT %.128s\n", uc->text); return 0;
    default: printf("[ucall] unknown cmd %llu\n", (unsigned long long)uc->cmd); failed = 1; return 1;
    }
}

struct vcpu_arg { int id, fd; struct kvm_run *run; };

static void *vcpu_loop(void *p)
{
    struct vcpu_arg *v = p;
    struct kvm_run *run = v->run;
    /* registers through kvm_run's sync-regs area, as jxen reads them: no ioctl per exit */
    run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
    for (;;) {
        if (finished && pvh) return NULL;
        if (ioctl(v->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            die("KVM_RUN");
        }
        struct kvm_regs r;
        struct kvm_sregs s;
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            uint8_t *data = (uint8_t *)run + run->io.data_offset;
            if (run->io.port == 0xe9 || run->io.port == 0x12) { fputc(*data, stdout); fflush(stdout); break; }
            if (run->io.port == 0xe4) {
                r = run->s.regs.regs;
                s = run->s.regs.sregs;
                run->s.regs.regs.rax = (uint64_t)hypercall(v->fd, &r, &s);
                run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
                if (finished) return NULL;
                break;
            }
            if (run->io.port == 0xe5) {
                uint32_t gpa;
                memcpy(&gpa, data, 4);
                if (handle_ucall(v->fd, gpa)) return NULL;
                break;
            }
            printf("[host] vCPU %d: unexpected port %#x\n", v->id, run->io.port);
            failed = 1;
            return NULL;
        }
        case KVM_EXIT_X86_WRMSR:
            if (run->msr.index == 0x40000000) { fill_hypercall_page(run->msr.data); run->msr.error = 0; }
            else { printf("[host] wrmsr %#x\n", run->msr.index); run->msr.error = 1; }
            break;
        case KVM_EXIT_X86_RDMSR:
            run->msr.error = 1;
            break;
        case KVM_EXIT_MMIO:
            mmio_exits++;
            if (!run->mmio.is_write) memset(run->mmio.data, 0xff, sizeof run->mmio.data);
            break;
        case KVM_EXIT_HLT:
            printf("[host] vCPU %d: hlt\n", v->id);
            return NULL;
        default:
            ioctl(v->fd, KVM_GET_REGS, &r);
            printf("[host] vCPU %d: exit reason %u at rip %#llx (suberror %u)\n", v->id, run->exit_reason,
                   (unsigned long long)r.rip, run->internal.suberror);
            failed = 1;
            return NULL;
        }
    }
}

static struct kvm_cpuid2 *cpuid_template(void)
{
    int n = 256;
    struct kvm_cpuid2 *c = calloc(1, sizeof *c + n * sizeof(struct kvm_cpuid_entry2));
    c->nent = n;
    if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) < 0) die("KVM_GET_SUPPORTED_CPUID");
    unsigned k = 0;
    for (unsigned i = 0; i < c->nent; i++)
        if ((c->entries[i].function & 0xffff0000u) != 0x40000000u)
            c->entries[k++] = c->entries[i];
    if (!no_xen) {
        struct kvm_cpuid_entry2 x[5] = {
            { .function = 0x40000000, .eax = 0x40000004, .ebx = 0x566e6558, .ecx = 0x65584d4d, .edx = 0x4d4d566e },
            { .function = 0x40000001, .eax = (4 << 16) | 17 },
            { .function = 0x40000002, .eax = 1, .ebx = 0x40000000 },
            { .function = 0x40000003 },
            { .function = 0x40000004 },
        };
        for (int i = 0; i < 5; i++) c->entries[k++] = x[i];
    }
    c->nent = k;
    return c;
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "v:xb:")) != -1) {
        if (opt == 'b') {
            bench_calls = atol(optarg);
            continue;
        }
        if (opt == 'v') nvcpus = atoi(optarg);
        else if (opt == 'x') no_xen = 1;
        else return 2;
    }
    if (optind >= argc) { fprintf(stderr, "usage: guest-smoke [-v vcpus] [-x] image.elf\n"); return 2; }
    const char *path = argv[optind];
    const char *base = strrchr(path, '/');
    static char name[128];
    snprintf(name, sizeof name, "%s", base ? base + 1 : path);
    if (strstr(name, ".elf")) *strstr(name, ".elf") = 0;
    guest_name = name;
    sem_init(&sync_sem, 0, 0);
    setvbuf(stdout, NULL, _IOLBF, 0);

    int fd = open(path, O_RDONLY);
    if (fd < 0) die(path);
    struct stat st;
    fstat(fd, &st);
    uint8_t *elf = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;

    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("/dev/kvm");
    vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct kvm_userspace_memory_region r0 = { .slot = 0, .memory_size = MEM_SIZE, .userspace_addr = (uint64_t)mem };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r0) < 0) die("KVM_SET_USER_MEMORY_REGION");

    /* load PT_LOAD segments at p_paddr; find the PHYS32_ENTRY note */
    uint64_t entry = eh->e_entry;
    for (int i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr *ph = (Elf64_Phdr *)(elf + eh->e_phoff + i * eh->e_phentsize);
        if (ph->p_type == PT_LOAD) {
            memcpy(mem + ph->p_paddr, elf + ph->p_offset, ph->p_filesz);
            memset(mem + ph->p_paddr + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
        } else if (ph->p_type == PT_NOTE) {
            for (uint64_t off = 0; off + 12 <= ph->p_filesz;) {
                Elf64_Nhdr *nh = (Elf64_Nhdr *)(elf + ph->p_offset + off);
                const char *nname = (const char *)(nh + 1);
                uint8_t *desc = (uint8_t *)nname + ((nh->n_namesz + 3) & ~3u);
                if (nh->n_type == 18 && nh->n_namesz == 4 && !memcmp(nname, "Xen", 4)) {
                    uint32_t e32;
                    memcpy(&e32, desc, 4);
                    entry = e32;
                    pvh = 1;
                }
                off += sizeof *nh + ((nh->n_namesz + 3) & ~3u) + ((nh->n_descsz + 3) & ~3u);
            }
        }
    }
    printf("[host] %s: %s guest, entry %#llx, %d vCPU(s)%s\n", name, pvh ? "direct-boot (PVH)" : "harness",
           (unsigned long long)entry, nvcpus, no_xen ? ", no Xen CPUID" : "");

    int irqchip = !pvh;
    if (irqchip && ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) die("KVM_CREATE_IRQCHIP");

    struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR, .args = { KVM_MSR_EXIT_REASON_FILTER } };
    if (ioctl(vm, KVM_ENABLE_CAP, &cap) < 0) die("KVM_CAP_X86_USER_SPACE_MSR");
    static uint8_t deny = 0;
    struct kvm_msr_filter filter = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };
    filter.ranges[0] = (struct kvm_msr_filter_range){ .flags = KVM_MSR_FILTER_WRITE, .nmsrs = 1,
                                                       .base = 0x40000000, .bitmap = &deny };
    if (ioctl(vm, KVM_X86_SET_MSR_FILTER, &filter) < 0) die("KVM_X86_SET_MSR_FILTER");

    if (!pvh) {
        /* PML4[511] -> PDPT[510] -> PD; PD[0], PD[1] -> PTs mapping KVA + x -> 0x100000 + x (4 MiB),
           PD[2] -> REGION_PA as a 2 MiB page */
        uint64_t *pml4 = (uint64_t *)(mem + PT_BASE), *pdpt = (uint64_t *)(mem + PT_BASE + 0x1000);
        uint64_t *pd = (uint64_t *)(mem + PT_BASE + 0x2000), *pt = (uint64_t *)(mem + PT_BASE + 0x3000);
        pml4[511] = (PT_BASE + 0x1000) | 3;
        pdpt[510] = (PT_BASE + 0x2000) | 3;
        pd[0] = (PT_BASE + 0x3000) | 3;
        pd[1] = (PT_BASE + 0x4000) | 3;
        for (int i = 0; i < 1024; i++) pt[i] = (IMAGE_PA + i * 0x1000ull) | 3;
        pd[2] = REGION_PA | 0x83;
        region_mem = mmap(NULL, REGION_SZ, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        set_region_slot(1);
    } else {
        uint32_t *si = (uint32_t *)(mem + START_INFO);
        si[0] = 0x336ec578; si[1] = 1;
    }

    struct kvm_cpuid2 *cpuid = cpuid_template();
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    pthread_t threads[64];
    struct vcpu_arg args[64];
    for (int id = 0; id < nvcpus; id++) {
        int vfd = ioctl(vm, KVM_CREATE_VCPU, id);
        if (vfd < 0) die("KVM_CREATE_VCPU");
        if (ioctl(vfd, KVM_SET_CPUID2, cpuid) < 0) die("KVM_SET_CPUID2");
        struct kvm_sregs s;
        ioctl(vfd, KVM_GET_SREGS, &s);
        struct kvm_segment code = { .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1, .s = 1, .g = 1 };
        struct kvm_segment data = { .limit = 0xffffffff, .selector = 16, .type = 3, .present = 1, .s = 1, .g = 1, .db = 1 };
        struct kvm_regs r = { .rflags = 2, .rip = entry };
        if (pvh) {
            code.db = 1;
            s.cr0 = 0x11;
            r.rbx = START_INFO;
        } else {
            code.l = 1;
            s.cr0 = 0x80000011;
            s.cr3 = PT_BASE;
            s.cr4 = 0x20;
            s.efer = 0x500;
            r.rdi = id;
            r.rsi = SLOTS_VA - KVA + IMAGE_PA + id * 256;
            r.rdx = SLOTS_VA + id * 256;
            r.rsp = STACKS_VA + (id + 1) * 0x4000;
        }
        s.cs = code;
        s.ds = s.es = s.fs = s.gs = s.ss = data;
        if (ioctl(vfd, KVM_SET_SREGS, &s) < 0) die("KVM_SET_SREGS");
        if (ioctl(vfd, KVM_SET_REGS, &r) < 0) die("KVM_SET_REGS");
        if (id > 0 && irqchip) {
            struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
            if (ioctl(vfd, KVM_SET_MP_STATE, &mp) < 0) die("KVM_SET_MP_STATE");
        }
        args[id] = (struct vcpu_arg){ id, vfd, mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vfd, 0) };
    }
    pthread_t helper;
    if (!strcmp(name, "test-upcall")) pthread_create(&helper, NULL, upcall_sender, NULL);
    if (!strcmp(name, "test-memslot")) pthread_create(&helper, NULL, memslot_changer, NULL);
    for (int id = 0; id < nvcpus; id++) pthread_create(&threads[id], NULL, vcpu_loop, &args[id]);
    for (int id = 0; id < nvcpus; id++) pthread_join(threads[id], NULL);
    finished = 1;
    printf("[host] %s: %s\n", name, failed ? "FAILED" : "passed");
    return failed;
}

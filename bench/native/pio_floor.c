/*
 * pio_floor: the native floor for one userspace hypercall on this machine.
 *
 * A minimal C VMM: /dev/kvm, one memslot, one vCPU running a 4-byte guest loop
 *     1: out %eax, $0xe4 ; jmp 1b
 * in 64-bit long mode (identity map, one 2 MiB page) or, with -m32, 32-bit flat
 * protected mode. Every `out` is a KVM_EXIT_IO; the VMM checks the port, reads the
 * guest registers the way jxen's vCPU loop does (from kvm_run's sync-regs area:
 * rax and the six argument registers, plus EFER and CS for the word size) and
 * re-enters. It reports the mean time per exit-and-re-entry over N exits after a
 * warm-up.
 *
 *   pio_floor [-n exits] [-w warmup] [-m32] [-s regs|regs+sregs|none] [-d]
 *     -s none:  no sync regs; KVM_GET_REGS (and KVM_GET_SREGS) per exit instead
 *     -d:       mark regs dirty on each exit (as a hypercall that writes rax would)
 *
 * Output: human text on stderr, and one machine-readable line on stdout:
 *   pio_floor_ns_per_exit <mean ns>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE  (2ul << 20)
#define PML4      0x1000
#define PDPT      0x2000
#define PD        0x3000
#define PT        0x4000
#define STUB      0x10100
#define CODE      0x10000
#define PORT      0xe4

static void die(const char *what)
{
    fprintf(stderr, "pio_floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

enum sync { SYNC_NONE, SYNC_REGS, SYNC_REGS_SREGS };

int main(int argc, char **argv)
{
    long exits = 200000, warmup = 20000;
    int mode32 = 0, dirty = 0, small_pages = 0, call_stub = 0;
    enum sync sync = SYNC_REGS_SREGS;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc) exits = atol(argv[++i]);
        else if (!strcmp(argv[i], "-w") && i + 1 < argc) warmup = atol(argv[++i]);
        else if (!strcmp(argv[i], "-m32")) mode32 = 1;
        else if (!strcmp(argv[i], "-d")) dirty = 1;
        else if (!strcmp(argv[i], "-4k")) small_pages = 1;
        else if (!strcmp(argv[i], "-call")) call_stub = 1;
        else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
            const char *s = argv[++i];
            sync = !strcmp(s, "none") ? SYNC_NONE : !strcmp(s, "regs") ? SYNC_REGS : SYNC_REGS_SREGS;
        } else {
            fprintf(stderr, "usage: %s [-n exits] [-w warmup] [-m32] [-s regs|regs+sregs|none] [-d] [-4k] [-call]\n", argv[0]);
            return 2;
        }
    }

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("open /dev/kvm");
    if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) die("KVM_GET_API_VERSION");
    int caps = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
    if (sync != SYNC_NONE && caps <= 0) {
        fprintf(stderr, "pio_floor: KVM_CAP_SYNC_REGS missing; use -s none\n");
        return 1;
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");

    uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) die("mmap");
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE, .userspace_addr = (uint64_t)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");

    static const uint8_t loop[] = { 0xe7, PORT, 0xeb, 0xfc }; /* out %eax,$0xe4; jmp .-2 */
    memcpy(mem + CODE, loop, sizeof loop);
    if (call_stub) {
        /* like a guest of jxen: call an entry of a hypercall page, which does mov/out/ret */
        static const uint8_t caller[] = { 0xe8, 0xfb, 0x00, 0x00, 0x00, 0xeb, 0xf9 }; /* call STUB; jmp .-7 */
        static const uint8_t stub[] = { 0xb8, 0x2f, 0x00, 0x00, 0x00, 0xe7, PORT, 0xc3 }; /* mov $47,%eax; out; ret */
        memcpy(mem + CODE, caller, sizeof caller);
        memcpy(mem + STUB, stub, sizeof stub);
    }
    uint64_t *pml4 = (uint64_t *)(mem + PML4), *pdpt = (uint64_t *)(mem + PDPT), *pd = (uint64_t *)(mem + PD);
    pml4[0] = PDPT | 3;
    pdpt[0] = PD | 3;
    pd[0] = 0x83; /* 2 MiB page at 0: present, writable, large */
    if (small_pages) {
        /* the same first 2 MiB, mapped with 4 KiB pages */
        uint64_t *pt = (uint64_t *)(mem + PT);
        for (int i = 0; i < 512; i++)
            pt[i] = ((uint64_t)i << 12) | 3;
        pd[0] = PT | 3;
    }

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) die("mmap kvm_run");

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    struct kvm_segment code = { .base = 0, .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1,
                                .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1 };
    struct kvm_segment data = { .base = 0, .limit = 0xffffffff, .selector = 16, .type = 3, .present = 1,
                                .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1 };
    sregs.cr0 = 0x11; /* PE | ET */
    if (!mode32) {
        code.db = 0;
        code.l = 1;
        sregs.cr3 = PML4;
        sregs.cr4 = 0x20;            /* PAE */
        sregs.efer = 0x500;          /* LME | LMA */
        sregs.cr0 = 0x80000011;      /* PG | ET | PE */
    }
    sregs.cs = code;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
    struct kvm_regs regs = { .rip = CODE, .rflags = 2, .rsp = 0x8000, .rax = 0x30 };
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

    if (sync == SYNC_REGS)
        run->kvm_valid_regs = KVM_SYNC_X86_REGS;
    else if (sync == SYNC_REGS_SREGS)
        run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;

    volatile uint64_t sink = 0;
    double start = 0;
    for (long i = 0; i < warmup + exits; i++) {
        if (i == warmup)
            start = now_ns();
        run->kvm_dirty_regs = 0;
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) { i--; continue; }
            die("KVM_RUN");
        }
        if (run->exit_reason != KVM_EXIT_IO || run->io.port != PORT || run->io.direction != KVM_EXIT_IO_OUT) {
            fprintf(stderr, "pio_floor: unexpected exit %u (port %#x) after %ld exits\n",
                    run->exit_reason, run->io.port, i);
            return 1;
        }
        /* what a hypercall dispatcher reads: number, six arguments, word size */
        if (sync == SYNC_NONE) {
            struct kvm_regs r;
            struct kvm_sregs s;
            if (ioctl(vcpu, KVM_GET_REGS, &r) < 0) die("KVM_GET_REGS");
            if (ioctl(vcpu, KVM_GET_SREGS, &s) < 0) die("KVM_GET_SREGS");
            sink += r.rax + r.rdi + r.rsi + r.rdx + r.r10 + r.r8 + r.r9 + s.efer + s.cs.l;
            if (dirty && ioctl(vcpu, KVM_SET_REGS, &r) < 0) die("KVM_SET_REGS");
        } else {
            struct kvm_regs *r = &run->s.regs.regs;
            sink += r->rax + r->rdi + r->rsi + r->rdx + r->r10 + r->r8 + r->r9;
            if (sync == SYNC_REGS_SREGS)
                sink += run->s.regs.sregs.efer + run->s.regs.sregs.cs.l;
            if (dirty) {
                r->rax = 0x30;
                run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
            }
        }
    }
    double ns = (now_ns() - start) / (double)exits;
    const char *sync_name = sync == SYNC_NONE ? "none (KVM_GET_REGS+KVM_GET_SREGS per exit)"
                          : sync == SYNC_REGS ? "regs" : "regs+sregs";
    fprintf(stderr, "pio_floor: %ld port-I/O exits (after %ld warm-up) in %s mode, sync regs %s%s: "
            "%.0f ns per exit and re-entry\n",
            exits, warmup, mode32 ? "32-bit protected" : "64-bit long", sync_name,
            dirty ? ", regs marked dirty" : "", ns);
    printf("pio_floor_ns_per_exit %.0f\n", ns);
    (void)sink;
    return 0;
}

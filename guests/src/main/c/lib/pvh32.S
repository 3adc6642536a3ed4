/*
 * Direct-boot entry (the Xen HVM/PVH convention): entered at pvh_start32,
 * named by the XEN_ELFNOTE_PHYS32_ENTRY note below, in 32-bit flat protected
 * mode with paging off, EBX = gpa of the hvm_start_info.
 *
 * 32-bit code here must take no exception (see HOST-KVM-NOTES.md: this host
 * cannot return from an exception in 32-bit mode), so no IDT is loaded before
 * long mode and every instruction used is one that cannot fault on a sane
 * loader's state (lgdt of our own GDT, flat segment loads, rep stos, cr/msr
 * writes of architecturally valid values).
 *
 * Steps: own GDT, stack, clear .bss, page tables (identity map of 0..4 GiB in
 * 2 MiB pages, so that pages the host places below 4 GiB outside RAM, such as
 * the console and XenStore pages, are reachable at their gpa; the first 1 GiB
 * again at 0xffffffff80000000), an optional
 * 32-bit hook (boot32_hook, weak), PAE, EFER.LME, paging, far jump to 64-bit
 * code, jump to the high mapping, runtime setup, kernel_main(start_info_pa).
 */
#define KVA 0xffffffff80000000
#define MSR_EFER 0xc0000080

    .section .boot.text, "ax"
    .code32
    .globl pvh_start32
pvh_start32:
    cli
    cld
    movl %ebx, %esi                     /* hvm_start_info gpa, kept in esi */
    lgdt boot_gdt_desc
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    ljmp $0x18, $1f                     /* our own flat 32-bit code segment */
1:
    movl $(boot_stack_top - KVA), %esp

    /* clear .bss (page tables and boot stack live there) */
    movl $(__bss_start - KVA), %edi
    movl $(__bss_end - KVA), %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl

    /* four page directories: 2048 x 2 MiB, present | writable | large */
    movl $(pvh_pd - KVA), %edi
    movl $0x83, %eax
    movl $2048, %ecx
2:  movl %eax, (%edi)
    movl $0, 4(%edi)
    addl $0x200000, %eax
    addl $8, %edi
    decl %ecx
    jnz 2b
    movl $(pvh_pd - KVA + 3), %eax
    movl %eax, (pvh_pdpt_low - KVA)            /* 0 .. 4 GiB identity */
    movl %eax, (pvh_pdpt_high - KVA + 510 * 8) /* 0xffffffff80000000 -> 0 */
    addl $4096, %eax
    movl %eax, (pvh_pdpt_low - KVA + 8)
    addl $4096, %eax
    movl %eax, (pvh_pdpt_low - KVA + 16)
    addl $4096, %eax
    movl %eax, (pvh_pdpt_low - KVA + 24)
    movl $(pvh_pdpt_low - KVA + 3), %eax
    movl %eax, (pvh_pml4 - KVA)
    movl $(pvh_pdpt_high - KVA + 3), %eax
    movl %eax, (pvh_pml4 - KVA + 511 * 8)

    /* a guest may run 32-bit code here, before long mode (must preserve esi) */
    movl $boot32_hook, %eax
    testl %eax, %eax
    jz 3f
    call *%eax
3:
    movl %cr4, %eax
    orl $0x20, %eax                     /* PAE */
    movl %eax, %cr4
    movl $(pvh_pml4 - KVA), %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $0x100, %eax                    /* LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax               /* PG | PE */
    movl %eax, %cr0
    ljmp $0x08, $start64_low

    .code64
start64_low:
    movabsq $pvh_start64, %rax
    jmp *%rax

    .weak boot32_hook

/*
 * For a boot32_hook that makes hypercalls with the 32-bit ABI: finds the Xen CPUID
 * leaves ("XenVMMXenVMM" at 0x40000000 + k * 0x100, with leaf base + 2 present) and
 * writes the hypercall MSR that leaf base + 2 names with hypercall_page's gpa.
 * Returns eax = 0, or 1 when there are no Xen leaves. Takes no exception. cdecl:
 * clobbers eax, ecx and edx only.
 */
    .code32
    .globl xen_hypercall_init32
xen_hypercall_init32:
    pushl %ebx
    pushl %esi
    movl $0x40000000, %esi
1:  movl %esi, %eax
    xorl %ecx, %ecx
    cpuid
    cmpl $0x566e6558, %ebx
    jne 2f
    cmpl $0x65584d4d, %ecx
    jne 2f
    cmpl $0x4d4d566e, %edx
    jne 2f
    leal 2(%esi), %edx
    cmpl %edx, %eax
    jae 3f
2:  addl $0x100, %esi
    cmpl $0x40010000, %esi
    jb 1b
    movl $1, %eax
    jmp 4f

3:  leal 2(%esi), %eax                  /* base + 2: EBX = hypercall MSR */
    xorl %ecx, %ecx
    cpuid
    movl %ebx, %ecx
    movl $(hypercall_page - KVA), %eax   /* page gpa | index 0 */
    xorl %edx, %edx
    wrmsr
    xorl %eax, %eax
4:  popl %esi
    popl %ebx
    ret

    .section .boot.data, "aw"
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff            /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: flat data */
    .quad 0x00cf9a000000ffff            /* 0x18: flat 32-bit code */
boot_gdt_end:
    .balign 8
boot_gdt_desc:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .text
    .code64
pvh_start64:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    leaq boot_stack_top(%rip), %rsp
    movl %esi, %r12d                    /* start_info gpa (zero-extended) */
    call pvh_runtime_init
    movq %r12, %rdi
    call kernel_main
    movl $0, %edi                       /* returning is SHUTDOWN_poweroff */
    call xen_shutdown
4:  cli
    hlt
    jmp 4b

    .section .bss.pagetables, "aw", @nobits
    .balign 4096
pvh_pml4:      .skip 4096
pvh_pdpt_low:  .skip 4096
pvh_pdpt_high: .skip 4096
pvh_pd:        .skip 4 * 4096
boot_stack:    .skip 16384
boot_stack_top:

    /* XEN_ELFNOTE_PHYS32_ENTRY (18): name "Xen", 4-byte physical entry address */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .balign 4
    .long pvh_start32

    .section .note.GNU-stack, "", @progbits

/*
 * Entry of harness test guests (docs/kvm-backend.md): the harness starts every
 * vCPU here in 64-bit mode, paging on, at CPL 0, with
 *   rdi = vCPU id, rsi = gpa of this vCPU's ucall slot, rdx = its gva,
 *   rsp = top of a per-vCPU stack.
 * .bss is not cleared here (another vCPU may already be running): the loader
 * zero-fills p_memsz beyond p_filesz as ELF requires.
 */
    .section .text.start, "ax"
    .code64
    .globl _start
_start:
    cli
    cld
    andq $-16, %rsp
    pushq %rdi               /* vCPU id */
    pushq %rdx               /* ucall slot gva */
    call runtime_init_cpu    /* (vcpu_id, ucall_gpa, ucall_gva) */
    movq (%rsp), %rsi
    movq 8(%rsp), %rdi
    call guest_main          /* (vcpu_id, ucall_slot) */
    call ucall_done          /* returning from guest_main is GUEST_DONE */
1:  cli
    hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits

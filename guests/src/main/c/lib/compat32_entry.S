/*
 * compat_call(frame): one hypercall in compatibility mode (compat32.h).
 *
 * 64-bit mode, high mapping: save the callee-saved registers and rsp (the upper
 * halves of registers do not survive a trip through compatibility mode), switch
 * to the frame's low stack, far-return into compat_body through selector 0x18
 * (32-bit code) at its low (identity-mapped) address. compat_body makes the call
 * with the 32-bit convention and far-returns through selector 0x08 (64-bit code)
 * to back64 at its low address, which jumps to the high mapping and restores.
 */
#define F_ENTRY  0
#define F_ARG1   4
#define F_ARG2   8
#define F_ARG3   12
#define F_ARG4   16
#define F_ARG5   20
#define F_RESULT 24
#define F_BACK   28
#define F_STACK  32
#define F_FLAGS  36   /* bit 0: sti just before the call */

#define SEL_CODE64 0x08
#define SEL_CODE32 0x18

/* reg = low (identity-mapped) address of the image address in reg; clobbers rcx */
.macro to_low reg
    movabsq $__kernel_va_base, %rcx
    subq %rcx, \reg
    movabsq $__kernel_pa_base, %rcx
    addq %rcx, \reg
.endm

    .text
    .code64
    .globl compat_call
compat_call:                       /* edi = low address of the frame */
    movl %edi, %edi                /* a uint32_t argument: clear the upper half */
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rdi
    movq %rsp, compat_saved_rsp(%rip)
    movl %edi, %ebp                /* the frame, kept in ebp through the 32-bit code */
    leaq back64(%rip), %rdx
    to_low %rdx
    movl %edx, F_BACK(%rbp)
    leaq compat_body(%rip), %rax
    to_low %rax
    movl F_STACK(%rbp), %esp       /* the low stack (zero-extended into rsp) */
    pushq $SEL_CODE32
    pushq %rax
    lretq

    .code32
compat_body:
    pushl %ebp
    movl F_ARG1(%ebp), %ebx
    movl F_ARG2(%ebp), %ecx
    movl F_ARG3(%ebp), %edx
    movl F_ARG4(%ebp), %esi
    movl F_ARG5(%ebp), %edi
    movl F_ENTRY(%ebp), %eax
    testl $1, F_FLAGS(%ebp)
    jz 1f
    sti                            /* interrupts from here: taken in compatibility mode */
1:  call *%eax                     /* the hypercall page entry: eax = result */
    popl %ebp
    movl %eax, F_RESULT(%ebp)
    pushl $SEL_CODE64
    pushl F_BACK(%ebp)
    lretl

    .code64
back64:                            /* 64-bit mode again, still at the low address */
    movabsq $compat_return, %rax
    jmpq *%rax
compat_return:
    movq compat_saved_rsp(%rip), %rsp
    popq %rdi
    movl F_RESULT(%rdi), %eax
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

    .bss
    .balign 8
compat_saved_rsp:
    .quad 0

    .section .note.GNU-stack, "", @progbits

/*
 * 32-bit half of test-pvh-hypercall: runs from pvh32.S before long mode, paging
 * off (linear = physical). Must take no exception and must preserve esi.
 */
#define KVA 0xffffffff80000000

    .section .boot.text, "ax"
    .code32
    .globl boot32_hook
boot32_hook:
    pushl %ebx
    pushl %esi
    pushl %edi
    pushl %ebp

    call xen_hypercall_init32           /* pvh32.S: writes the hypercall MSR */
    testl %eax, %eax
    jz 3f
    movl $1, boot32_status - KVA        /* no Xen CPUID leaves */
    jmp 9f
3:
    movl $0x11111111, %ebx
    movl $0x22222222, %ecx
    movl $0x33333333, %edx
    movl $0x44444444, %esi
    movl $0x55555555, %edi
    movl $0x66666666, %ebp
    movl $(hypercall_page - KVA + 48 * 32), %eax
    call *%eax
    movl %eax, boot32_result48 - KVA

    movl $(hypercall_page - KVA + 47 * 32), %eax
    call *%eax
    movl %eax, boot32_result47 - KVA
    movl $0, boot32_status - KVA

9:  popl %ebp
    popl %edi
    popl %esi
    popl %ebx
    ret

    .data
    .globl boot32_status, boot32_result48, boot32_result47
    .balign 4
boot32_status:   .long 2
boot32_result48: .long 0
boot32_result47: .long 0

    .section .note.GNU-stack, "", @progbits

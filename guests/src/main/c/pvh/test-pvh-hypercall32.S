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

    /* find "XenVMMXenVMM" at 0x40000000 + k * 0x100 */
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
    movl $1, boot32_status - KVA
    jmp 9f

3:  leal 2(%esi), %eax                  /* base + 2: EBX = hypercall MSR */
    xorl %ecx, %ecx
    cpuid
    movl %ebx, %ecx
    movl $(hypercall_page - KVA), %eax   /* page gpa | index 0 */
    xorl %edx, %edx
    wrmsr

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

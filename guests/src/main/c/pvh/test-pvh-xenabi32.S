/*
 * 32-bit half of test-pvh-xenabi: runs from pvh32.S in 32-bit protected mode, paging
 * off (linear = physical), before long mode. Must take no exception (no IDT yet; and
 * this host cannot return from one in 32-bit mode) and must preserve esi.
 *
 * With the 32-bit hypercall ABI (eax = entry, ebx ecx edx esi edi = arguments) it
 *   - finds the Xen CPUID leaves and writes the hypercall MSR,
 *   - maps shared_info at xenabi_shinfo (XENMEM_add_to_physmap, 16-byte 32-bit struct),
 *   - fills 96 bytes around its runstate area with 0xa5 and registers the area 46 bytes
 *     before a page boundary (the 44-byte record fits the page, a 48-byte one would not),
 *   - binds an IPI port and sends on it (no upcall vector yet: the port just pends).
 * Results, one word each, for kernel_main: xenabi32_status (0 ran, 1 no Xen leaves)
 * and the return values in xenabi32_results[0..4] (version, physmap, runstate, bind,
 * send); the port in xenabi32_port.
 */
#define KVA 0xffffffff80000000
#define PHYS(sym) (sym - KVA)
#define HYPERCALL(nr) (PHYS(hypercall_page) + (nr) * 32)

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
    movl $1, PHYS(xenabi32_status)      /* no Xen CPUID leaves */
    jmp 9f
3:
    /* xen_version(XENVER_version, NULL) */
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    movl $HYPERCALL(17), %eax
    call *%eax
    movl %eax, PHYS(xenabi32_results)

    /* memory_op(XENMEM_add_to_physmap, &xatp): gpfn of xenabi_shinfo */
    movl $PHYS(xenabi_shinfo), %eax
    shrl $12, %eax
    movl %eax, PHYS(xatp32) + 12
    movl $7, %ebx
    movl $PHYS(xatp32), %ecx
    movl $HYPERCALL(12), %eax
    call *%eax
    movl %eax, PHYS(xenabi32_results) + 4

    /* sentinel around the runstate area, then vcpu_op(register_runstate_memory_area, 0, &area) */
    movl $(PHYS(xenabi_area_pages) + 4096 - 46 - 16), %edi
    movl $96, %ecx
    movb $0xa5, %al
    rep stosb
    movl $(PHYS(xenabi_area_pages) + 4096 - 46), PHYS(runstate32)
    movl $5, %ebx
    xorl %ecx, %ecx
    movl $PHYS(runstate32), %edx
    movl $HYPERCALL(24), %eax
    call *%eax
    movl %eax, PHYS(xenabi32_results) + 8

    /* event_channel_op(EVTCHNOP_bind_ipi, {vcpu 0}); then EVTCHNOP_send on the port */
    movl $7, %ebx
    movl $PHYS(bind32), %ecx
    movl $HYPERCALL(32), %eax
    call *%eax
    movl %eax, PHYS(xenabi32_results) + 12
    movl PHYS(bind32) + 4, %eax
    movl %eax, PHYS(xenabi32_port)
    movl %eax, PHYS(send32)
    movl $4, %ebx
    movl $PHYS(send32), %ecx
    movl $HYPERCALL(32), %eax
    call *%eax
    movl %eax, PHYS(xenabi32_results) + 16

    movl $0, PHYS(xenabi32_status)
9:  popl %ebp
    popl %edi
    popl %esi
    popl %ebx
    ret

    .data
    .balign 8
xatp32:                     /* xen_add_to_physmap, 32-bit layout */
    .word 0x7ff0            /* domid: DOMID_SELF */
    .word 0                 /* size */
    .long 0                 /* space: XENMAPSPACE_shared_info */
    .long 0                 /* idx */
    .long 0                 /* gpfn, filled in */
runstate32:
    .long 0, 0              /* the guest handle: a 32-bit address, zero-extended */
bind32:
    .long 0, 0              /* vcpu, port */
send32:
    .long 0                 /* port */

    .globl xenabi32_status, xenabi32_results, xenabi32_port
    .balign 4
xenabi32_status:  .long 2
xenabi32_results: .long 0, 0, 0, 0, 0
xenabi32_port:    .long 0

    .section .note.GNU-stack, "", @progbits

/*
 * test-upcall: an interrupt sent from another host thread wakes a halted vCPU.
 *
 * The guest installs a handler for UPCALL_VECTOR (0xf3), enables its local APIC
 * in x2APIC mode when CPUID.1:ECX.x2APIC says there is one (in-kernel irqchip;
 * the handler then writes the x2APIC EOI register, as Linux's Xen vector
 * callback does), and halts with interrupts enabled between upcalls.
 *
 * Host expectations:
 *   SYNC(1, vector, count wanted N = 5, x2apic 1|0)   then, from a thread other than
 *                                                   the vCPU thread, deliver one
 *                                                   interrupt at `vector` (KVM_SIGNAL_MSI
 *                                                   to APIC id = vCPU id, or KVM_INTERRUPT
 *                                                   with a userspace irqchip)
 *   SYNC(2, upcalls seen so far, halts so far)      after each upcall: deliver the next
 *   DONE                                            after N upcalls
 * The guest asserts that every upcall arrived at `vector` with interrupts enabled in
 * the interrupted context (an upcall is only taken inside `sti; hlt`).
 */
#include "guest.h"

#define UPCALL_VECTOR 0xf3
#define UPCALLS_WANTED 5

static volatile uint32_t upcalls;
static volatile uint64_t bad_vector;
static int apic;

static void upcall_handler(struct trap_frame *f)
{
    if (f->vector != UPCALL_VECTOR)
        bad_vector = f->vector;
    upcalls++;
    if (apic)
        apic_eoi();
}

void guest_main(uint32_t vcpu_id, struct ucall *slot)
{
    (void)vcpu_id; (void)slot;
    idt_set_handler(UPCALL_VECTOR, upcall_handler);
    apic = x2apic_available();
    if (apic)
        x2apic_enable();

    GUEST_SYNC(1, UPCALL_VECTOR, UPCALLS_WANTED, apic);
    uint32_t seen = 0;
    uint64_t halts = 0;
    while (seen < UPCALLS_WANTED) {
        cli();
        while (upcalls == seen) {
            halts++;
            halt();  /* sti; hlt: the interrupt shadow of sti covers the hlt */
            cli();
        }
        seen = upcalls;
        GUEST_ASSERT_EQ(bad_vector, 0);
        GUEST_SYNC(2, seen, halts);
    }
    GUEST_DONE();
}

package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import org.junit.jupiter.api.Test;

/** The rules of {@link SyscallCompletion}, with the values of Debian's Linux 6.12 at /init's first system call. */
class SyscallCompletionTest {
    /** Linux: STAR = __USER32_CS (0x23) << 48 | __KERNEL_CS (0x10) << 32; SFMASK masks IF, TF, DF, RF, AC, ... */
    static final SyscallCompletion.SyscallMsrs LINUX = new SyscallCompletion.SyscallMsrs(0x0023_0010L << 32,
            0xffffffff81e00080L, 0x257fd5);
    /** What the host's half syscall pushed (from the panic dump of a boot without jxen's completion). */
    static final SyscallCompletion.Frame HALF_SYSCALL = new SyscallCompletion.Frame(0x15, 0xffffffff81e00080L, 0x33,
            0x10002, 0x7ffe24d2e9d8L, 0x2b);
    static final long R11 = 0x246;

    @Test
    void theHostsHalfSyscallBecomesTheSyscall() {
        SyscallCompletion.Decision d = SyscallCompletion.check(HALF_SYSCALL, LINUX.lstar(), 0x10, R11, LINUX);
        SyscallCompletion.Entry e = assertInstanceOf(SyscallCompletion.Complete.class, d).entry();
        assertEquals(LINUX.lstar(), e.rip());
        assertEquals(0x7ffe24d2e9d8L, e.rsp(), "the user's RSP: syscall does not switch stacks");
        assertEquals(0x2, e.rflags(), "0x246 masked by SFMASK, RF clear");
        assertEquals(0x18, e.ss(), "STAR[47:32] + 8");
        assertEquals(0x10, LINUX.kernelCs());
        assertEquals(0x33, LINUX.userCs64());
    }

    @Test
    void anyOtherPageFaultIsTheGuests() {
        long lstar = LINUX.lstar();
        decline(new SyscallCompletion.Frame(0x14, lstar, 0x33, 0x10002, 0x7ffe0000L, 0x2b), lstar, 0x10, R11,
                "not-present fetch");
        decline(new SyscallCompletion.Frame(0x15, 0x401000, 0x33, 0x10002, 0x7ffe0000L, 0x2b), 0x401000, 0x10, R11,
                "a fetch fault elsewhere");
        decline(HALF_SYSCALL, 0x401000, 0x10, R11, "CR2 is not LSTAR");
        decline(new SyscallCompletion.Frame(0x15, lstar, 0x23, 0x10002, 0x7ffe0000L, 0x2b), lstar, 0x10, R11,
                "from 32-bit user code (that syscall would go to CSTAR)");
        decline(new SyscallCompletion.Frame(0x15, lstar, 0x10, 0x10002, 0x7ffe0000L, 0x18), lstar, 0x10, R11,
                "from the kernel");
        decline(HALF_SYSCALL, lstar, 0x08, R11, "a gate whose CS is not STAR's");
        decline(new SyscallCompletion.Frame(0x15, lstar, 0x33, 0x10246, 0x7ffe0000L, 0x2b), lstar, 0x10, R11,
                "IF set: a user jump to LSTAR, not a syscall");
        decline(HALF_SYSCALL, lstar, 0x10, 0x80246, "RFLAGS is not R11 masked (VIF, which SFMASK keeps, is missing)");
    }

    private static void decline(SyscallCompletion.Frame f, long cr2, int cs, long r11, String why) {
        assertInstanceOf(SyscallCompletion.Decline.class, SyscallCompletion.check(f, cr2, cs, r11, LINUX), why);
    }

    @Test
    void gateTargetsIncludeKernelHalfAddresses() {
        long target = 0xffffffff81e01230L;
        long low = (target & 0xffff) | (0x10L << 16) | (0x8eL << 40) | ((target >>> 16 & 0xffff) << 48);
        long high = target >>> 32;
        assertEquals(target, SyscallCompletion.gateTarget(low, high), "a kernel address is negative as a long");
        assertEquals(target, SyscallCompletion.gateTarget(low & ~(0xfL << 40) | (0x8fL << 40), high), "trap gate");
        assertEquals(SyscallCompletion.NO_ADDRESS, SyscallCompletion.gateTarget(low & ~(1L << 47), high), "not present");
        assertEquals(SyscallCompletion.NO_ADDRESS, SyscallCompletion.gateTarget(low & ~(0xfL << 40) | (0x85L << 40),
                high), "a task gate");
        assertEquals(SyscallCompletion.NO_ADDRESS, SyscallCompletion.gateTarget(low, 0x00008000), "not canonical");
        assertEquals(0x40e0, SyscallCompletion.gateTarget(0x40e0 | (0x10L << 16) | (0x8eL << 40), 0));
    }
}

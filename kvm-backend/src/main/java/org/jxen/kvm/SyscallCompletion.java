package org.jxen.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The rules by which jxen finishes a guest's user-mode {@code syscall} that this host's KVM left
 * half done; {@link SyscallIntercept} applies them to a vCPU.
 *
 * <p>What the host does (measured by {@link UserSyscallProbe}; docs/kvm-backend.md): a user-mode
 * {@code syscall} sets RCX (the RIP after the instruction), R11 (RFLAGS), RFLAGS (masked with
 * SFMASK) and RIP (= LSTAR), but leaves the vCPU at CPL 3. Fetching the kernel's entry then faults:
 * {@code #PF} with error code 0x15 (present, user mode, instruction fetch) and CR2 = LSTAR, which KVM
 * delivers through the guest's IDT at CPL 0, pushing SS, RSP, RFLAGS, CS, RIP and the error code on
 * the kernel stack. At the first instruction of the guest's {@code #PF} handler everything a real
 * {@code syscall} would have produced is known, and only four things differ from it: RIP (the
 * handler instead of LSTAR), RSP (the kernel stack instead of the user's, which is in the frame),
 * RFLAGS (interrupt delivery may have changed it; the frame has the value after the mask) and SS
 * (null after delivery from user mode; {@code syscall} loads STAR[47:32] + 8). CS is already the
 * kernel's when the gate's selector is STAR[47:32], as in every OS that uses {@code syscall}.
 *
 * <p>Strict: the frame must be exactly what the host's half {@code syscall} leaves (see
 * {@link #check}); anything else is a page fault the guest must see, untouched. A user program that
 * jumps to LSTAR itself does not pass: at CPL 3 with IOPL 0 it runs with IF set, while after a
 * {@code syscall} the frame has IF clear whenever SFMASK masks IF (it does in Linux); and the two
 * bytes before RCX must be the {@code syscall} instruction ({@link SyscallIntercept} checks them).
 * Even a user that faked all of it gets only what executing {@code syscall} at RCX - 2 gives.
 *
 * <p>Stateless.
 */
public final class SyscallCompletion {
    public static final int MSR_STAR = 0xc0000081;
    public static final int MSR_LSTAR = 0xc0000082;
    public static final int MSR_SFMASK = 0xc0000084;
    /** The page-fault vector. */
    public static final int PF = 14;
    /** {@code #PF} error code of a user-mode instruction fetch from a present supervisor page. */
    public static final long FETCH_FAULT = 0x15;
    /** Bytes of the frame the CPU pushes for an exception with an error code in 64-bit mode. */
    public static final int FRAME_BYTES = 48;
    /** {@code syscall} ({@code 0F 05}). */
    public static final int SYSCALL_OPCODE = 0x050f;
    /**
     * "No address": a gate without a valid target. Not canonical, so no code is there (kernel
     * addresses are negative as a {@code long}: -1 would not do).
     */
    public static final long NO_ADDRESS = Long.MIN_VALUE;
    static final long RFLAGS_RF = 1L << 16;
    static final long RFLAGS_FIXED = 2;

    private SyscallCompletion() {
    }

    /** The exception frame on the guest's kernel stack, lowest address first. */
    public record Frame(long errorCode, long rip, long cs, long rflags, long rsp, long ss) {
        /** Reads the six quadwords of {@code m} (at least {@link #FRAME_BYTES} bytes). */
        public static Frame read(MemorySegment m) {
            return new Frame(q(m, 0), q(m, 1), q(m, 2), q(m, 3), q(m, 4), q(m, 5));
        }

        private static long q(MemorySegment m, int i) {
            return m.get(ValueLayout.JAVA_LONG_UNALIGNED, 8L * i);
        }
    }

    /** STAR, LSTAR and SFMASK of the vCPU. */
    public record SyscallMsrs(long star, long lstar, long sfmask) {
        /** STAR[47:32] with RPL 0: the CS {@code syscall} loads. */
        public int kernelCs() {
            return (int) (star >>> 32) & 0xfffc;
        }

        /** STAR[63:48] + 16 with RPL 3: the 64-bit user CS {@code sysretq} loads. */
        public int userCs64() {
            return ((int) (star >>> 48) & 0xffff) + 16 | 3;
        }
    }

    /** What the vCPU gets instead of the handler's entry: exactly what {@code syscall} gives. */
    public record Entry(long rip, long rsp, long rflags, int ss) {
    }

    /** The decision: {@link Complete} or {@link Decline}, with the reason. */
    public sealed interface Decision permits Complete, Decline {
    }

    /** The fault is the host's half {@code syscall}: enter the kernel with {@code entry}. */
    public record Complete(Entry entry) implements Decision {
    }

    /** A page fault the guest must see as it is. */
    public record Decline(String reason) implements Decision {
    }

    /**
     * The target of a 64-bit IDT gate ({@code low}, {@code high}: its two quadwords), or {@link #NO_ADDRESS} when it
     * is not a present interrupt or trap gate or its target is not canonical.
     */
    public static long gateTarget(long low, long high) {
        int type = (int) (low >>> 40) & 0xf;
        boolean present = (low & (1L << 47)) != 0;
        if (!present || (type != 0xe && type != 0xf)) {
            return NO_ADDRESS;
        }
        long target = (low & 0xffff) | ((low >>> 32) & 0xffff0000L) | (high << 32);
        return (target << 16 >> 16) == target ? target : NO_ADDRESS;
    }

    /**
     * Decides whether the {@code #PF} the vCPU is about to handle (it is at the handler's first
     * instruction, at CPL 0, with {@code frame} at RSP) is the host's half {@code syscall}.
     * {@code cr2}, {@code cs} (the current selector), {@code r11} and {@code msrs} are the vCPU's.
     */
    public static Decision check(Frame frame, long cr2, int cs, long r11, SyscallMsrs msrs) {
        if (frame.errorCode() != FETCH_FAULT) {
            return new Decline("error code 0x" + Long.toHexString(frame.errorCode()));
        }
        if (frame.rip() != msrs.lstar() || cr2 != msrs.lstar()) {
            return new Decline("fault at 0x" + Long.toHexString(frame.rip()) + " (cr2 0x" + Long.toHexString(cr2)
                    + "), not LSTAR 0x" + Long.toHexString(msrs.lstar()));
        }
        if (frame.cs() != msrs.userCs64()) {
            return new Decline("from cs 0x" + Long.toHexString(frame.cs()) + ", not the 64-bit user cs 0x"
                    + Integer.toHexString(msrs.userCs64()));
        }
        if (cs != msrs.kernelCs()) {
            return new Decline("handler cs 0x" + Integer.toHexString(cs) + " is not STAR's kernel cs 0x"
                    + Integer.toHexString(msrs.kernelCs()));
        }
        long afterMask = (r11 & ~msrs.sfmask() | RFLAGS_FIXED) & ~RFLAGS_RF;
        if ((frame.rflags() & ~RFLAGS_RF) != afterMask) {
            return new Decline("rflags 0x" + Long.toHexString(frame.rflags()) + " is not r11 0x" + Long.toHexString(r11)
                    + " masked with sfmask 0x" + Long.toHexString(msrs.sfmask()));
        }
        return new Complete(new Entry(msrs.lstar(), frame.rsp(), afterMask, msrs.kernelCs() + 8));
    }
}

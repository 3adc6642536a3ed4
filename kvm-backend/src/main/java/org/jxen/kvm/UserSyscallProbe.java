package org.jxen.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import org.jxen.gpc.HostMemory;

/**
 * Asks this host's KVM, with a throw-away VM, whether a guest's user mode can enter the guest's kernel
 * with {@code syscall}, as every 64-bit Linux process does for every system call; and whether jxen's
 * {@link SyscallIntercept} makes it work where the host cannot.
 *
 * <p>Why: on the project's hosts KVM is PVM, which runs a guest's user mode natively and its kernel
 * through the instruction emulator (docs/kvm-backend.md). There a user-mode {@code syscall} moves RIP
 * to the guest's {@code LSTAR} but leaves the vCPU in user mode, so the guest takes a page fault on
 * its own system-call entry (error code 0x15: a user-mode instruction fetch from a supervisor page).
 * Without help Linux kills the process: its first system call ends its init.
 *
 * <p>How: a 2 MiB VM in 64-bit mode. Kernel code at CPL 0 sets STAR (kernel CS 0x10, user CS 0x33 as
 * Linux has them), LSTAR and SFMASK, and {@code iretq}s to user code (CPL 3) at RDI. The user code
 * makes {@link #ROUND_TRIPS} system calls ({@code syscall} in a loop, EAX = 0x77) and ends with
 * {@code ud2}. The system-call entry counts entries in RBX, reports the first one on port 0x10, and
 * returns with {@code sysretq}. Every exception vector's handler reports its vector on port 0x11; the
 * IDT has them at a kernel-half address ({@link #HANDLERS_HIGH}), as an OS kernel would.
 * {@link #run(Kvm)} stops at the first report: what the host does by itself (one or two KVM entries;
 * a few milliseconds). {@link #runCompleted(Kvm, boolean)} runs the whole program with
 * {@link SyscallIntercept} on the vCPU (or, with {@code userFault}, user code that reads a
 * supervisor page, a page fault that must reach the guest untouched) and returns what it saw.
 *
 * <p>Threads: {@link #run(Kvm)} and {@link #runCompleted} from any thread; each makes its own VM.
 */
public final class UserSyscallProbe {
    /** What a user-mode {@code syscall} did. */
    public enum Outcome {
        /** It reached the kernel's entry at CPL 0. */
        ENTERS_KERNEL,
        /** It raised an exception instead (see {@link Result#vector()}). */
        FAULTS,
        /** Anything else: another exit, an ioctl error. */
        UNKNOWN
    }

    /** The outcome, the exception vector when it faulted (else -1), and a one-line description. */
    public record Result(Outcome outcome, int vector, String detail) {
        public boolean entersKernel() {
            return outcome == Outcome.ENTERS_KERNEL;
        }
    }

    static final long PML4 = 0x1000;
    static final long PDPT = 0x2000;
    static final long PD = 0x3000;
    static final long PT = 0x5000;
    /** The page-directory-pointer table of the top 512 GiB, which maps the handlers' high alias. */
    static final long PDPT_HIGH = 0x6000;
    /**
     * Where the IDT's gates point: the handlers' page seen at a kernel-half address (the first 2 MiB
     * are also mapped at {@code 0xffffffff80000000}), as an OS kernel has them.
     */
    static final long HANDLERS_HIGH = 0xffffffff80000000L + 0x4000;
    static final long GDT = 0x500;
    static final long IDT = 0x600;
    static final long TSS = 0x900;
    static final long HANDLERS = 0x4000;
    static final long KERNEL_STACK = 0x8000;
    static final long KERNEL_CODE = 0x10000;
    static final long SYSCALL_ENTRY = 0x10100;
    static final long USER_CODE = 0x20000;
    static final long USER_STACK_PAGE = 0x30000;
    static final long USER_FAULT_CODE = USER_CODE + 0x100;
    /** How many system calls the user code makes. */
    public static final int ROUND_TRIPS = 100;
    static final int ENTRY_PORT = 0x10;
    static final int FAULT_PORT = 0x11;
    private static final long MEMORY = 2L << 20;
    private static final int EXCEPTIONS = 32;

    /**
     * Kernel: STAR = 0x0023_0010 << 32; LSTAR = {@link #SYSCALL_ENTRY}; SFMASK = 0x47700; then
     * {@code iretq} to SS 0x2b, RSP 0x30800, RFLAGS 0x202, CS 0x33, RIP = RDI.
     */
    static final byte[] KERNEL = HexFormat.of().parseHex(
            "b9810000c0" + "31c0" + "ba10002300" + "0f30"
            + "b9820000c0" + "b800010100" + "31d2" + "0f30"
            + "b9840000c0" + "b800770400" + "31d2" + "0f30"
            + "6a2b" + "6800080300" + "6802020000" + "6a33" + "57" + "48cf");
    /** The system-call entry: {@code inc %rbx; cmp $1,%rbx; jne 1f; out %al,$0x10; 1: sysretq}. */
    static final byte[] ENTRY = HexFormat.of().parseHex("48ffc3" + "4883fb01" + "7502" + "e610" + "480f07");
    /**
     * User: {@code xor %ebx,%ebx; mov $ROUND_TRIPS,%r12d; mov $0x77,%eax; 1: syscall; dec %r12;
     * jnz 1b; ud2}.
     */
    static final byte[] USER = HexFormat.of().parseHex(
            "31db" + "41bc" + String.format("%02x", ROUND_TRIPS) + "000000" + "b877000000" + "0f05" + "49ffcc" + "75f9"
            + "0f0b");
    /** Offset of the {@code syscall} in {@link #USER}. */
    static final int USER_SYSCALL_OFFSET = 13;
    /** User code that faults: {@code mov 0x10000,%rax; ud2} (a read of a supervisor page). */
    static final byte[] USER_FAULT = HexFormat.of().parseHex("488b042500000100" + "0f0b");

    private UserSyscallProbe() {
    }

    /** Runs the probe on {@code kvm}; see the class comment. */
    public static Result run(Kvm kvm) {
        try (KvmVm vm = kvm.createVm(); HostMemory ram = HostMemory.anonymous("syscall-probe", MEMORY)) {
            ProbeVms.prepare(vm, ram);
            try (KvmVcpu cpu = vm.createVcpu(0)) {
                cpu.setCpuid(kvm.supportedCpuid());
                layout(ram.segment());
                enter(cpu, USER_CODE);
                for (int i = 0; i < 4; i++) {
                    int exit = cpu.run();
                    if (exit == KvmVcpu.RUN_INTERRUPTED) {
                        continue;
                    }
                    KvmRun run = cpu.kvmRun();
                    if (exit == KvmExit.KVM_EXIT_IO && run.ioPort() == ENTRY_PORT) {
                        int cpl = cpl(cpu);
                        return cpl == 0 ? new Result(Outcome.ENTERS_KERNEL, -1, "syscall reached LSTAR at CPL 0")
                                : new Result(Outcome.UNKNOWN, -1, "syscall reached LSTAR at CPL " + cpl);
                    }
                    if (exit == KvmExit.KVM_EXIT_IO && run.ioPort() == FAULT_PORT) {
                        int vector = Byte.toUnsignedInt(run.ioData().get(ValueLayout.JAVA_BYTE, 0));
                        return new Result(Outcome.FAULTS, vector, "syscall from CPL 3 raised exception vector " + vector
                                + " instead of entering the kernel");
                    }
                    return new Result(Outcome.UNKNOWN, -1, "unexpected " + KvmExit.name(exit));
                }
                return new Result(Outcome.UNKNOWN, -1, "no exit after four KVM_RUNs");
            } catch (RuntimeException e) {
                return new Result(Outcome.UNKNOWN, -1, e.toString());
            } finally {
                vm.setUserMemoryRegion(0, 0, 0, 0, ram.address());
            }
        }
    }

    /** The registers of the system-call entry's first report (port 0x10), from the sync registers. */
    public record KernelEntry(int cpl, int cs, int ss, long rip, long rsp, long rflags, long rax, long rcx, long r11) {
    }

    /**
     * What {@link #runCompleted} saw. {@code entry}: the first arrival at the system-call entry (null
     * if none). {@code vector}: the exception that ended the program (6, {@code #UD}, after the last
     * {@code sysretq}; 14 for the page fault of the {@code userFault} code), with {@code frame} the
     * exception frame its handler got (the error code is 0 for a vector that has none).
     * {@code kernelEntries}: RBX, the number of times the entry ran. {@code completed} and
     * {@code steppedOver}: {@link SyscallIntercept}'s counts. {@code detail}: what went wrong, if anything.
     */
    public record Completed(KernelEntry entry, int vector, SyscallCompletion.Frame frame, long kernelEntries,
            long completed, long steppedOver, long exits, long nanos, String detail) {
    }

    /**
     * Runs the probe's program with {@link SyscallIntercept} on the vCPU, as a jxen vCPU runs a guest
     * on this host; with {@code userFault} the user code reads a supervisor page instead.
     */
    public static Completed runCompleted(Kvm kvm, boolean userFault) {
        try (KvmVm vm = kvm.createVm(); HostMemory ram = HostMemory.anonymous("syscall-probe", MEMORY)) {
            ProbeVms.prepare(vm, ram);
            try (KvmVcpu cpu = vm.createVcpu(0)) {
                cpu.setCpuid(kvm.supportedCpuid());
                MemorySegment m = ram.segment();
                layout(m);
                enter(cpu, userFault ? USER_FAULT_CODE : USER_CODE);
                KvmRun run = cpu.kvmRun();
                run.setValidRegs(KvmRun.SYNC_X86_REGS | KvmRun.SYNC_X86_SREGS);
                SyscallIntercept intercept = new SyscallIntercept(cpu, (gpa, dst) -> {
                    if (gpa < 0 || gpa > MEMORY - dst.byteSize()) {
                        return false;
                    }
                    MemorySegment.copy(m, gpa, dst, 0, dst.byteSize());
                    return true;
                });
                KernelEntry entry = null;
                long exits = 0;
                long t0 = System.nanoTime();
                while (exits < 20L * ROUND_TRIPS) {
                    intercept.track();
                    int exit = cpu.run();
                    if (exit == KvmVcpu.RUN_INTERRUPTED) {
                        continue;
                    }
                    exits++;
                    if (exit == KvmExit.KVM_EXIT_DEBUG) {
                        if (intercept.onDebugExit() == SyscallIntercept.DebugExit.FOREIGN) {
                            return failed(entry, intercept, exits, t0, "a debug exit not of the intercept at 0x"
                                    + Long.toHexString(run.debugPc()));
                        }
                        continue;
                    }
                    if (exit == KvmExit.KVM_EXIT_IO && run.ioPort() == ENTRY_PORT && entry == null) {
                        MemorySegment s = run.sregs();
                        entry = new KernelEntry(Sregs.cpl(s), Sregs.segment(s, Sregs.CS).selector(),
                                Sregs.segment(s, Sregs.SS).selector(), run.reg(KvmRun.Regs.RIP),
                                run.reg(KvmRun.Regs.RSP), run.reg(KvmRun.Regs.RFLAGS), run.reg(KvmRun.Regs.RAX),
                                run.reg(KvmRun.Regs.RCX), run.reg(KvmRun.Regs.R11));
                        continue;
                    }
                    if (exit == KvmExit.KVM_EXIT_IO && run.ioPort() == FAULT_PORT) {
                        long nanos = System.nanoTime() - t0;
                        int vector = Byte.toUnsignedInt(run.ioData().get(ValueLayout.JAVA_BYTE, 0));
                        long rsp = run.reg(KvmRun.Regs.RSP);
                        boolean hasErrorCode = vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
                        SyscallCompletion.Frame f = null;
                        if (rsp >= 0 && rsp <= MEMORY - SyscallCompletion.FRAME_BYTES) {
                            f = SyscallCompletion.Frame.read(m.asSlice(rsp, SyscallCompletion.FRAME_BYTES));
                            if (!hasErrorCode) {
                                f = new SyscallCompletion.Frame(0, f.errorCode(), f.rip(), f.cs(), f.rflags(), f.rsp());
                            }
                        }
                        return new Completed(entry, vector, f, run.reg(KvmRun.Regs.RBX), intercept.completed(),
                                intercept.steppedOver(), exits, nanos, "");
                    }
                    return failed(entry, intercept, exits, t0, "unexpected " + KvmExit.name(exit) + " at rip 0x"
                            + Long.toHexString(run.reg(KvmRun.Regs.RIP)));
                }
                return failed(entry, intercept, exits, t0, "no end after " + exits + " exits");
            } finally {
                vm.setUserMemoryRegion(0, 0, 0, 0, ram.address());
            }
        }
    }

    private static Completed failed(KernelEntry entry, SyscallIntercept i, long exits, long t0, String detail) {
        return new Completed(entry, -1, null, -1, i.completed(), i.steppedOver(), exits, System.nanoTime() - t0, detail);
    }

    private static int cpl(KvmVcpu cpu) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Sregs.SIZE, 8);
            cpu.getSregs(s);
            return Sregs.cpl(s);
        }
    }

    static void layout(MemorySegment m) {
        long user = 7; // present, writable, user: tables let the leaf decide
        m.set(ValueLayout.JAVA_LONG, PML4, PDPT | user);
        m.set(ValueLayout.JAVA_LONG, PDPT, PD | user);
        m.set(ValueLayout.JAVA_LONG, PD, PT | user);
        m.set(ValueLayout.JAVA_LONG, PML4 + 8 * 511, PDPT_HIGH | 3);
        m.set(ValueLayout.JAVA_LONG, PDPT_HIGH + 8 * 510, PD | 3);
        for (long page = 0; page < 512; page++) {
            boolean isUser = page == USER_CODE >> 12 || page == USER_STACK_PAGE >> 12;
            m.set(ValueLayout.JAVA_LONG, PT + 8 * page, (page << 12) | (isUser ? 7 : 3));
        }
        long[] gdt = {0, 0, 0x00af9a000000ffffL /* 0x10 kernel code */, 0x00cf92000000ffffL /* 0x18 kernel data */,
            0x00cffa000000ffffL /* 0x20 user code, 32-bit */, 0x00cff2000000ffffL /* 0x28 user data */,
            0x00affa000000ffffL /* 0x30 user code */, 0,
            (103 & 0xffff) | ((TSS & 0xffffff) << 16) | (0x89L << 40) | (((TSS >> 24) & 0xff) << 56) /* 0x40 TSS */, 0};
        for (int i = 0; i < gdt.length; i++) {
            m.set(ValueLayout.JAVA_LONG, GDT + 8L * i, gdt[i]);
        }
        m.set(ValueLayout.JAVA_LONG_UNALIGNED, TSS + 4, KERNEL_STACK); // rsp0 (the TSS puts it at offset 4)
        for (int v = 0; v < EXCEPTIONS; v++) {
            long h = HANDLERS_HIGH + 16L * v;
            byte[] stub = {(byte) 0xb0, (byte) v, (byte) 0xe6, (byte) FAULT_PORT, (byte) 0xf4}; // mov $v,%al; out; hlt
            MemorySegment.copy(MemorySegment.ofArray(stub), 0, m, HANDLERS + 16L * v, stub.length);
            m.set(ValueLayout.JAVA_LONG, IDT + 16L * v,
                    (h & 0xffff) | (0x10L << 16) | (0x8eL << 40) | (((h >> 16) & 0xffff) << 48));
            m.set(ValueLayout.JAVA_LONG, IDT + 16L * v + 8, h >>> 32);
        }
        MemorySegment.copy(MemorySegment.ofArray(KERNEL), 0, m, KERNEL_CODE, KERNEL.length);
        MemorySegment.copy(MemorySegment.ofArray(ENTRY), 0, m, SYSCALL_ENTRY, ENTRY.length);
        MemorySegment.copy(MemorySegment.ofArray(USER), 0, m, USER_CODE, USER.length);
        MemorySegment.copy(MemorySegment.ofArray(USER_FAULT), 0, m, USER_FAULT_CODE, USER_FAULT.length);
    }

    static void enter(KvmVcpu cpu, long userEntry) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Sregs.SIZE, 8);
            cpu.getSregs(s);
            Sregs.setSegment(s, Sregs.CS, new Sregs.Segment(0, 0xffffffff, 0x10, 0xb, true, 0, false, true, true, true));
            Sregs.Segment data = new Sregs.Segment(0, 0xffffffff, 0x18, 0x3, true, 0, true, true, false, true);
            for (long seg : new long[] {Sregs.DS, Sregs.ES, Sregs.FS, Sregs.GS, Sregs.SS}) {
                Sregs.setSegment(s, seg, data);
            }
            Sregs.setSegment(s, Sregs.TR, new Sregs.Segment(TSS, 103, 0x40, 0xb, true, 0, false, false, false, false));
            Sregs.setTable(s, Sregs.GDT, GDT, 79);
            Sregs.setTable(s, Sregs.IDT, IDT, 16 * EXCEPTIONS - 1);
            Sregs.set(s, Sregs.CR3, PML4);
            Sregs.set(s, Sregs.CR0, 0x80050033L); // PG WP NE ET MP PE
            Sregs.set(s, Sregs.CR4, 0x20 | 0x200 | 0x400); // PAE OSFXSR OSXMMEXCPT
            Sregs.set(s, Sregs.EFER, 1 | Sregs.EFER_LME | Sregs.EFER_LMA | (1 << 11)); // SCE LME LMA NXE
            cpu.setSregs(s);
            MemorySegment r = a.allocate(KvmRun.Regs.SIZE, 8);
            r.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RIP, KERNEL_CODE);
            r.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RSP, KERNEL_STACK);
            r.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RFLAGS, 2);
            r.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RDI, userEntry);
            cpu.setRegs(r);
        }
    }
}

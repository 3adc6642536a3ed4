package org.jxen.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finishes, on one vCPU, the user-mode {@code syscall}s this host's KVM leaves half done
 * ({@link SyscallCompletion} has the rules and what the host does).
 *
 * <p>How jxen sees them: a hardware instruction breakpoint ({@code KVM_SET_GUEST_DEBUG}, DR0) on the
 * first instruction of the guest's {@code #PF} handler. That code runs at CPL 0, which this host
 * emulates, and KVM's emulator checks code breakpoints before each instruction: every page fault the
 * guest handles exits with {@code KVM_EXIT_DEBUG} at the handler (measured: {@code UserSyscallProbe}).
 * At that exit the frame is checked; a half {@code syscall} becomes the real one (RIP = LSTAR, the
 * user's RSP, the masked RFLAGS, SS from STAR), anything else is stepped over: the breakpoint comes
 * off, KVM single-steps the handler's first instruction, and the breakpoint goes back on (RFLAGS.RF
 * does not suppress the breakpoint on this host: measured, it fires again at once).
 *
 * <p>Where the handler is: {@link #track()}, before each entry, reads IDT gate 14 from guest memory
 * (IDTR from the sync registers; the gate's gpa from {@code KVM_TRANSLATE}, done again only when
 * IDTR's base changes: an OS maps its IDT at the same place in every address space) and moves the
 * breakpoint when the handler moved. A guest that rewrites the gate sees the breakpoint follow at its
 * next exit to jxen. No breakpoint while {@code EFER.SCE} is clear: such a guest cannot make a
 * {@code syscall}, and the demo and test guests, which never enable it, keep their debug registers
 * and take no debug exits. The guest's own debug registers have no effect while jxen's breakpoint
 * is set, and a {@code #DB} of the guest's own (single-stepping with TF) is given back to it
 * without its DR6 ({@link #onDebugExit()} says {@link DebugExit#FOREIGN}).
 *
 * <p>Untrusted input: the gate, the frame and the bytes before RCX are read from guest memory only
 * through {@code KVM_TRANSLATE} and a bounds-checked {@link PhysicalMemory}; nothing is written to
 * guest memory; registers change only when every check passed.
 *
 * <p>Threads: the vCPU's own thread only (it makes vCPU ioctls and touches the vCPU's {@code kvm_run}).
 */
public final class SyscallIntercept {
    private static final Logger LOG = LoggerFactory.getLogger(SyscallIntercept.class);
    /** Reads guest-physical memory; false when any byte is not guest RAM. */
    @FunctionalInterface
    public interface PhysicalMemory {
        boolean read(long gpa, MemorySegment dst);
    }

    /** What a {@code KVM_EXIT_DEBUG} was. */
    public enum DebugExit {
        /** A half {@code syscall}: the vCPU now enters the guest's kernel at LSTAR. */
        COMPLETED,
        /** Another page fault: the handler's first instruction is being single-stepped for the guest. */
        STEPPING,
        /** The single step over the handler's first instruction ended; the breakpoint is back. */
        STEPPED,
        /** Not jxen's: the guest's own {@code #DB}. */
        FOREIGN
    }

    static final long DR6_B0 = 1;
    static final long DR6_BS = 1L << 14;
    /** DR7: local and global enable of DR0, an instruction breakpoint (R/W0 = 0, LEN0 = 0); bit 10 reads as 1. */
    static final long DR7_EXECUTE_DR0 = 0x403;
    private static final long CR0_PG = 1L << 31;
    private static final int GATE_BYTES = 16;
    private static final long PAGE = 4096;
    private static final long NONE = SyscallCompletion.NO_ADDRESS;

    private final KvmVcpu vcpu;
    private final KvmRun run;
    private final PhysicalMemory memory;
    private final MemorySegment gate;
    private final MemorySegment frame;
    private final MemorySegment opcode;
    /** Where DR0 is set, or {@link SyscallCompletion#NO_ADDRESS} when no breakpoint is set. */
    private long armed = NONE;
    private boolean stepping;
    /** False until the first {@link #track()}, which fills the sync registers from {@code KVM_GET_SREGS}. */
    private boolean sregsKnown;
    private long idtBase = NONE;
    private long gateGpa = -1;
    private long completed;
    private long steppedOver;
    private String lastDecline = "";
    private int moves;
    private long lastLogged = NONE;
    private long foreign;

    public SyscallIntercept(KvmVcpu vcpu, PhysicalMemory memory) {
        this.vcpu = vcpu;
        this.run = vcpu.kvmRun();
        this.memory = memory;
        MemorySegment buffers = Arena.ofAuto().allocate(GATE_BYTES + SyscallCompletion.FRAME_BYTES + 8, 8);
        this.gate = buffers.asSlice(0, GATE_BYTES);
        this.frame = buffers.asSlice(GATE_BYTES, SyscallCompletion.FRAME_BYTES);
        this.opcode = buffers.asSlice(GATE_BYTES + SyscallCompletion.FRAME_BYTES, 2);
    }

    /** How many half {@code syscall}s this vCPU completed. */
    public long completed() {
        return completed;
    }

    /** How many other page faults the breakpoint stopped at and the vCPU stepped over. */
    public long steppedOver() {
        return steppedOver;
    }

    /** Where the breakpoint is (the guest's {@code #PF} handler), or {@link SyscallCompletion#NO_ADDRESS}. */
    public long armedAt() {
        return armed;
    }

    /** Why the last page fault at the breakpoint was not a half {@code syscall} ("" before any). */
    public String lastDecline() {
        return lastDecline;
    }

    /**
     * Before each {@code KVM_RUN}: puts the breakpoint on the guest's current {@code #PF} handler, or
     * takes it off when the guest has none (not in 64-bit paged mode, no valid gate 14). Reads the
     * sync registers of the last exit ({@code KVM_SYNC_X86_SREGS} must be valid); before the first
     * exit it fills them with {@code KVM_GET_SREGS}.
     */
    public void track() {
        if (stepping) {
            return;
        }
        if (!sregsKnown) {
            vcpu.getSregs(run.sregs());
            sregsKnown = true;
        }
        long handler = pageFaultHandler();
        if (handler != armed) {
            arm(handler);
        }
    }

    /** Handles a {@code KVM_EXIT_DEBUG}; on {@link DebugExit#FOREIGN} the caller gives the guest its {@code #DB}. */
    public DebugExit onDebugExit() {
        long dr6 = run.debugDr6();
        if (stepping && (dr6 & DR6_BS) != 0) {
            stepping = false;
            arm(pageFaultHandler());
            return DebugExit.STEPPED;
        }
        if (armed == NONE || run.debugPc() != armed || (dr6 & DR6_B0) == 0) {
            if (foreign++ == 0) {
                LOG.info("vcpu {}: a debug exit that is not the syscall intercept's: pc 0x{}, dr6 0x{}, breakpoint at"
                        + " 0x{}, stepping {}", vcpu.id(), Long.toHexString(run.debugPc()), Long.toHexString(dr6),
                        Long.toHexString(armed), stepping);
            }
            return DebugExit.FOREIGN;
        }
        SyscallCompletion.Decision d = decide();
        if (d instanceof SyscallCompletion.Complete(SyscallCompletion.Entry e)) {
            run.setReg(KvmRun.Regs.RSP, e.rsp());
            run.setReg(KvmRun.Regs.RFLAGS, e.rflags());
            run.setReg(KvmRun.Regs.RIP, e.rip());
            MemorySegment s = run.sregs();
            Sregs.setSegment(s, Sregs.SS, new Sregs.Segment(0, 0xffffffff, e.ss(), 3, true, 0, true, true, false, true));
            run.setDirtyRegs(run.dirtyRegs() | KvmRun.SYNC_X86_SREGS);
            completed++;
            return DebugExit.COMPLETED;
        }
        lastDecline = ((SyscallCompletion.Decline) d).reason();
        if (steppedOver == 0) {
            LOG.info("vcpu {}: the first page fault at the breakpoint is not a half syscall ({}); stepping over it",
                    vcpu.id(), lastDecline);
        }
        vcpu.setGuestDebug(KvmVcpu.GUESTDBG_ENABLE | KvmVcpu.GUESTDBG_SINGLESTEP);
        armed = NONE;
        stepping = true;
        steppedOver++;
        return DebugExit.STEPPING;
    }

    private SyscallCompletion.Decision decide() {
        MemorySegment s = run.sregs();
        if (Sregs.cpl(s) != 0 || !Sregs.is64BitCode(s)) {
            return new SyscallCompletion.Decline("handler not at CPL 0 in 64-bit code");
        }
        long rsp = run.reg(KvmRun.Regs.RSP);
        if (!readVirtual(rsp, frame)) {
            return new SyscallCompletion.Decline("frame at 0x" + Long.toHexString(rsp) + " not readable");
        }
        long[] m = vcpu.getMsrs(SyscallCompletion.MSR_STAR, SyscallCompletion.MSR_LSTAR, SyscallCompletion.MSR_SFMASK);
        SyscallCompletion.Decision d = SyscallCompletion.check(SyscallCompletion.Frame.read(frame),
                Sregs.get(s, Sregs.CR2), Sregs.segment(s, Sregs.CS).selector(), run.reg(KvmRun.Regs.R11),
                new SyscallCompletion.SyscallMsrs(m[0], m[1], m[2]));
        if (d instanceof SyscallCompletion.Complete) {
            long rcx = run.reg(KvmRun.Regs.RCX);
            if (!readVirtual(rcx - 2, opcode)
                    || Short.toUnsignedInt(opcode.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0)) != SyscallCompletion.SYSCALL_OPCODE) {
                return new SyscallCompletion.Decline("no syscall instruction before rcx 0x" + Long.toHexString(rcx));
            }
        }
        return d;
    }

    private void arm(long handler) {
        if (handler != lastLogged && (moves++ < 8 || LOG.isDebugEnabled())) {
            lastLogged = handler;
            LOG.info("vcpu {}: syscall intercept: breakpoint {} (idt base 0x{}, gate gpa 0x{})", vcpu.id(),
                    handler == NONE ? "off" : "on the #PF handler at 0x" + Long.toHexString(handler),
                    Long.toHexString(idtBase), Long.toHexString(gateGpa));
        }
        if (handler == NONE) {
            vcpu.setGuestDebug(0);
        } else {
            vcpu.setGuestDebug(KvmVcpu.GUESTDBG_ENABLE | KvmVcpu.GUESTDBG_USE_HW_BP, handler, 0, 0, 0, 0, 0, 0,
                    DR7_EXECUTE_DR0);
        }
        armed = handler;
    }

    /**
     * The guest's {@code #PF} handler from IDT gate 14, or {@link #NONE} when the guest cannot make a
     * {@code syscall} (not in 64-bit paged mode, or {@code EFER.SCE} clear) or has no valid gate.
     */
    private long pageFaultHandler() {
        MemorySegment s = run.sregs();
        long efer = Sregs.get(s, Sregs.EFER);
        if ((efer & Sregs.EFER_LMA) == 0 || (efer & Sregs.EFER_SCE) == 0 || (Sregs.get(s, Sregs.CR0) & CR0_PG) == 0) {
            // no syscall possible (EFER.SCE clear: it is #UD), so no breakpoint
            return NONE;
        }
        long base = Sregs.get(s, Sregs.IDT);
        int limit = Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT, Sregs.IDT + 8));
        long at = base + (long) SyscallCompletion.PF * GATE_BYTES;
        if (limit < SyscallCompletion.PF * GATE_BYTES + GATE_BYTES - 1 || (at & (PAGE - 1)) > PAGE - GATE_BYTES) {
            return NONE;
        }
        if (base != idtBase || gateGpa < 0) {
            KvmVcpu.Translation t = vcpu.translate(at);
            idtBase = base;
            gateGpa = t.valid() ? t.gpa() : -1;
        }
        if (gateGpa < 0 || !memory.read(gateGpa, gate)) {
            gateGpa = -1;
            return NONE;
        }
        return SyscallCompletion.gateTarget(gate.get(ValueLayout.JAVA_LONG, 0), gate.get(ValueLayout.JAVA_LONG, 8));
    }

    /** Reads {@code dst.byteSize()} bytes at guest-virtual {@code gva}, page by page; false if any is not RAM. */
    private boolean readVirtual(long gva, MemorySegment dst) {
        long done = 0;
        while (done < dst.byteSize()) {
            long va = gva + done;
            long n = Math.min(dst.byteSize() - done, PAGE - (va & (PAGE - 1)));
            KvmVcpu.Translation t = vcpu.translate(va);
            if (!t.valid() || !memory.read(t.gpa(), dst.asSlice(done, n))) {
                return false;
            }
            done += n;
        }
        return true;
    }
}

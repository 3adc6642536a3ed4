package org.jxen.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * A flyweight view of a vCPU's {@code struct kvm_run}, the page KVM shares with userspace: the exit
 * reason and its details, {@code immediate_exit}, and the sync-regs area ({@code KVM_CAP_SYNC_REGS})
 * through which registers are read and written without an ioctl per exit. Offsets are those of
 * Linux's {@code <linux/kvm.h>} for x86-64 (pinned by {@code KvmRunLayoutTest}).
 *
 * <p>Threads: the vCPU's own thread, between {@code KVM_RUN} calls, except
 * {@link #setImmediateExit(boolean)}, which any thread may call to kick the vCPU. What an exit says
 * is valid until the next {@code KVM_RUN}.
 */
public final class KvmRun {
    static final long REQUEST_INTERRUPT_WINDOW = 0;
    static final long IMMEDIATE_EXIT = 1;
    static final long EXIT_REASON = 8;
    static final long READY_FOR_INTERRUPT_INJECTION = 12;
    static final long IF_FLAG = 13;
    static final long EXIT = 32;
    static final long IO_DIRECTION = 32;
    static final long IO_SIZE = 33;
    static final long IO_PORT = 34;
    static final long IO_COUNT = 36;
    static final long IO_DATA_OFFSET = 40;
    static final long MSR_ERROR = 32;
    static final long MSR_REASON = 40;
    static final long MSR_INDEX = 44;
    static final long MSR_DATA = 48;
    static final long INTERNAL_SUBERROR = 32;
    static final long INTERNAL_NDATA = 36;
    static final long INTERNAL_DATA = 40;
    static final long FAIL_ENTRY_REASON = 32;
    static final long SYSTEM_EVENT_TYPE = 32;
    static final long MMIO_DATA = 40;
    static final long MMIO_IS_WRITE = 52;
    static final long DEBUG_EXCEPTION = 32;
    static final long DEBUG_PC = 40;
    static final long DEBUG_DR6 = 48;
    static final long VALID_REGS = 288;
    static final long DIRTY_REGS = 296;
    static final long SYNC_REGS = 304;
    static final long SYNC_SREGS = 448;
    static final long SYNC_EVENTS = 760;

    /** {@code KVM_SYNC_X86_REGS}. */
    public static final long SYNC_X86_REGS = 1;
    /** {@code KVM_SYNC_X86_SREGS}. */
    public static final long SYNC_X86_SREGS = 2;
    /** {@code KVM_SYNC_X86_EVENTS}. */
    public static final long SYNC_X86_EVENTS = 4;

    /** {@code KVM_EXIT_IO_IN} / {@code KVM_EXIT_IO_OUT}. */
    public static final int IO_IN = 0;
    public static final int IO_OUT = 1;

    private static final VarHandle BYTE = ValueLayout.JAVA_BYTE.varHandle();

    private final MemorySegment run;

    KvmRun(MemorySegment run) {
        this.run = run;
    }

    MemorySegment segment() {
        return run;
    }

    public int exitReason() {
        return run.get(ValueLayout.JAVA_INT, EXIT_REASON);
    }

    /** Any thread: makes the next (or current, once kicked) {@code KVM_RUN} return {@code EINTR} at once. */
    public void setImmediateExit(boolean on) {
        BYTE.setVolatile(run, IMMEDIATE_EXIT, (byte) (on ? 1 : 0));
    }

    public void setRequestInterruptWindow(boolean on) {
        run.set(ValueLayout.JAVA_BYTE, REQUEST_INTERRUPT_WINDOW, (byte) (on ? 1 : 0));
    }

    public boolean readyForInterruptInjection() {
        return run.get(ValueLayout.JAVA_BYTE, READY_FOR_INTERRUPT_INJECTION) != 0;
    }

    // ---- KVM_EXIT_IO

    public int ioDirection() {
        return run.get(ValueLayout.JAVA_BYTE, IO_DIRECTION);
    }

    public int ioSize() {
        return run.get(ValueLayout.JAVA_BYTE, IO_SIZE);
    }

    public int ioPort() {
        return Short.toUnsignedInt(run.get(ValueLayout.JAVA_SHORT, IO_PORT));
    }

    public int ioCount() {
        return run.get(ValueLayout.JAVA_INT, IO_COUNT);
    }

    /** The data of an I/O exit: {@code count * size} bytes inside the kvm_run mapping. */
    public MemorySegment ioData() {
        long off = run.get(ValueLayout.JAVA_LONG, IO_DATA_OFFSET);
        long len = (long) ioSize() * ioCount();
        if (off < 0 || len < 0 || off > run.byteSize() - len) {
            throw new IllegalStateException("KVM_EXIT_IO data [" + off + ", +" + len + ") outside kvm_run");
        }
        return run.asSlice(off, len);
    }

    // ---- KVM_EXIT_X86_RDMSR / WRMSR

    public int msrIndex() {
        return run.get(ValueLayout.JAVA_INT, MSR_INDEX);
    }

    public long msrData() {
        return run.get(ValueLayout.JAVA_LONG, MSR_DATA);
    }

    public void setMsrData(long value) {
        run.set(ValueLayout.JAVA_LONG, MSR_DATA, value);
    }

    public int msrReason() {
        return run.get(ValueLayout.JAVA_INT, MSR_REASON);
    }

    /** Set to make the guest's {@code rdmsr}/{@code wrmsr} take a #GP. */
    public void setMsrError(boolean injectGp) {
        run.set(ValueLayout.JAVA_BYTE, MSR_ERROR, (byte) (injectGp ? 1 : 0));
    }

    // ---- KVM_EXIT_DEBUG

    /** The exception that ended the run ({@code debug.arch.exception}: 1 for {@code #DB}, 3 for {@code #BP}). */
    public int debugException() {
        return run.get(ValueLayout.JAVA_INT, DEBUG_EXCEPTION);
    }

    /** Where the guest stopped ({@code debug.arch.pc}). */
    public long debugPc() {
        return run.get(ValueLayout.JAVA_LONG, DEBUG_PC);
    }

    /** DR6 of the debug exception ({@code debug.arch.dr6}): B0..B3 for a breakpoint, BS for a single step. */
    public long debugDr6() {
        return run.get(ValueLayout.JAVA_LONG, DEBUG_DR6);
    }

    // ---- errors

    public int internalSuberror() {
        return run.get(ValueLayout.JAVA_INT, INTERNAL_SUBERROR);
    }

    public long[] internalData() {
        int n = Math.min(16, Math.max(0, run.get(ValueLayout.JAVA_INT, INTERNAL_NDATA)));
        long[] d = new long[n];
        for (int i = 0; i < n; i++) {
            d[i] = run.get(ValueLayout.JAVA_LONG, INTERNAL_DATA + 8L * i);
        }
        return d;
    }

    public long failEntryReason() {
        return run.get(ValueLayout.JAVA_LONG, FAIL_ENTRY_REASON);
    }

    public int systemEventType() {
        return run.get(ValueLayout.JAVA_INT, SYSTEM_EVENT_TYPE);
    }

    // ---- sync regs

    /** Which register sets KVM copies into this page at each exit ({@code kvm_valid_regs}). */
    public void setValidRegs(long mask) {
        run.set(ValueLayout.JAVA_LONG, VALID_REGS, mask);
    }

    /** Which register sets KVM must load from this page at the next entry ({@code kvm_dirty_regs}). */
    public void setDirtyRegs(long mask) {
        run.set(ValueLayout.JAVA_LONG, DIRTY_REGS, mask);
    }

    public long dirtyRegs() {
        return run.get(ValueLayout.JAVA_LONG, DIRTY_REGS);
    }

    /** General register {@code index} ({@link Regs}) of the sync-regs area. */
    public long reg(int index) {
        return run.get(ValueLayout.JAVA_LONG, SYNC_REGS + 8L * index);
    }

    /** Writes general register {@code index} and marks the general registers dirty. */
    public void setReg(int index, long value) {
        run.set(ValueLayout.JAVA_LONG, SYNC_REGS + 8L * index, value);
        setDirtyRegs(dirtyRegs() | SYNC_X86_REGS);
    }

    /** The sync-regs copy of {@code struct kvm_sregs} (312 bytes), for {@link Sregs}. */
    public MemorySegment sregs() {
        return run.asSlice(SYNC_SREGS, Sregs.SIZE);
    }

    /** Register indices of {@code struct kvm_regs}. */
    public static final class Regs {
        public static final int RAX = 0;
        public static final int RBX = 1;
        public static final int RCX = 2;
        public static final int RDX = 3;
        public static final int RSI = 4;
        public static final int RDI = 5;
        public static final int RSP = 6;
        public static final int RBP = 7;
        public static final int R8 = 8;
        public static final int R9 = 9;
        public static final int R10 = 10;
        public static final int R11 = 11;
        public static final int R12 = 12;
        public static final int R13 = 13;
        public static final int R14 = 14;
        public static final int R15 = 15;
        public static final int RIP = 16;
        public static final int RFLAGS = 17;
        /** {@code sizeof(struct kvm_regs)}. */
        public static final long SIZE = 144;

        private Regs() {
        }
    }
}

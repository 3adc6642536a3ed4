package org.jxen.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import org.jxen.abi.WordSize;
import org.jxen.hypercalls.HypercallRequest;
import org.jxen.hypercalls.time.SchedStat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One vCPU of a {@link VirtualMachine}, run by its own platform thread: an explicit state machine
 * ({@link State#CREATED} -> {@link State#RUNNING} <-> {@link State#PAUSED} -> {@link State#STOPPED}, and
 * {@link State#RUNNING} <-> {@link State#OFFLINE} while the vCPU is taken off with {@link #setOffline})
 * around {@code KVM_RUN}, with every exit handled in one place ({@link #handleExit(int)}). After each
 * exit it tells the dispatcher ({@code vcpuExited}, where runstate accounting hooks in), and around a
 * pause ({@code vcpuPaused}).
 *
 * <p>Threads: {@link #pause}, {@link #resume}, {@link #stop} and the getters may be called from any
 * thread; they set a request and kick the vCPU out of {@code KVM_RUN} (also when it is halted in
 * the guest or spinning without exits), then wait for the state to follow. Everything else runs on
 * the vCPU thread. A state change made by the vCPU thread happens-before the return of a waiter that
 * observed it.
 */
public final class Vcpu {
    private static final Logger LOG = LoggerFactory.getLogger(Vcpu.class);

    /** The lifecycle of the vCPU thread. */
    public enum State {
        CREATED, RUNNING, PAUSED, STOPPED,
        /** The thread exists and waits: the vCPU is down ({@link #setOffline}) and runs no guest code. */
        OFFLINE
    }

    /** Why the vCPU stopped. */
    public record StopReason(Kind kind, String detail) {
        public enum Kind {
            /** Someone called {@link Vcpu#stop}. */
            REQUESTED,
            /** The guest shut down or asked for it ({@code KVM_EXIT_SHUTDOWN}, a shutdown hypercall, a test's end). */
            GUEST,
            /** KVM reported an error the vCPU cannot continue from, or a handler failed. */
            ERROR
        }
    }

    private static final int REQUEST_NONE = 0;
    private static final int REQUEST_PAUSE = 1;
    private static final int REQUEST_STOP = 2;

    private final VirtualMachine vm;
    private final KvmVcpu kvm;
    private final KvmRun run;
    private final HypercallRequest hypercall;
    private volatile int request = REQUEST_NONE;
    private volatile State state = State.CREATED;
    private volatile StopReason stopReason;
    private volatile Thread thread;
    private final CompletableFuture<StopReason> stopped = new CompletableFuture<>();
    private final VcpuStats stats = new VcpuStats();
    /** Down: the thread runs no guest code until this is cleared (VCPUOP_down/up, or offline from the start). */
    private volatile boolean offline;
    /** The vCPU thread's scheduler statistics, open while the thread runs. */
    private volatile SchedStat schedStat;
    /** Instructions KVM failed to emulate that this vCPU completed ({@link InstructionCompletion}), by name. */
    private final Map<String, Long> completedInstructions = new ConcurrentHashMap<>();
    /** Finishes the user-mode syscalls the host leaves half done; null where the host needs no help. */
    private volatile SyscallIntercept syscalls;

    Vcpu(VirtualMachine vm, KvmVcpu kvm) {
        this.vm = vm;
        this.kvm = kvm;
        this.run = kvm.kvmRun();
        this.hypercall = new HypercallRequest(kvm.id());
    }

    public int id() {
        return kvm.id();
    }

    public State state() {
        return state;
    }

    /** Why the vCPU stopped, or null while it has not. */
    public StopReason stopReason() {
        return stopReason;
    }

    /** Completes when the vCPU thread has stopped. */
    public CompletableFuture<StopReason> stopped() {
        return stopped;
    }

    public KvmVcpu kvmVcpu() {
        return kvm;
    }

    public VirtualMachine vm() {
        return vm;
    }

    public long exitCount() {
        return stats.exits();
    }

    public long hypercallCount() {
        return stats.hypercalls();
    }

    /** Exits by reason, interrupted runs and hypercalls of this vCPU (for metrics); from any thread. */
    public VcpuStats stats() {
        return stats;
    }

    /**
     * How many times this vCPU completed, in userspace, an instruction that KVM failed to emulate
     * ({@link InstructionCompletion}), by instruction ("int3", "fwait"). Any thread.
     */
    public Map<String, Long> completedInstructions() {
        return Map.copyOf(completedInstructions);
    }

    /**
     * Makes this vCPU finish the guest's user-mode {@code syscall}s that the host's KVM leaves half
     * done ({@link SyscallIntercept}); counted in {@link #completedInstructions()} as "syscall". Before
     * {@link #start()}.
     */
    public synchronized void completeUserSyscalls() {
        if (state != State.CREATED) {
            throw new IllegalStateException("vcpu " + id() + " already started");
        }
        syscalls = new SyscallIntercept(kvm, vm.memory()::read);
    }

    /** Starts the vCPU thread. */
    public synchronized void start() {
        if (state != State.CREATED) {
            throw new IllegalStateException("vcpu " + id() + " already started");
        }
        state = offline ? State.OFFLINE : State.RUNNING;
        thread = Thread.ofPlatform().name(vm.name() + "-vcpu" + id()).daemon(true).start(this::loop);
    }

    /**
     * Takes the vCPU off ({@code true}: it leaves the guest at once, or, called from its own thread
     * in an exit, when the exit is handled, and its thread waits) or lets it run again
     * ({@code false}: from where it stopped, or from registers set while it was off). Before
     * {@link #start()} it decides how the vCPU starts. Any thread.
     */
    public void setOffline(boolean off) {
        offline = off;
        if (off) {
            kvm.kick();
        } else {
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    /** True while the vCPU is taken off ({@link #setOffline}). */
    public boolean isOffline() {
        return offline;
    }

    /**
     * The vCPU thread's time on a CPU and run delay ({@code /proc/self/task/<tid>/schedstat}), or
     * null before its thread runs, after it stopped, or without {@code /proc}. Any thread: a file read.
     */
    public SchedStat.Sample threadTimes() {
        SchedStat s = schedStat;
        return s == null ? null : s.read();
    }

    /** Pauses the vCPU; returns true once it is paused (or stopped) within {@code timeout}. */
    public boolean pause(Duration timeout) {
        if (state == State.STOPPED) {
            return true;
        }
        request = REQUEST_PAUSE;
        kvm.kick();
        return awaitState(timeout, State.PAUSED);
    }

    /** Resumes a paused vCPU. */
    public void resume() {
        if (request == REQUEST_PAUSE) {
            request = REQUEST_NONE;
        }
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** Stops the vCPU; returns true once its thread has ended within {@code timeout}. */
    public boolean stop(Duration timeout) {
        if (state == State.CREATED) {
            finish(new StopReason(StopReason.Kind.REQUESTED, "never started"));
            return true;
        }
        request = REQUEST_STOP;
        kvm.kick();
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
            try {
                t.join(timeout);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return !t.isAlive();
        }
        return true;
    }

    private boolean awaitState(Duration timeout, State wanted) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (state != wanted && state != State.STOPPED) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            kvm.kick();
            LockSupport.parkNanos(100_000);
        }
        return true;
    }

    /** True while a pause or stop is requested: a hypercall that waits must return so the thread can obey. */
    public boolean mustYield() {
        return request != REQUEST_NONE;
    }

    /** True once {@link #stop} (or a handler) asked the vCPU to stop. */
    public boolean stopRequested() {
        return request == REQUEST_STOP;
    }

    /** Stops the vCPU from its own thread (a handler), with a reason. */
    public void requestStopFromGuest(String detail) {
        stopReason = new StopReason(StopReason.Kind.GUEST, detail);
        request = REQUEST_STOP;
    }

    private void loop() {
        StopReason reason = null;
        try {
            kvm.bindToCurrentThread();
            schedStat = SchedStat.openForThread(kvm.threadId());
            run.setValidRegs(KvmRun.SYNC_X86_REGS | KvmRun.SYNC_X86_SREGS);
            while (reason == null) {
                // clear the kick flag before looking at requests: a kick after this point re-arms it
                run.setImmediateExit(false);
                int req = request;
                if (req == REQUEST_STOP) {
                    if (LOG.isDebugEnabled()) {
                        LOG.debug("vcpu {} stops at:\n{}", id(), EmulationFailureReport.registers(registerState()));
                    }
                    reason = stopReason != null ? stopReason : new StopReason(StopReason.Kind.REQUESTED, "stop requested");
                    break;
                }
                if (req == REQUEST_PAUSE) {
                    state = State.PAUSED;
                    vm.dispatcher().vcpuPaused(id(), true);
                    while (request == REQUEST_PAUSE) {
                        LockSupport.park(this);
                    }
                    vm.dispatcher().vcpuPaused(id(), false);
                    state = offline ? State.OFFLINE : State.RUNNING;
                    continue;
                }
                if (offline) {
                    state = State.OFFLINE;
                    while (offline && request == REQUEST_NONE) {
                        LockSupport.park(this);
                    }
                    if (!offline) {
                        state = State.RUNNING;
                    }
                    continue;
                }
                SyscallIntercept sc = syscalls;
                if (sc != null) {
                    sc.track();
                }
                int exit = kvm.run();
                if (exit == KvmVcpu.RUN_INTERRUPTED) {
                    stats.countInterrupted();
                    continue;
                }
                stats.countExit(exit);
                reason = handleExit(exit);
                if (reason == null) {
                    vm.dispatcher().vcpuExited(id());
                }
            }
        } catch (RuntimeException | Error e) {
            reason = new StopReason(StopReason.Kind.ERROR, "vcpu " + id() + ": " + e);
            vm.reportError(this, e);
        }
        finish(reason);
    }

    private void finish(StopReason reason) {
        SyscallIntercept sc = syscalls;
        if (sc != null && sc.completed() + sc.steppedOver() > 0) {
            LOG.info("vcpu {}: completed {} user-mode syscalls; stepped over {} other page faults{}", id(), sc.completed(),
                    sc.steppedOver(), sc.lastDecline().isEmpty() ? "" : " (the last: " + sc.lastDecline() + ")");
        }
        SchedStat s = schedStat;
        schedStat = null;
        if (s != null) {
            s.close();
        }
        stopReason = reason;
        state = State.STOPPED;
        stopped.complete(reason);
    }

    /** Handles one exit; returns null to re-enter the guest, or why the vCPU stops. */
    private StopReason handleExit(int exit) {
        switch (exit) {
            case KvmExit.KVM_EXIT_IO -> {
                int port = run.ioPort();
                if (port == PortHypercallPage.HYPERCALL_PORT && run.ioDirection() == KvmRun.IO_OUT && run.ioSize() == 4
                        && run.ioCount() == 1) {
                    hypercall();
                } else {
                    portIo(port);
                }
                return pendingStop();
            }
            case KvmExit.KVM_EXIT_X86_WRMSR -> {
                vm.wrmsr(this, run.msrIndex(), run.msrData());
                return pendingStop();
            }
            case KvmExit.KVM_EXIT_X86_RDMSR -> {
                run.setMsrError(true); // only writes are filtered: a read here is unexpected, give #GP
                return null;
            }
            case KvmExit.KVM_EXIT_HLT -> {
                return new StopReason(StopReason.Kind.GUEST, "the guest halted with interrupts it cannot get");
            }
            case KvmExit.KVM_EXIT_MMIO -> {
                // no emulated MMIO devices: reads see all ones, writes are dropped
                MemorySegment data = run.segment().asSlice(KvmRun.MMIO_DATA, 8);
                if (run.segment().get(ValueLayout.JAVA_BYTE, KvmRun.MMIO_IS_WRITE) == 0) {
                    data.fill((byte) 0xff);
                }
                return null;
            }
            case KvmExit.KVM_EXIT_SHUTDOWN -> {
                return new StopReason(StopReason.Kind.GUEST, "triple fault (KVM_EXIT_SHUTDOWN) at rip 0x"
                        + Long.toHexString(run.reg(KvmRun.Regs.RIP)));
            }
            case KvmExit.KVM_EXIT_SYSTEM_EVENT -> {
                return new StopReason(StopReason.Kind.GUEST, "system event " + run.systemEventType());
            }
            case KvmExit.KVM_EXIT_INTERNAL_ERROR -> {
                int suberror = run.internalSuberror();
                long[] data = run.internalData();
                Optional<EmulationFailure> f = EmulationFailure.of(suberror, data);
                if (f.isPresent()) {
                    return emulationFailure(f.get());
                }
                return new StopReason(StopReason.Kind.ERROR, "KVM_EXIT_INTERNAL_ERROR suberror " + suberror
                        + " data " + java.util.Arrays.toString(data) + " at rip 0x"
                        + Long.toHexString(run.reg(KvmRun.Regs.RIP)));
            }
            case KvmExit.KVM_EXIT_FAIL_ENTRY -> {
                return new StopReason(StopReason.Kind.ERROR, "KVM_EXIT_FAIL_ENTRY hardware reason 0x"
                        + Long.toHexString(run.failEntryReason()));
            }
            case KvmExit.KVM_EXIT_INTR, KvmExit.KVM_EXIT_IRQ_WINDOW_OPEN -> {
                return null;
            }
            case KvmExit.KVM_EXIT_DEBUG -> {
                return debugExit();
            }
            default -> {
                return new StopReason(StopReason.Kind.ERROR, "unhandled " + KvmExit.name(exit));
            }
        }
    }

    /**
     * KVM failed to emulate an instruction: complete it when {@link InstructionCompletion} knows how
     * (re-enter the guest), else stop with a report of the instruction and the address it touches.
     */
    private StopReason emulationFailure(EmulationFailure f) {
        MemorySegment sregs = run.sregs();
        Optional<InstructionCompletion.Action> action = InstructionCompletion.of(f, Sregs.is64BitCode(sregs),
                Sregs.get(sregs, Sregs.CR0), kvm::x87StatusWord);
        if (action.isPresent() && complete(action.get())) {
            return null;
        }
        EmulationFailureReport.State s = registerState();
        String line = EmulationFailureReport.describe(f, s, kvm::translate, vm.memory().currentMap());
        LOG.info("vcpu {}: {}\n{}", id(), line, EmulationFailureReport.registers(s));
        return new StopReason(StopReason.Kind.ERROR, line);
    }

    /** A breakpoint of {@link SyscallIntercept}, or the guest's own {@code #DB} given back to it. */
    private StopReason debugExit() {
        SyscallIntercept sc = syscalls;
        long pc = run.debugPc();
        SyscallIntercept.DebugExit what = sc == null ? SyscallIntercept.DebugExit.FOREIGN : sc.onDebugExit();
        switch (what) {
            case COMPLETED -> {
                if (completedInstructions.merge("syscall", 1L, Long::sum) == 1) {
                    LOG.info("vcpu {}: the host left a user-mode syscall half done (#PF at LSTAR from CPL 3, handler"
                            + " 0x{}); jxen completed it; later ones are only counted", id(), Long.toHexString(pc));
                }
                return null;
            }
            case STEPPING, STEPPED -> {
                return null;
            }
            default -> {
                if (run.debugException() == 1 && kvm.injectException(1, -1)) {
                    return null;
                }
                return new StopReason(StopReason.Kind.ERROR, "KVM_EXIT_DEBUG (exception " + run.debugException()
                        + ", dr6 0x" + Long.toHexString(run.debugDr6()) + ") at rip 0x" + Long.toHexString(pc));
            }
        }
    }

    private boolean complete(InstructionCompletion.Action a) {
        long rip = run.reg(KvmRun.Regs.RIP);
        switch (a) {
            case InstructionCompletion.Advance adv -> run.setReg(KvmRun.Regs.RIP, rip + adv.length());
            case InstructionCompletion.Inject inj -> {
                if (!kvm.injectException(inj.vector(), -1)) {
                    return false; // another event is being delivered: do not stack one on it
                }
                if (inj.advance() != 0) {
                    run.setReg(KvmRun.Regs.RIP, rip + inj.advance());
                }
            }
        }
        if (completedInstructions.merge(a.instruction(), 1L, Long::sum) == 1) {
            LOG.info("vcpu {}: KVM could not emulate {} at rip 0x{}; jxen completed it ({}); later ones are only"
                    + " counted", id(), a.instruction(), Long.toHexString(rip), a);
        }
        return true;
    }

    /** The vCPU's registers as the last exit left them (the sync-regs copy). vCPU thread. */
    private EmulationFailureReport.State registerState() {
        long[] regs = new long[18];
        for (int i = 0; i < regs.length; i++) {
            regs[i] = run.reg(i);
        }
        MemorySegment sregs = run.sregs();
        return new EmulationFailureReport.State(regs, Sregs.get(sregs, Sregs.CR0), Sregs.get(sregs, Sregs.CR2),
                Sregs.get(sregs, Sregs.CR3), Sregs.get(sregs, Sregs.CR4), Sregs.get(sregs, Sregs.EFER), Sregs.cpl(sregs),
                Sregs.is64BitCode(sregs), Sregs.segment(sregs, Sregs.FS).base(), Sregs.segment(sregs, Sregs.GS).base());
    }

    private StopReason pendingStop() {
        return request == REQUEST_STOP && stopReason != null ? stopReason : null;
    }

    private void hypercall() {
        MemorySegment sregs = run.sregs();
        boolean is64 = Sregs.is64BitCode(sregs);
        int cpl = Sregs.cpl(sregs);
        long rax = run.reg(KvmRun.Regs.RAX);
        if (is64) {
            hypercall.set((int) rax, run.reg(KvmRun.Regs.RDI), run.reg(KvmRun.Regs.RSI), run.reg(KvmRun.Regs.RDX),
                    run.reg(KvmRun.Regs.R10), run.reg(KvmRun.Regs.R8), run.reg(KvmRun.Regs.R9), WordSize.BITS_64, cpl);
        } else {
            hypercall.set((int) rax, run.reg(KvmRun.Regs.RBX) & 0xffffffffL, run.reg(KvmRun.Regs.RCX) & 0xffffffffL,
                    run.reg(KvmRun.Regs.RDX) & 0xffffffffL, run.reg(KvmRun.Regs.RSI) & 0xffffffffL,
                    run.reg(KvmRun.Regs.RDI) & 0xffffffffL, run.reg(KvmRun.Regs.RBP) & 0xffffffffL, WordSize.BITS_32,
                    cpl);
        }
        long start = VcpuStats.COUNTING ? System.nanoTime() : 0;
        long result = vm.dispatcher().dispatch(hypercall);
        stats.countHypercall((int) rax, VcpuStats.COUNTING ? System.nanoTime() - start : 0);
        run.setReg(KvmRun.Regs.RAX, is64 ? result : result & 0xffffffffL);
    }

    private void portIo(int port) {
        int size = run.ioSize();
        int count = run.ioCount();
        MemorySegment data = run.ioData();
        PortHandler h = vm.portHandler(port);
        for (int i = 0; i < count; i++) {
            long at = (long) i * size;
            if (run.ioDirection() == KvmRun.IO_OUT) {
                int value = switch (size) {
                    case 1 -> Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, at));
                    case 2 -> Short.toUnsignedInt(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, at));
                    default -> data.get(ValueLayout.JAVA_INT_UNALIGNED, at);
                };
                if (h != null) {
                    h.out(this, port, size, value);
                }
            } else {
                int value = h != null ? h.in(this, port, size) : -1;
                switch (size) {
                    case 1 -> data.set(ValueLayout.JAVA_BYTE, at, (byte) value);
                    case 2 -> data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, (short) value);
                    default -> data.set(ValueLayout.JAVA_INT_UNALIGNED, at, value);
                }
            }
        }
    }

    @Override
    public String toString() {
        return "vcpu " + id() + " " + state;
    }
}

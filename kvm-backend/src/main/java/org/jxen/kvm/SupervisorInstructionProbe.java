package org.jxen.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.jxen.gpc.HostMemory;

/**
 * Asks this host's KVM, with a throw-away VM, which {@link CpuFeature}s' instructions it cannot run in
 * a guest's supervisor mode, and which of those it lets jxen hide from the guest's CPUID.
 *
 * <p>Why: on a host whose KVM runs guest kernel code through its instruction emulator (the
 * project's nested hosts: docs/kvm-backend.md), an instruction the emulator lacks ends the guest in
 * {@code KVM_EXIT_INTERNAL_ERROR}, although the CPUID KVM supports (and the guest sees) has the
 * feature. A kernel checks CPUID before it uses such an instruction, so hiding the bit is the fix,
 * where the host honours it: this probe measures both rather than guessing, so a host that runs
 * guest kernel code natively hides nothing.
 *
 * <p>How: a 2 MiB VM, 64-bit mode at CPL 0 with an IDT whose handlers report the vector. vCPU 0 has
 * KVM's supported CPUID; for each feature it executes {@code cpuid} (a host may show a guest more
 * than KVM says it supports) and, when it sees the feature, the feature's {@link CpuFeature#probe()}
 * on its own (RIP set each time) followed by {@code out %al, $0x10}: the outcome is that port, an
 * exception vector, or an emulation failure. vCPU 1 has the supported CPUID with every probed bit
 * cleared and executes {@code cpuid}: a bit it still sees cannot be hidden on this host. About 50
 * KVM entries; a few milliseconds.
 *
 * <p>Threads: {@link #run(Kvm, List)} from any thread; it makes its own VM.
 */
public final class SupervisorInstructionProbe {
    /** What one probe instruction did. */
    public enum Outcome {
        /** It ran (natively or emulated). */
        RUNS,
        /** It raised an exception (for example {@code #UD}: the host has no such feature). */
        FAULTS,
        /** KVM had to emulate it and could not ({@code KVM_INTERNAL_ERROR_EMULATION}). */
        EMULATION_FAILURE,
        /** Anything else (a triple fault, another exit, an ioctl error). */
        UNKNOWN
    }

    /**
     * The probe's findings: the outcome of each feature the guest sees in CPUID, and the features
     * whose bit the guest no longer sees when jxen clears it.
     */
    public record Result(Map<CpuFeature, Outcome> outcomes, Set<CpuFeature> hidable) {
        public Result {
            EnumMap<CpuFeature, Outcome> copy = new EnumMap<>(CpuFeature.class);
            copy.putAll(outcomes);
            outcomes = Collections.unmodifiableMap(copy);
            hidable = hidable.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(hidable));
        }

        /** Nothing probed: hide nothing. */
        public static final Result NONE = new Result(Map.of(), Set.of());

        /** Features whose instruction KVM failed to emulate in guest supervisor mode. */
        public Set<CpuFeature> failing() {
            return outcomes.entrySet().stream().filter(e -> e.getValue() == Outcome.EMULATION_FAILURE)
                    .map(Map.Entry::getKey).collect(Collectors.toCollection(() -> EnumSet.noneOf(CpuFeature.class)));
        }

        /** Failing features jxen hides from the guest's CPUID. */
        public Set<CpuFeature> hidden() {
            Set<CpuFeature> s = failing();
            s.retainAll(hidable);
            return s;
        }

        /** Failing features the guest sees in CPUID anyway (the host ignores jxen's table for their bits). */
        public Set<CpuFeature> failingButVisible() {
            Set<CpuFeature> s = failing();
            s.removeAll(hidable);
            return s;
        }
    }

    static final long PML4 = 0x1000;
    static final long PDPT = 0x2000;
    static final long PD = 0x3000;
    static final long GDT = 0x500;
    static final long IDT = 0x600;
    static final long HANDLERS = 0x4000;
    static final long STACK_TOP = 0x8000;
    static final long CODE = 0x10000;
    static final long DATA = 0x20000;
    static final int DONE_PORT = 0x10;
    static final int FAULT_PORT = 0x11;
    private static final long MEMORY = 2L << 20;
    private static final int EXCEPTIONS = 32;

    private SupervisorInstructionProbe() {
    }

    /** Probes {@code features} on {@code kvm}; see the class comment. */
    public static Result run(Kvm kvm, List<CpuFeature> features) {
        List<CpuidEntry> supported = kvm.supportedCpuid();
        Map<CpuFeature, Outcome> outcomes = new EnumMap<>(CpuFeature.class);
        Set<CpuFeature> hidable = EnumSet.noneOf(CpuFeature.class);
        try (KvmVm vm = kvm.createVm(); HostMemory ram = HostMemory.anonymous("insn-probe", MEMORY)) {
            ProbeVms.prepare(vm, ram);
            try {
                layout(ram.segment());
                try (KvmVcpu cpu = vm.createVcpu(0); KvmVcpu hidden = vm.createVcpu(1)) {
                    cpu.setCpuid(supported);
                    List<CpuidEntry> cleared = new ArrayList<>();
                    for (CpuidEntry e : supported) {
                        for (CpuFeature f : features) {
                            e = f.clearIn(e);
                        }
                        cleared.add(e);
                    }
                    hidden.setCpuid(cleared);
                    for (CpuFeature f : features) {
                        // what the guest sees, which on some hosts is more than KVM says it supports
                        if (sees(cpu, ram.segment(), f)) {
                            outcomes.put(f, runOne(cpu, ram.segment(), f.probe(), 0, 0));
                            if (!sees(hidden, ram.segment(), f)) {
                                hidable.add(f);
                            }
                        }
                    }
                }
            } finally {
                vm.setUserMemoryRegion(0, 0, 0, 0, ram.address());
            }
        }
        return new Result(outcomes, hidable);
    }

    private static boolean sees(KvmVcpu cpu, MemorySegment m, CpuFeature f) {
        int[] r = cpuid(cpu, m, f.leaf());
        return r != null && (f.value(r[0], r[1], r[2], r[3]) & (1 << f.bit())) != 0;
    }

    /** Page tables (one 2 MiB page at 0), a flat GDT and an IDT whose 32 handlers report their vector. */
    private static void layout(MemorySegment m) {
        m.set(ValueLayout.JAVA_LONG, PML4, PDPT | 3);
        m.set(ValueLayout.JAVA_LONG, PDPT, PD | 3);
        m.set(ValueLayout.JAVA_LONG, PD, 0x83); // 2 MiB, writable, present
        m.set(ValueLayout.JAVA_LONG, GDT + 8, 0x00af9a000000ffffL); // 64-bit code
        m.set(ValueLayout.JAVA_LONG, GDT + 16, 0x00cf92000000ffffL); // data
        for (int v = 0; v < EXCEPTIONS; v++) {
            long h = HANDLERS + 16L * v;
            // mov $v, %al; out %al, $FAULT_PORT; hlt
            byte[] stub = {(byte) 0xb0, (byte) v, (byte) 0xe6, (byte) FAULT_PORT, (byte) 0xf4};
            MemorySegment.copy(MemorySegment.ofArray(stub), 0, m, h, stub.length);
            long gate = (h & 0xffff) | (0x8L << 16) | (0x8eL << 40) | (((h >> 16) & 0xffff) << 48);
            m.set(ValueLayout.JAVA_LONG, IDT + 16L * v, gate);
            m.set(ValueLayout.JAVA_LONG, IDT + 16L * v + 8, h >>> 32);
        }
    }

    private static Outcome runOne(KvmVcpu cpu, MemorySegment m, byte[] insn, long rax, long rcx) {
        byte[] code = new byte[insn.length + 3];
        System.arraycopy(insn, 0, code, 0, insn.length);
        code[insn.length] = (byte) 0xe6; // out %al, $DONE_PORT
        code[insn.length + 1] = (byte) DONE_PORT;
        code[insn.length + 2] = (byte) 0xf4;
        MemorySegment.copy(MemorySegment.ofArray(code), 0, m, CODE, code.length);
        m.asSlice(DATA, 64).fill((byte) 0);
        try {
            enter(cpu, rax, rcx);
            int exit = cpu.run();
            KvmRun run = cpu.kvmRun();
            if (exit == KvmExit.KVM_EXIT_IO && (run.ioPort() == DONE_PORT || run.ioPort() == FAULT_PORT)) {
                int port = run.ioPort();
                // KVM finishes an I/O exit at the next KVM_RUN: let it, without running the guest, so that
                // the next probe's registers are not changed under it
                run.setImmediateExit(true);
                try {
                    cpu.run();
                } finally {
                    run.setImmediateExit(false);
                }
                return port == DONE_PORT ? Outcome.RUNS : Outcome.FAULTS;
            }
            if (exit == KvmExit.KVM_EXIT_INTERNAL_ERROR && run.internalSuberror() == EmulationFailure.SUBERROR) {
                return Outcome.EMULATION_FAILURE;
            }
            return Outcome.UNKNOWN;
        } catch (RuntimeException e) {
            return Outcome.UNKNOWN;
        }
    }

    /** Executes {@code cpuid} for {@code leaf} (sub-leaf 0) on {@code cpu}; null when that did not work. */
    private static int[] cpuid(KvmVcpu cpu, MemorySegment m, int leaf) {
        if (runOne(cpu, m, new byte[] {0x0f, (byte) 0xa2}, leaf, 0) != Outcome.RUNS) {
            return null;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment regs = a.allocate(KvmRun.Regs.SIZE, 8);
            cpu.getRegs(regs);
            long ebx = regs.get(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RBX);
            long ecx = regs.get(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RCX);
            long edx = regs.get(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RDX);
            return new int[] {(int) regs.get(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RAX), (int) ebx, (int) ecx, (int) edx};
        }
    }

    /** Long mode at CPL 0, RIP at the code, RDI at the data, the given RAX and RCX. */
    private static void enter(KvmVcpu cpu, long rax, long rcx) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Sregs.SIZE, 8);
            cpu.getSregs(s);
            Sregs.setSegment(s, Sregs.CS, new Sregs.Segment(0, 0xffffffff, 8, 0xb, true, 0, false, true, true, true));
            Sregs.Segment data = new Sregs.Segment(0, 0xffffffff, 16, 0x3, true, 0, true, true, false, true);
            for (long seg : new long[] {Sregs.DS, Sregs.ES, Sregs.FS, Sregs.GS, Sregs.SS}) {
                Sregs.setSegment(s, seg, data);
            }
            Sregs.setTable(s, Sregs.GDT, GDT, 23);
            Sregs.setTable(s, Sregs.IDT, IDT, 16 * EXCEPTIONS - 1);
            Sregs.set(s, Sregs.CR3, PML4);
            Sregs.set(s, Sregs.CR0, 0x80050033L); // PG WP NE ET MP PE
            Sregs.set(s, Sregs.EFER, Sregs.EFER_LME | Sregs.EFER_LMA | (1 << 11)); // LME LMA NXE
            long cr4 = 0x20 | 0x200 | 0x400; // PAE OSFXSR OSXMMEXCPT
            Sregs.set(s, Sregs.CR4, cr4 | (1 << 18)); // and OSXSAVE, for xgetbv, where KVM accepts it
            try {
                cpu.setSregs(s);
            } catch (RuntimeException e) {
                Sregs.set(s, Sregs.CR4, cr4);
                cpu.setSregs(s);
            }
            MemorySegment r = a.allocate(KvmRun.Regs.SIZE, 8);
            r.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RIP, CODE);
            r.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RSP, STACK_TOP);
            r.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RDI, DATA);
            r.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RAX, rax);
            r.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RCX, rcx);
            r.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RFLAGS, 2);
            cpu.setRegs(r);
        }
    }
}

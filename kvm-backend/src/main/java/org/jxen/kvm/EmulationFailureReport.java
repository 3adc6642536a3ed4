package org.jxen.kvm;

import java.util.Optional;
import java.util.function.LongFunction;
import org.jxen.gpc.MemoryMap;
import org.jxen.gpc.Memslot;

/**
 * Says what a vCPU was doing when KVM failed to emulate an instruction: the instruction's bytes and
 * shape, the guest-virtual address of its memory operand, what KVM's own page walk
 * ({@code KVM_TRANSLATE}) makes of it and which memslot holds that guest-physical address. KVM
 * emulates an access the hardware did not complete (MMIO: a gpa without a memslot; a write to a
 * read-only or write-tracked page; on hosts that emulate guest kernel code, everything), so that
 * last step tells a memory-map problem from an emulator gap. Stateless.
 */
public final class EmulationFailureReport {
    /** ModRM register number to {@link KvmRun.Regs} index: rax rcx rdx rbx rsp rbp rsi rdi, then r8-r15 alike. */
    private static final int[] MODRM_TO_KVM = {KvmRun.Regs.RAX, KvmRun.Regs.RCX, KvmRun.Regs.RDX, KvmRun.Regs.RBX,
        KvmRun.Regs.RSP, KvmRun.Regs.RBP, KvmRun.Regs.RSI, KvmRun.Regs.RDI, 8, 9, 10, 11, 12, 13, 14, 15};
    private static final String[] KVM_NAMES = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9",
        "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags"};

    /**
     * The vCPU's state at the exit: {@code regs} in {@link KvmRun.Regs} order (18 values, RIP and
     * RFLAGS last), the control registers, EFER, CPL, 64-bit code or not, and the FS and GS bases.
     */
    public record State(long[] regs, long cr0, long cr2, long cr3, long cr4, long efer, int cpl, boolean longMode,
            long fsBase, long gsBase) {
        public State {
            if (regs.length != 18) {
                throw new IllegalArgumentException("18 registers expected: " + regs.length);
            }
            regs = regs.clone();
        }

        long rip() {
            return regs[KvmRun.Regs.RIP];
        }
    }

    private EmulationFailureReport() {
    }

    /**
     * One line: the instruction and the address it touches. {@code translate} is the vCPU's
     * {@code KVM_TRANSLATE} (null or throwing: unknown), {@code map} the guest memory map.
     */
    public static String describe(EmulationFailure f, State s, LongFunction<KvmVcpu.Translation> translate,
            MemoryMap map) {
        StringBuilder b = new StringBuilder("KVM could not emulate the instruction at rip 0x")
                .append(Long.toHexString(s.rip())).append(" (cpl ").append(s.cpl())
                .append(s.longMode() ? ", 64-bit code)" : ", 32-bit or 16-bit code)");
        byte[] insn = f.instruction();
        if (insn.length == 0) {
            return b.append(" and did not say its bytes").toString();
        }
        Optional<X86Instruction> d = f.decode(s.longMode());
        b.append(": ");
        if (d.isEmpty()) {
            return b.append(X86Instruction.hex(insn, insn.length)).append(" (not decoded)").toString();
        }
        X86Instruction x = d.get();
        b.append(X86Instruction.hex(insn, x.length())).append(" (").append(shape(x)).append(')');
        X86Instruction.MemoryOperand m = x.memory();
        if (m == null) {
            return b.append("; no memory operand").toString();
        }
        long gva = m.address(r -> s.regs()[MODRM_TO_KVM[r]], s.rip() + x.length(),
                seg -> seg == X86Instruction.FS ? s.fsBase() : seg == X86Instruction.GS ? s.gsBase() : 0);
        b.append("; memory operand ").append(m).append(" = gva 0x").append(Long.toHexString(gva));
        KvmVcpu.Translation t = null;
        try {
            t = translate == null ? null : translate.apply(gva);
        } catch (RuntimeException e) {
            t = null;
        }
        if (t == null) {
            return b.append(" (not translated)").toString();
        }
        if (!t.valid()) {
            return b.append(" -> not mapped by the guest's page tables").toString();
        }
        b.append(" -> gpa 0x").append(Long.toHexString(t.gpa())).append(t.writeable() ? "" : " (read-only mapping)");
        Memslot slot = map.find(t.gpa());
        if (slot == null) {
            b.append(", in no memslot: KVM treats the access as MMIO");
        } else {
            b.append(", in memslot ").append(slot.id()).append(" (").append(slot.memory().name())
                    .append(slot.isReadOnly() ? ", read-only" : "").append(')');
        }
        return b.toString();
    }

    /** The registers, control registers and EFER, for a log. */
    public static String registers(State s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 18; i++) {
            b.append(i % 6 == 0 ? (i == 0 ? "" : "\n") : " ").append(String.format("%-6s %016x", KVM_NAMES[i],
                    s.regs()[i]));
        }
        return b.append(String.format("%ncr0    %016x cr2    %016x cr3    %016x cr4    %016x efer   %016x cpl %d",
                s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.efer(), s.cpl())).toString();
    }

    private static String shape(X86Instruction x) {
        StringBuilder b = new StringBuilder("opcode ");
        b.append(switch (x.map()) {
            case 2 -> "0f ";
            case 3 -> "0f 38 ";
            case 4 -> "0f 3a ";
            default -> "";
        });
        b.append(String.format("%02x", x.opcode()));
        if (x.modrmReg() >= 0) {
            b.append(" /").append(x.modrmReg() & 7);
        }
        if (x.vex()) {
            b.append(", VEX");
        }
        if ((x.rex() & 8) != 0) {
            b.append(", REX.W");
        }
        if (x.lock()) {
            b.append(", lock");
        }
        if (x.repPrefix() != 0) {
            b.append(String.format(", %02x prefix", x.repPrefix()));
        }
        if (x.operandSize16()) {
            b.append(", 66 prefix");
        }
        return b.toString();
    }
}

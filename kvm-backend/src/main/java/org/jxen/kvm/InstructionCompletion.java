package org.jxen.kvm;

import java.util.Optional;
import java.util.function.IntSupplier;

/**
 * Instructions that KVM failed to emulate ({@link EmulationFailure}) and that jxen can finish exactly
 * in userspace, because their whole effect is an exception or nothing.
 *
 * <p>Where this matters: on the project's hosts KVM runs a guest's supervisor-mode code through its
 * instruction emulator (docs/kvm-backend.md, "Guest kernel code is emulated here"), and the emulator
 * has gaps. Two of them every Linux kernel reaches, and neither can be avoided by hiding a CPUID bit:
 * <ul>
 * <li>{@code int3} ({@code CC}): KVM's emulator does software interrupts only in real mode. The
 * instruction raises {@code #BP} as a trap: jxen moves RIP past it and injects {@code #BP}, which KVM
 * delivers through the guest's IDT with the RIP after the {@code int3}, as the CPU does (Linux's
 * alternatives self-test executes one on every boot; its live patching uses them).</li>
 * <li>{@code fwait} ({@code 9B}): raises {@code #NM} when CR0.TS and CR0.MP are set, {@code #MF}
 * (with CR0.NE) when the x87 status word has an unmasked exception pending (FSW.ES), and otherwise
 * does nothing; both are faults (RIP stays). Linux executes one whenever a task's FPU state is
 * dropped.</li>
 * </ul>
 * Anything else is not completed: the vCPU stops with a report (what the instruction is and which
 * address it touches). Stateless.
 */
public final class InstructionCompletion {
    public static final long CR0_PE = 1;
    public static final long CR0_MP = 1 << 1;
    public static final long CR0_TS = 1 << 3;
    public static final long CR0_NE = 1 << 5;
    /** x87 status word bit 7: exception summary (an unmasked exception is pending). */
    public static final int FSW_ES = 1 << 7;
    /** Exception vectors. */
    public static final int BP = 3;
    public static final int NM = 7;
    public static final int MF = 16;

    /** What jxen does in the guest's place. */
    public sealed interface Action permits Advance, Inject {
        /** A short name for logs and counters ("int3", "fwait"). */
        String instruction();
    }

    /** The instruction has no effect left to emulate: move RIP past its {@code length} bytes. */
    public record Advance(String instruction, int length) implements Action {
    }

    /** Move RIP by {@code advance} bytes (0 for a fault), then deliver exception {@code vector}. */
    public record Inject(String instruction, int vector, int advance) implements Action {
    }

    private InstructionCompletion() {
    }

    /**
     * What to do for {@code failure} on a vCPU in {@code longMode} (64-bit code) with {@code cr0};
     * {@code x87StatusWord} is asked only for an {@code fwait}. Empty: jxen cannot complete it.
     */
    public static Optional<Action> of(EmulationFailure failure, boolean longMode, long cr0, IntSupplier x87StatusWord) {
        Optional<X86Instruction> d = failure.decode(longMode);
        if (d.isEmpty() || (cr0 & CR0_PE) == 0) {
            return Optional.empty(); // real mode: KVM emulates these itself
        }
        X86Instruction insn = d.get();
        if (insn.map() != 1 || insn.length() != 1) {
            return Optional.empty(); // no prefixes on these one-byte instructions
        }
        return switch (insn.opcode()) {
            case 0xcc -> Optional.of(new Inject("int3", BP, 1));
            case 0x9b -> {
                if ((cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) {
                    yield Optional.of(new Inject("fwait", NM, 0));
                }
                if ((cr0 & CR0_NE) != 0 && (x87StatusWord.getAsInt() & FSW_ES) != 0) {
                    yield Optional.of(new Inject("fwait", MF, 0));
                }
                yield Optional.of(new Advance("fwait", 1));
            }
            default -> Optional.empty();
        };
    }
}

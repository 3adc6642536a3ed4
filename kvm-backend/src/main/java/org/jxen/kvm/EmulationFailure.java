package org.jxen.kvm;

import java.util.Arrays;
import java.util.Optional;

/**
 * A {@code KVM_EXIT_INTERNAL_ERROR} with suberror {@code KVM_INTERNAL_ERROR_EMULATION}: KVM had to
 * emulate an instruction and could not. With {@code KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES}
 * in {@code flags}, KVM says which bytes it fetched ({@code struct kvm_run}'s
 * {@code emulation_failure}: {@code flags}, {@code insn_size}, {@code insn_bytes[15]}, then
 * data of its own, such as the exit reason, which is not ABI). Immutable.
 *
 * @param flags the {@code flags} word
 * @param instruction the instruction bytes KVM fetched (empty when it did not say)
 * @param extra the data words after the instruction bytes (not ABI: for reports only)
 */
public record EmulationFailure(long flags, byte[] instruction, long[] extra) {
    /** {@code KVM_INTERNAL_ERROR_EMULATION}. */
    public static final int SUBERROR = 1;
    /** {@code KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES}. */
    public static final long FLAG_INSTRUCTION_BYTES = 1;

    public EmulationFailure {
        instruction = instruction.clone();
        extra = extra.clone();
    }

    /**
     * Decodes {@code kvm_run.internal} ({@code suberror} and the first {@code ndata} words of
     * {@code data}); empty for another suberror. Tolerates a short or odd {@code ndata}.
     */
    public static Optional<EmulationFailure> of(int suberror, long[] data) {
        if (suberror != SUBERROR) {
            return Optional.empty();
        }
        long flags = data.length > 0 ? data[0] : 0;
        byte[] insn = new byte[0];
        int next = 1;
        if ((flags & FLAG_INSTRUCTION_BYTES) != 0 && data.length >= 3) {
            byte[] raw = new byte[16];
            for (int i = 0; i < 16; i++) {
                raw[i] = (byte) (data[1 + i / 8] >>> (8 * (i % 8)));
            }
            int size = Math.min(Byte.toUnsignedInt(raw[0]), 15);
            insn = Arrays.copyOfRange(raw, 1, 1 + size);
            next = 3;
        }
        long[] extra = next < data.length ? Arrays.copyOfRange(data, next, data.length) : new long[0];
        return Optional.of(new EmulationFailure(flags, insn, extra));
    }

    @Override
    public byte[] instruction() {
        return instruction.clone();
    }

    @Override
    public long[] extra() {
        return extra.clone();
    }

    /** The instruction decoded (64-bit mode when {@code longMode}), if KVM gave its bytes and they decode. */
    public Optional<X86Instruction> decode(boolean longMode) {
        return X86Instruction.decode(instruction, instruction.length, longMode);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EmulationFailure f && flags == f.flags && Arrays.equals(instruction, f.instruction)
                && Arrays.equals(extra, f.extra);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(flags) * 31 + Arrays.hashCode(instruction);
    }

    @Override
    public String toString() {
        return "EmulationFailure[flags=" + flags + ", instruction=" + X86Instruction.hex(instruction, instruction.length)
                + ", extra=" + Arrays.toString(extra) + "]";
    }
}

package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.Optional;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;

class InstructionCompletionTest {
    static final long PROTECTED = InstructionCompletion.CR0_PE | InstructionCompletion.CR0_NE;
    static final IntSupplier NO_FSW = () -> {
        throw new AssertionError("the x87 status word is not needed");
    };

    /** The failure KVM reports: flags 1, then insn_size and 15 bytes in two words, then its own data. */
    static EmulationFailure failure(String hex) {
        byte[] insn = HexFormat.of().parseHex(hex.replace(" ", ""));
        byte[] raw = new byte[16];
        raw[0] = (byte) insn.length;
        System.arraycopy(insn, 0, raw, 1, insn.length);
        long w0 = 0;
        long w1 = 0;
        for (int i = 0; i < 8; i++) {
            w0 |= (raw[i] & 0xffL) << (8 * i);
            w1 |= (raw[8 + i] & 0xffL) << (8 * i);
        }
        return EmulationFailure.of(1, new long[] {1, w0, w1, 4096, 0}).orElseThrow();
    }

    @Test
    void parsesTheRealFailure() {
        EmulationFailure f = EmulationFailure.of(1, new long[] {1, 4620779834544025615L, 6013712345934042127L, 4096, 0, 0,
            0, 0}).orElseThrow();
        assertEquals("f0 48 0f c7 4e 20 40 0f 94 c7 40 84 ff 74 53", X86Instruction.hex(f.instruction(), 15));
        assertEquals(5, f.extra().length);
        assertEquals(4096, f.extra()[0]);
        assertFalse(EmulationFailure.of(2, new long[] {1, 2, 3}).isPresent(), "another suberror");
        assertEquals(0, EmulationFailure.of(1, new long[] {0, 7}).orElseThrow().instruction().length, "no bytes flag");
        assertEquals(0, EmulationFailure.of(1, new long[0]).orElseThrow().instruction().length, "ndata 0");
    }

    @Test
    void int3IsATrapDeliveredAsBreakpoint() {
        Optional<InstructionCompletion.Action> a = InstructionCompletion.of(failure("cc 90 90 90 90"), true, PROTECTED,
                NO_FSW);
        assertEquals(Optional.of(new InstructionCompletion.Inject("int3", 3, 1)), a);
        assertEquals(Optional.of(new InstructionCompletion.Inject("int3", 3, 1)),
                InstructionCompletion.of(failure("cc"), false, PROTECTED, NO_FSW), "32-bit protected mode too");
    }

    @Test
    void fwaitFaultsOrDoesNothing() {
        long tsMp = PROTECTED | InstructionCompletion.CR0_TS | InstructionCompletion.CR0_MP;
        assertEquals(Optional.of(new InstructionCompletion.Inject("fwait", 7, 0)),
                InstructionCompletion.of(failure("9b"), true, tsMp, NO_FSW), "#NM before any x87 check");
        assertEquals(Optional.of(new InstructionCompletion.Advance("fwait", 1)),
                InstructionCompletion.of(failure("9b"), true, PROTECTED | InstructionCompletion.CR0_TS, () -> 0),
                "TS without MP: fwait does not fault");
        assertEquals(Optional.of(new InstructionCompletion.Inject("fwait", 16, 0)),
                InstructionCompletion.of(failure("9b"), true, PROTECTED, () -> 0x84), "#MF: ES set, NE set");
        assertEquals(Optional.of(new InstructionCompletion.Advance("fwait", 1)),
                InstructionCompletion.of(failure("9b"), true, InstructionCompletion.CR0_PE, () -> 0x84),
                "ES with NE clear: no #MF (the legacy FERR# path is not modelled)");
        assertEquals(Optional.of(new InstructionCompletion.Advance("fwait", 1)),
                InstructionCompletion.of(failure("9b 65 48"), true, PROTECTED, () -> 0x3800), "nothing pending");
    }

    @Test
    void everythingElseIsNotCompleted() {
        for (String hex : new String[] {"f0 48 0f c7 4e 20", "0f ae 2f", "0f 01 d0", "f3 48 0f b8 c0", "0f 01 f9",
            "0f 01 ca", "66 cc", "f3 90", "cd 03", "9b db e3"}) {
            Optional<InstructionCompletion.Action> a = InstructionCompletion.of(failure(hex), true, PROTECTED, () -> 0);
            if (hex.equals("9b db e3")) {
                // fwait decodes alone: the fninit after it is the next instruction
                assertEquals(Optional.of(new InstructionCompletion.Advance("fwait", 1)), a);
                continue;
            }
            assertFalse(a.isPresent(), hex + " -> " + a);
        }
        assertFalse(InstructionCompletion.of(failure("cc"), false, 0, NO_FSW).isPresent(), "real mode");
        assertFalse(InstructionCompletion.of(EmulationFailure.of(1, new long[] {0}).orElseThrow(), true, PROTECTED,
                NO_FSW).isPresent(), "no bytes");
        assertTrue(InstructionCompletion.of(failure("cc"), true, PROTECTED, NO_FSW).isPresent());
    }
}

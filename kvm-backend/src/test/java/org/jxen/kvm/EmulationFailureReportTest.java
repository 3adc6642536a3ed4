package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.gpc.Memslot;
import org.junit.jupiter.api.Test;

class EmulationFailureReportTest {
    static EmulationFailureReport.State state(long rsi, long rip) {
        long[] regs = new long[18];
        regs[KvmRun.Regs.RSI] = rsi;
        regs[KvmRun.Regs.RIP] = rip;
        return new EmulationFailureReport.State(regs, 0x80050033L, 0, 0x2c22000, 0x110ef0, 0xd01, 0, true, 0, 0);
    }

    @Test
    void namesTheInstructionTheAddressAndTheMemslot() {
        EmulationFailure f = InstructionCompletionTest.failure("f0 48 0f c7 4e 20 40 0f 94 c7 40 84 ff 74");
        GuestMemory m = new GuestMemory("report");
        try (HostMemory ram = HostMemory.offHeap("jxen-ram-low", 0x10000);
             HostMemory rom = HostMemory.offHeap("rom", 0x1000)) {
            m.addSlot(0, 0, 0x10000, ram, 0, 0);
            m.addSlot(3, 0x20000, 0x1000, rom, 0, Memslot.READONLY);
            EmulationFailureReport.State s = state(0xffffea0000101000L, 0xffffffff813c2c5cL);
            String ram0 = EmulationFailureReport.describe(f, s,
                    gva -> new KvmVcpu.Translation(gva, 0x1020, true, true, false), m.currentMap());
            assertEquals("KVM could not emulate the instruction at rip 0xffffffff813c2c5c (cpl 0, 64-bit code): "
                    + "f0 48 0f c7 4e 20 (opcode 0f c7 /1, REX.W, lock); memory operand [rsi + 0x20] = gva "
                    + "0xffffea0000101020 -> gpa 0x1020, in memslot 0 (jxen-ram-low)", ram0);
            String mmio = EmulationFailureReport.describe(f, s,
                    gva -> new KvmVcpu.Translation(gva, 0xfee00020L, true, true, false), m.currentMap());
            assertTrue(mmio.endsWith("-> gpa 0xfee00020, in no memslot: KVM treats the access as MMIO"), mmio);
            String ro = EmulationFailureReport.describe(f, s,
                    gva -> new KvmVcpu.Translation(gva, 0x20020, true, false, false), m.currentMap());
            assertTrue(ro.endsWith("-> gpa 0x20020 (read-only mapping), in memslot 3 (rom, read-only)"), ro);
            String unmapped = EmulationFailureReport.describe(f, s,
                    gva -> new KvmVcpu.Translation(gva, -1, false, false, false), m.currentMap());
            assertTrue(unmapped.endsWith("-> not mapped by the guest's page tables"), unmapped);
            String failing = EmulationFailureReport.describe(f, s, gva -> {
                throw new IllegalStateException("KVM_TRANSLATE failed");
            }, m.currentMap());
            assertTrue(failing.endsWith("(not translated)"), failing);
            m.removeSlot(0);
            m.removeSlot(3);
        }
    }

    @Test
    void withoutBytesOrOperand() {
        GuestMemory m = new GuestMemory("report");
        EmulationFailure none = EmulationFailure.of(1, new long[] {0}).orElseThrow();
        assertEquals("KVM could not emulate the instruction at rip 0x1000 (cpl 0, 64-bit code) and did not say its bytes",
                EmulationFailureReport.describe(none, state(0, 0x1000), null, m.currentMap()));
        String reg = EmulationFailureReport.describe(InstructionCompletionTest.failure("0f 01 d0"), state(0, 0x1000), null,
                m.currentMap());
        assertTrue(reg.endsWith(": 0f 01 d0 (opcode 0f 01 /2); no memory operand"), reg);
        String evex = EmulationFailureReport.describe(InstructionCompletionTest.failure("62 f1 fd 48 ef c0"),
                state(0, 0x1000), null, m.currentMap());
        assertTrue(evex.endsWith(": 62 f1 fd 48 ef c0 (not decoded)"), evex);
        String regs = EmulationFailureReport.registers(state(0x1234, 0x1000));
        assertTrue(regs.contains("rsi    0000000000001234") && regs.contains("rip    0000000000001000")
                && regs.contains("cr3    0000000002c22000"), regs);
    }
}

package org.jxen.kvm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class BootStateTest {
    @Test
    void pvh32IsFlatProtectedModeWithPagingOff() {
        BootState s = BootState.pvh32(0x100040, 0x200000);
        assertEquals(0x100040, s.rip());
        assertEquals(0x200000, s.rbx(), "EBX = hvm_start_info");
        assertEquals(0x2, s.rflags());
        assertEquals(0x11, s.cr0(), "PE | ET, no PG");
        assertEquals(0, s.cr4());
        assertEquals(0, s.efer(), "no long mode");

        BootState.Segment cs = s.cs();
        assertEquals(new BootState.Segment(0, 0xffffffff, 0x10, 0xb, true, 0, true, true, false, true), cs);
        for (BootState.Segment d : List.of(s.ds(), s.es(), s.fs(), s.gs(), s.ss())) {
            assertEquals(new BootState.Segment(0, 0xffffffff, 0x18, 0x3, true, 0, true, true, false, true), d);
        }
        BootState.Segment tr = s.tr();
        assertEquals(0xb, tr.type(), "busy 32-bit TSS, as VMX entry requires");
        assertTrue(tr.present());
        assertFalse(tr.s(), "a system segment");
        assertEquals(0, tr.selector() & 4, "TR's selector must point into the GDT");
        assertTrue(tr.limit() >= 0x67, "at least a minimal 32-bit TSS");
        assertFalse(s.ldt().present(), "no LDT");
    }

    @Test
    void addressesMustBeBelow4Gib() {
        assertThrows(IllegalArgumentException.class, () -> BootState.pvh32(1L << 32, 0));
        assertThrows(IllegalArgumentException.class, () -> BootState.pvh32(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> BootState.pvh32(0x100000, 1L << 32));
        assertEquals(0xffffffffL, BootState.pvh32(0xffffffffL, 0xfffffff8L).rip());
    }
}

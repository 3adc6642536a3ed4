package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jxen.abi.XenCpuid;
import org.jxen.hypercalls.time.TscScale;
import org.junit.jupiter.api.Test;

/** The Xen CPUID leaves jxen builds, in particular the TSC leaf base+3 (xen/arch-x86/cpuid.h). */
class XenCpuidLeavesTest {
    static final int BASE = XenCpuid.BASE;

    static CpuidEntry leaf(List<CpuidEntry> table, int function, int index) {
        return table.stream().filter(e -> e.function() == function && e.index() == index).findFirst()
                .orElseThrow(() -> new AssertionError(String.format("no leaf 0x%x.%d", function, index)));
    }

    @Test
    void theTscLeafSaysNeverEmulatedWithTheFrequencyAndTheNominalScale() {
        List<CpuidEntry> supported = List.of(
                new CpuidEntry(0x80000001, 0, 0, 0, 0, 0, 1 << 27), // RDTSCP
                new CpuidEntry(0x80000007, 0, 0, 0, 0, 0, 1 << 8), // invariant TSC
                new CpuidEntry(0x40000001, 0, 0, 0x4b4d564b, 0, 0, 0)); // KVM's own leaf: dropped
        List<CpuidEntry> t = XenCpuidLeaves.forVcpu(supported, 1, 4, 17, 2_600_000);
        assertTrue(t.stream().noneMatch(e -> e.function() == 0x40000001 && e.eax() == 0x4b4d564b));
        CpuidEntry s0 = leaf(t, BASE + 3, 0);
        assertEquals((1 << 1) | (1 << 2), s0.eax(), "reliable host TSC, RDTSCP; not emulated");
        assertEquals(2, s0.ebx(), "tsc_mode 2: never emulate");
        assertEquals(2_600_000, s0.ecx(), "guest TSC kHz");
        assertEquals(0, s0.edx(), "incarnation");
        TscScale scale = TscScale.forFrequency(2_600_000_000L);
        CpuidEntry s1 = leaf(t, BASE + 3, 1);
        assertEquals(List.of(0, 0, scale.mul(), scale.shift()), List.of(s1.eax(), s1.ebx(), s1.ecx(), s1.edx()));
        assertEquals(-1, s1.edx(), "a negative shift, sign-extended as Xen does");
        assertEquals(2_600_000, leaf(t, BASE + 3, 2).eax(), "host TSC kHz");
        for (int i = 0; i < 3; i++) {
            assertEquals(CpuidEntry.FLAG_SIGNIFICANT_INDEX, leaf(t, BASE + 3, i).flags());
        }
        assertEquals(BASE + 4, leaf(t, BASE, 0).eax(), "highest leaf");
        assertEquals(1, leaf(t, BASE + 4, 0).ebx(), "vCPU id");
    }

    @Test
    void withoutAFrequencyOrHostFeaturesTheLeafSaysLess() {
        List<CpuidEntry> none = XenCpuidLeaves.forVcpu(List.of(), 0, 4, 17);
        CpuidEntry s0 = leaf(none, BASE + 3, 0);
        assertEquals(List.of(0, 0, 0, 0), List.of(s0.eax(), s0.ebx(), s0.ecx(), s0.edx()));
        assertTrue(none.stream().noneMatch(e -> e.function() == BASE + 3 && e.index() != 0));
        CpuidEntry plain = leaf(XenCpuidLeaves.forVcpu(List.of(), 0, 4, 17, 1_000_000), BASE + 3, 0);
        assertEquals(0, plain.eax(), "no invariant TSC, no RDTSCP on this host");
        assertEquals(1_000_000, plain.ecx());
    }

    @Test
    void hiddenFeaturesLeaveTheirBitsAndNothingElse() {
        List<CpuidEntry> supported = List.of(
                new CpuidEntry(1, 0, 0, 0x000a0671, 0x00020800, 0x81202000 | (1 << 23), 0x0f8bfbff), // CX16, POPCNT
                new CpuidEntry(7, 0, 1, 0, 0x01802852, 0, 0),
                new CpuidEntry(0x80000001, 0, 0, 0, 0, 0x101, 0x20100800 | (1 << 27)),
                new CpuidEntry(0x80000007, 0, 0, 0, 0, 0, 1 << 8));
        List<CpuidEntry> t = XenCpuidLeaves.forVcpu(supported, 0, 4, 17, 2_600_000,
                java.util.Set.of(CpuFeature.CX16, CpuFeature.RDTSCP));
        CpuidEntry l1 = leaf(t, 1, 0);
        assertEquals(0x81200000 | (1 << 23), l1.ecx(), "CX16 gone, POPCNT and the rest kept");
        assertEquals(0x0f8bfbff, l1.edx());
        assertEquals(0x20100800, leaf(t, 0x80000001, 0).edx(), "RDTSCP gone");
        assertEquals(0x101, leaf(t, 0x80000001, 0).ecx());
        assertEquals(0x01802852, leaf(t, 7, 0).ebx(), "leaf 7 untouched");
        assertEquals(1 << 1, leaf(t, BASE + 3, 0).eax(), "Xen's TSC leaf no longer offers RDTSCP");
        assertEquals(supported.get(0).ecx(), XenCpuidLeaves.forVcpu(supported, 0, 4, 17, 0, java.util.Set.of())
                .stream().filter(e -> e.function() == 1).findFirst().orElseThrow().ecx(), "nothing hidden by default");
    }

    @Test
    void featureBitsAreWhereIntelAndLinuxPutThem() {
        assertEquals(13, CpuFeature.CX16.bit());
        assertEquals(CpuFeature.Reg.ECX, CpuFeature.CX16.register());
        assertEquals(27, CpuFeature.RDTSCP.bit());
        assertEquals(0x80000001, CpuFeature.RDTSCP.leaf());
        assertEquals(20, CpuFeature.SMAP.bit());
        assertEquals(7, CpuFeature.SMAP.leaf());
        assertEquals("sha_ni", CpuFeature.SHA_NI.linuxName());
    }
}

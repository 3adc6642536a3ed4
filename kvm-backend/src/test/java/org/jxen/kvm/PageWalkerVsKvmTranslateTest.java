package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.mm.Access;
import org.jxen.hypercalls.mm.PageWalker;
import org.jxen.hypercalls.mm.PagingMode;
import org.jxen.hypercalls.mm.PagingState;
import org.jxen.hypercalls.mm.WalkFault;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * jxen's page walker ({@code org.jxen.hypercalls.mm.PageWalker}) against KVM's own guest page walk
 * ({@code KVM_TRANSLATE}) over random page tables in 4-level, PAE and 2-level paging.
 *
 * <p>What {@code KVM_TRANSLATE} can tell: it walks as a supervisor-mode read ({@code
 * kvm_mmu_gva_to_gpa_system}) and answers valid and gpa; its {@code writeable} and {@code usermode}
 * fields are constants (1 and 0) in the kernel, so they say nothing about the entries. To compare the
 * user bit as well, each address is translated twice: with CR4.SMAP = 0, KVM's answer must equal the
 * walker's CPL-0 read; with CR4.SMAP = 1 (and RFLAGS.AC = 0), a supervisor read of a user page faults,
 * so KVM's answer is valid exactly when the walker's CPL-0 read succeeds <i>and</i> the page is not
 * user-accessible at every level ({@link PageWalker#lastUserAccessible()}). R/W cannot be compared
 * through {@code KVM_TRANSLATE}.
 *
 * <p>PAE and 2-level: on the development host (kernel 6.18, nested on an Intel Xeon) KVM_SET_SREGS
 * silently drops CR0.PG whenever EFER.LME = 0, and a guest that sets CR0.PG itself shuts down, so
 * KVM_TRANSLATE never walks 32-bit tables there; those cases detect it and skip, saying so. Where KVM
 * keeps CR0.PG they compare like the 4-level case. Likewise the SMAP pass and 1 GiB pages run only
 * where KVM offers SMAP and GBPAGES in KVM_GET_SUPPORTED_CPUID (not on the development host).
 *
 * <p>Known and accepted differences, counted and printed rather than compared: non-canonical
 * addresses (the walker refuses them; KVM's software walk indexes with bits 47:0), and in 2-level
 * paging 4 MiB PDEs with PDE bits 17-20 set (KVM takes PSE-36 as 36 bits and calls them reserved;
 * the SDM, which the walker follows, makes them address bits 36-39 when MAXPHYADDR >= 40).
 */
class PageWalkerVsKvmTranslateTest {
    static final long RAM = 8L << 20;
    static final long P = 1;
    static final long RW = 2;
    static final long US = 4;
    static final long PS = 0x80;
    static final long CR4_SMAP = 1L << 21;

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    static List<Arguments> seeds() {
        String fixed = System.getProperty("jxen.seed");
        long base = fixed != null ? Long.parseLong(fixed) : System.nanoTime();
        List<Arguments> a = new ArrayList<>();
        for (PagingMode mode : new PagingMode[] {PagingMode.FOUR_LEVEL, PagingMode.PAE, PagingMode.TWO_LEVEL}) {
            for (int i = 0; i < 4; i++) {
                a.add(Arguments.of(mode, base + i));
            }
        }
        return a;
    }

    /** Random page tables of one mode, written into guest RAM from gpa 0x1000 on. */
    static final class Tables {
        final Random r;
        final PagingMode mode;
        final GuestMemory memory;
        final int maxPhy;
        final boolean gbpages;
        final boolean nxe;
        final Map<Long, List<Integer>> used = new HashMap<>();
        final Map<Long, Long> child = new HashMap<>(); // (table << 12 | index) -> child table in RAM
        long next = 0x1000;
        int budget = 300;

        Tables(Random r, PagingMode mode, GuestMemory memory, int maxPhy, boolean gbpages, boolean nxe) {
            this.r = r;
            this.mode = mode;
            this.memory = memory;
            this.maxPhy = maxPhy;
            this.gbpages = gbpages;
            this.nxe = nxe;
        }

        int top() {
            return mode == PagingMode.FOUR_LEVEL ? 4 : mode == PagingMode.PAE ? 3 : 2;
        }

        int indexBits(int level) {
            return mode == PagingMode.TWO_LEVEL ? 10 : mode == PagingMode.PAE && level == 3 ? 2 : 9;
        }

        int shift(int level) {
            return mode == PagingMode.TWO_LEVEL ? 12 + 10 * (level - 1) : 12 + 9 * (level - 1);
        }

        long newTable() {
            long t = next;
            next += 0x1000;
            budget--;
            return t;
        }

        long bits(int lo, int hi) {
            return lo > hi ? 0 : (hi == 63 ? -1L : (1L << (hi + 1)) - 1) & -(1L << lo);
        }

        long randomBit(int lo, int hi) {
            return 1L << (lo + r.nextInt(hi - lo + 1));
        }

        void fill(long table, int level) {
            int n = level == top() ? 4 : 1 + r.nextInt(5);
            List<Integer> idxs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int idx = level == top() && mode == PagingMode.PAE ? i : r.nextInt(1 << indexBits(level));
                if (idxs.contains(idx)) {
                    continue;
                }
                idxs.add(idx);
                long e = entry(table, idx, level);
                if (mode == PagingMode.TWO_LEVEL) {
                    memory.putInt(table + 4L * idx, (int) e);
                } else {
                    memory.putLong(table + 8L * idx, e);
                }
            }
            used.put(table, idxs);
        }

        long entry(long table, int idx, int level) {
            boolean pdpte = mode == PagingMode.PAE && level == 3;
            boolean two = mode == PagingMode.TWO_LEVEL;
            int k = r.nextInt(100);
            long flags = P | (pdpte ? 0 : (r.nextInt(4) != 0 ? RW : 0) | (r.nextInt(4) != 0 ? US : 0)
                    | (r.nextBoolean() ? 0x20 : 0) | ((long) r.nextInt(8) << 9));
            if (!pdpte && !two && nxe && r.nextBoolean()) {
                flags |= 1L << 63; // XD: no meaning for a data access
            }
            if (mode == PagingMode.FOUR_LEVEL && r.nextInt(4) == 0) {
                flags |= randomBit(52, 58); // ignored in 4-level paging
            }
            long sizeShift = shift(level);
            if (k < 8) {
                return r.nextLong() & ~1L & (two ? 0xffff_ffffL : -1L); // not present, garbage elsewhere
            }
            long highLimit = two ? 32 : maxPhy;
            boolean large = !pdpte && ((level == 2 && k < 40) || (level == 3 && gbpages && mode == PagingMode.FOUR_LEVEL
                    && k < 30));
            if (two && large && k >= 40 - 8) {
                large = true;
            }
            if (level == 1 || large) {
                long gpa = (r.nextLong() & ((1L << highLimit) - 1)) & -(1L << sizeShift);
                long e = flags | gpa | (r.nextBoolean() ? 0x40 : 0) | (r.nextBoolean() ? 0x100 : 0);
                if (large) {
                    e |= PS | (r.nextBoolean() ? 0x1000 : 0); // PAT bit of a large page
                    if (two) {
                        int pse36 = Math.min(maxPhy, 36) - 32;
                        e |= ((r.nextLong() & ((1L << pse36) - 1)) << 13);
                    }
                }
                if (k % 10 == 9) { // a reserved bit
                    e |= reservedBit(level, large);
                }
                return e;
            }
            if (k < 14 || budget <= 0) { // a table outside RAM
                return flags | (RAM + 0x1000L * r.nextInt(1000));
            }
            long t = newTable();
            long e = flags | t;
            if (k < 20 && !two) {
                long rb = reservedBit(level, false);
                if (rb != 0 && !pdpte) { // PAE PDPTEs stay valid: KVM_SET_SREGS loads them
                    return e | rb;
                }
            }
            child.put(table << 12 | idx, t);
            fill(t, level - 1);
            return e;
        }

        long reservedBit(int level, boolean large) {
            if (mode == PagingMode.TWO_LEVEL) {
                return large ? 1L << 21 : 0;
            }
            List<Long> c = new ArrayList<>();
            int hi = mode == PagingMode.FOUR_LEVEL ? 51 : 62;
            if (maxPhy <= hi) {
                c.add(randomBit(maxPhy, hi));
            }
            if (!nxe) {
                c.add(1L << 63);
            }
            if (level == 4) {
                c.add(PS);
            }
            if (large) {
                c.add(randomBit(13, level == 3 ? 29 : 20));
            }
            return c.get(r.nextInt(c.size()));
        }

        long address(long root) {
            long gva = 0;
            long t = root;
            for (int level = top(); level >= 1 && t >= 0; level--) {
                List<Integer> idxs = used.get(t);
                int idx = r.nextInt(8) == 0 || idxs == null || idxs.isEmpty() ? r.nextInt(1 << indexBits(level))
                        : idxs.get(r.nextInt(idxs.size()));
                gva |= (long) idx << shift(level);
                Long c = child.get(t << 12 | idx);
                t = c == null ? -1 : c;
            }
            gva |= r.nextInt(4096);
            if (mode == PagingMode.FOUR_LEVEL) {
                gva = (gva << 16) >> 16;
            }
            return gva;
        }
    }

    static int leaf(List<CpuidEntry> cpuid, int function, int index, char reg) {
        for (CpuidEntry e : cpuid) {
            if (e.function() == function && e.index() == index) {
                return switch (reg) {
                    case 'a' -> e.eax();
                    case 'b' -> e.ebx();
                    case 'c' -> e.ecx();
                    default -> e.edx();
                };
            }
        }
        return 0;
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("seeds")
    void walkerAgreesWithKvmTranslate(PagingMode mode, long seed) {
        System.out.println("PageWalkerVsKvmTranslateTest: " + mode + " seed " + seed + " (rerun with -Djxen.seed="
                + seed + ")");
        Random r = new Random(seed);
        GuestMemory memory = new GuestMemory("walk");
        try (Kvm kvm = Kvm.open(); KvmVm vm = kvm.createVm(); HostMemory ram = HostMemory.anonymous("walk", RAM);
                Arena a = Arena.ofConfined()) {
            vm.setUserMemoryRegion(0, 0, 0, RAM, ram.address());
            memory.addSlot(0, 0, RAM, ram, 0, 0);
            try {
                compare(mode, seed, r, kvm, vm, memory, a);
            } finally {
                memory.removeSlot(0);
            }
        }
    }

    private void compare(PagingMode mode, long seed, Random r, Kvm kvm, KvmVm vm, GuestMemory memory, Arena a) {
        {
            List<CpuidEntry> cpuid = kvm.supportedCpuid();
            int maxPhy = leaf(cpuid, 0x8000_0008, 0, 'a') & 0xff;
            boolean gbpages = (leaf(cpuid, 0x8000_0001, 0, 'd') & (1 << 26)) != 0;
            boolean smap = (leaf(cpuid, 7, 0, 'b') & (1 << 20)) != 0;
            boolean nxe = mode != PagingMode.TWO_LEVEL && r.nextBoolean();
            Tables tables = new Tables(r, mode, memory, maxPhy, gbpages, nxe);
            long root = tables.newTable();
            tables.fill(root, tables.top());
            long cr3 = root;
            if (mode == PagingMode.PAE && r.nextBoolean()) { // PAE's CR3 need only be 32-byte aligned
                cr3 = root + 0x20L * (1 + r.nextInt(127));
                for (int i = 0; i < 4; i++) {
                    memory.putLong(cr3 + 8 * i, memory.getLong(root + 8 * i));
                }
            }
            long cr0 = 0x80050033L;
            long efer = mode == PagingMode.FOUR_LEVEL ? 0x500 : 0;
            efer |= nxe ? 0x800 : 0;
            long cr4 = mode == PagingMode.TWO_LEVEL ? 0x610 : 0x620; // PSE or PAE, OSFXSR, OSXMMEXCPT
            System.out.println("  maxphyaddr " + maxPhy + ", 1 GiB pages " + gbpages + ", SMAP " + smap + ", NXE "
                    + nxe + ", " + (tables.next / 0x1000 - 1) + " tables, cr3 0x" + Long.toHexString(cr3));

            try (KvmVcpu vcpu = vm.createVcpu(0)) {
                vcpu.setCpuid(cpuid);
                MemorySegment sregs = a.allocate(Sregs.SIZE, 8);
                PageWalker walker = new PageWalker();
                int n = 2500;
                long[] gvas = new long[n];
                for (int i = 0; i < n; i++) {
                    gvas[i] = tables.address(root);
                    if (mode == PagingMode.FOUR_LEVEL && i % 50 == 0) {
                        gvas[i] ^= 1L << (47 + r.nextInt(17)); // non-canonical, mostly
                    }
                }
                int compared = 0;
                int valid = 0;
                int userPages = 0;
                int nonCanonical = 0;
                int nonCanonicalKvmValid = 0;
                int pse36Divergent = 0;
                int constantFlags = 0;
                int realFlags = 0;
                Map<WalkFault, Integer> faults = new HashMap<>();
                for (boolean withSmap : smap ? new boolean[] {false, true} : new boolean[] {false}) {
                    vcpu.getSregs(sregs);
                    boolean longMode = mode == PagingMode.FOUR_LEVEL;
                    Sregs.setSegment(sregs, Sregs.CS, Sregs.Segment.flat(8, 0xb, longMode));
                    Sregs.Segment data = Sregs.Segment.flat(16, 0x3, false);
                    for (long seg : new long[] {Sregs.DS, Sregs.ES, Sregs.FS, Sregs.GS, Sregs.SS}) {
                        Sregs.setSegment(sregs, seg, data);
                    }
                    long cr4Now = cr4 | (withSmap ? CR4_SMAP : 0);
                    Sregs.set(sregs, Sregs.CR0, cr0);
                    Sregs.set(sregs, Sregs.CR3, cr3);
                    Sregs.set(sregs, Sregs.CR4, cr4Now);
                    Sregs.set(sregs, Sregs.EFER, efer);
                    vcpu.setSregs(sregs);
                    vcpu.getSregs(sregs);
                    if (mode != PagingMode.FOUR_LEVEL && (Sregs.get(sregs, Sregs.CR0) & 0x8000_0000L) == 0) {
                        String why = "KVM_SET_SREGS dropped CR0.PG for " + mode + " paging (CR0 0x"
                                + Long.toHexString(cr0) + " read back as 0x" + Long.toHexString(Sregs.get(sregs,
                                        Sregs.CR0)) + "): KVM_TRANSLATE cannot walk 32-bit page tables here";
                        System.err.println("SKIPPED: " + why);
                        Assumptions.abort(why);
                    }
                    assertEquals(cr4Now, Sregs.get(sregs, Sregs.CR4), "KVM took CR4");
                    assertEquals(efer, Sregs.get(sregs, Sregs.EFER), "KVM took EFER");
                    assertEquals(cr0, Sregs.get(sregs, Sregs.CR0), "KVM took CR0");
                    assertEquals(cr3, Sregs.get(sregs, Sregs.CR3), "KVM took CR3");
                    PagingState state = PagingState.of(cr0, cr3, cr4Now, efer, 0, maxPhy);
                    assertEquals(mode, state.mode());
                    for (long gva : gvas) {
                        long mine = walker.translate(memory, state, gva, Access.READ);
                        boolean user = walker.lastUserAccessible();
                        KvmVcpu.Translation t = vcpu.translate(gva);
                        String what = "seed " + seed + " " + state + " smap " + withSmap + " gva 0x"
                                + Long.toHexString(gva) + ": walker " + PageWalker.describe(mine) + (mine >= 0
                                        ? " user " + user : "") + ", KVM " + t;
                        if (PageWalker.fault(mine) == WalkFault.NON_CANONICAL) {
                            nonCanonical++;
                            nonCanonicalKvmValid += t.valid() ? 1 : 0;
                            continue;
                        }
                        if (mode == PagingMode.TWO_LEVEL && pse36Beyond36(memory, cr3, gva)) {
                            pse36Divergent++;
                            continue;
                        }
                        boolean expectValid = mine >= 0 && !(withSmap && user);
                        if (t.valid() != expectValid) {
                            fail("valid differs: " + what + " " + describeWalk(memory, mode, cr3, gva));
                        }
                        if (expectValid) {
                            assertEquals(mine, t.gpa(), what);
                            valid++;
                            userPages += user ? 1 : 0;
                        } else if (mine < 0) {
                            faults.merge(PageWalker.fault(mine), 1, Integer::sum);
                        }
                        if (t.writeable() && !t.usermode()) {
                            constantFlags++;
                        } else {
                            realFlags++;
                            if (t.valid()) {
                                assertEquals(walker.lastWritable(), t.writeable(), "writeable: " + what);
                                assertEquals(user, t.usermode(), "usermode: " + what);
                            }
                        }
                        compared++;
                    }
                }
                System.out.println("  " + compared + " compared, " + valid + " valid (" + userPages
                        + " on user pages, SMAP off), faults " + faults + "; non-canonical " + nonCanonical
                        + " (KVM valid for " + nonCanonicalKvmValid + "), PSE-36 bits 17-20 skipped "
                        + pse36Divergent + "; KVM writeable/usermode constant (1/0) in " + constantFlags
                        + ", varying in " + realFlags);
                assertTrue(compared > n / 2, "too few comparisons");
                assertTrue(valid > 0, "no valid translation at all");
            }
        }
    }

    /** A 2-level walk that ends in a 4 MiB page whose PDE uses bits 17-20 (see the class comment). */
    static boolean pse36Beyond36(GuestMemory memory, long cr3, long gva) {
        long pde = memory.getInt((cr3 & ~0xfffL) + ((gva >>> 22) & 0x3ff) * 4) & 0xffff_ffffL;
        return (pde & P) != 0 && (pde & PS) != 0 && (pde & 0x1e_0000L) != 0;
    }

    static String describeWalk(GuestMemory memory, PagingMode mode, long cr3, long gva) {
        StringBuilder sb = new StringBuilder("entries:");
        if (mode == PagingMode.TWO_LEVEL) {
            long pde = memory.getInt((cr3 & ~0xfffL) + ((gva >>> 22) & 0x3ff) * 4) & 0xffff_ffffL;
            sb.append(" pde 0x").append(Long.toHexString(pde));
            if ((pde & P) != 0 && (pde & PS) == 0 && memory.isBacked(pde & 0xffff_f000L, 4096)) {
                sb.append(" pte 0x").append(Long.toHexString(
                        memory.getInt((pde & 0xffff_f000L) + ((gva >>> 12) & 0x3ff) * 4) & 0xffff_ffffL));
            }
            return sb.toString();
        }
        long table;
        int level;
        if (mode == PagingMode.PAE) {
            long pdpte = memory.getLong((cr3 & ~0x1fL) + ((gva >>> 30) & 3) * 8);
            sb.append(" pdpte 0x").append(Long.toHexString(pdpte));
            table = pdpte & 0x000f_ffff_ffff_f000L;
            level = 2;
            if ((pdpte & P) == 0) {
                return sb.toString();
            }
        } else {
            table = cr3 & 0x000f_ffff_ffff_f000L;
            level = 4;
        }
        for (; level >= 1; level--) {
            long at = table + ((gva >>> (12 + 9 * (level - 1))) & 0x1ff) * 8;
            if (!memory.isBacked(at, 8)) {
                sb.append(" L").append(level).append(" not in RAM");
                break;
            }
            long e = memory.getLong(at);
            sb.append(" L").append(level).append(" 0x").append(Long.toHexString(e));
            if ((e & P) == 0 || (level > 1 && (e & PS) != 0)) {
                break;
            }
            table = e & 0x000f_ffff_ffff_f000L;
        }
        return sb.toString();
    }
}

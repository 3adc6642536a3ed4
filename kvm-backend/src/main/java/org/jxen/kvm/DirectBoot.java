package org.jxen.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.jxen.gpc.Memslot;
import org.jxen.kvm.boot.AcpiTables;
import org.jxen.kvm.boot.BootState;
import org.jxen.kvm.boot.ElfImage;
import org.jxen.kvm.boot.ElfLoadException;
import org.jxen.kvm.boot.ElfLoader;
import org.jxen.kvm.boot.HvmStartInfo;
import org.jxen.kvm.boot.LoadedKernel;

/**
 * Boots an ELF kernel the way Xen boots an HVM direct-boot (PVH) kernel: PT_LOAD segments at their
 * physical addresses, an {@code hvm_start_info} with the memory map and command line placed just
 * above the kernel, and the boot vCPU in 32-bit flat protected mode with paging off at the boot
 * entry, EBX pointing at the start info. Call before the VM starts; from the controlling thread.
 */
public final class DirectBoot {
    private DirectBoot() {
    }

    /** What was loaded where; {@code acpi} is null when there was no room for ACPI tables. */
    public record Booted(LoadedKernel kernel, long startInfoGpa, BootState state, AcpiTables.Layout acpi,
            List<HvmStartInfo.Module> modules) {
    }

    /**
     * What the kernel is given besides its image: the command line ({@code null}: none), guest-physical
     * ranges outside RAM that it must leave alone ({@link SpecialPages}), and modules (their bytes;
     * Linux takes the first as its initramfs), placed after the kernel, each page-aligned.
     */
    public record Options(String cmdline, List<HvmStartInfo.MemmapEntry> reserved, List<byte[]> modules) {
        public Options {
            reserved = List.copyOf(reserved);
            modules = List.copyOf(modules);
        }
    }

    public static Booted boot(VirtualMachine vm, ElfImage image, String cmdline) throws ElfLoadException {
        return boot(vm, image, cmdline, List.of());
    }

    /**
     * As {@link #boot(VirtualMachine, ElfImage, String)}, with guest-physical ranges outside RAM that
     * the kernel must leave alone ({@link SpecialPages}): they are listed as reserved in the memory
     * map, and a memslot inside one of them is not listed as RAM.
     */
    public static Booted boot(VirtualMachine vm, ElfImage image, String cmdline, List<HvmStartInfo.MemmapEntry> reserved)
            throws ElfLoadException {
        return bootWith(vm, image, new Options(cmdline, reserved, List.of()));
    }

    /**
     * As {@link #boot(VirtualMachine, ElfImage, String, List)}, with modules. Besides the memory map
     * and command line, the {@code hvm_start_info} points at ACPI tables ({@link AcpiTables}: a
     * hardware-reduced platform with one local APIC per vCPU, as Xen's toolstack gives a PVH guest),
     * written in the reserved area below 1 MiB when guest RAM starts at 0 and covers it.
     */
    public static Booted bootWith(VirtualMachine vm, ElfImage image, Options options) throws ElfLoadException {
        String cmdline = options.cmdline();
        List<HvmStartInfo.MemmapEntry> reserved = options.reserved();
        LoadedKernel k = ElfLoader.load(image, vm.memory());
        List<HvmStartInfo.MemmapEntry> memmap = new ArrayList<>();
        for (Memslot s : vm.memory().currentMap().slots()) {
            if (reserved.stream().anyMatch(r -> s.gpa() >= r.addr() && s.gpa() + s.size() <= r.addr() + r.size())) {
                continue;
            }
            if (s.gpa() == 0 && s.size() > 0x100000) {
                memmap.add(new HvmStartInfo.MemmapEntry(0, 0x9f000, HvmStartInfo.MEMMAP_TYPE_RAM));
                memmap.add(new HvmStartInfo.MemmapEntry(0x9f000, 0x100000 - 0x9f000, HvmStartInfo.MEMMAP_TYPE_RESERVED));
                memmap.add(new HvmStartInfo.MemmapEntry(0x100000, s.size() - 0x100000, HvmStartInfo.MEMMAP_TYPE_RAM));
            } else {
                memmap.add(new HvmStartInfo.MemmapEntry(s.gpa(), s.size(), HvmStartInfo.MEMMAP_TYPE_RAM));
            }
        }
        memmap.addAll(reserved);
        memmap.sort(java.util.Comparator.comparingLong(HvmStartInfo.MemmapEntry::addr));
        long next = k.physicalEndAlignedTo(4096);
        List<HvmStartInfo.Module> modules = new ArrayList<>();
        for (byte[] module : options.modules()) {
            long size = module.length;
            if (next + size > (1L << 32) || ElfLoader.firstNotWritable(vm.memory().currentMap(), next, size) != -1) {
                throw new ElfLoadException(String.format("no guest RAM below 4 GiB for module %d (%d bytes) after the"
                        + " kernel (at 0x%x)", modules.size(), size, next));
            }
            if (!vm.memory().write(next, MemorySegment.ofArray(module))) {
                throw new ElfLoadException("module " + modules.size() + ": the guest memory map changed during the write");
            }
            modules.add(new HvmStartInfo.Module(next, size));
            next = (next + size + 4095) & ~4095L;
        }
        AcpiTables.Layout acpi = null;
        if (lowReservedArea(memmap)) {
            acpi = AcpiTables.write(vm.memory(), AcpiTables.DEFAULT_GPA, vm.vcpus().size());
        }
        HvmStartInfo.Contents contents = new HvmStartInfo.Contents(cmdline, memmap, acpi == null ? 0 : acpi.rsdp(),
                modules);
        long startInfo = next;
        long needed = HvmStartInfo.size(contents);
        if (!vm.memory().isBacked(startInfo, needed) || startInfo + needed > (1L << 32)) {
            throw new ElfLoadException("no guest RAM below 4 GiB for hvm_start_info after the kernel (at 0x"
                    + Long.toHexString(startInfo) + ")");
        }
        HvmStartInfo.write(vm.memory(), startInfo, contents);
        BootState state = BootState.pvh32(image.bootEntry(), startInfo);
        apply(vm.vcpu(0).kvmVcpu(), state);
        return new Booted(k, startInfo, state, acpi, List.copyOf(modules));
    }

    /** True when the memory map reserves the BIOS area where {@link AcpiTables#DEFAULT_GPA} lies. */
    private static boolean lowReservedArea(List<HvmStartInfo.MemmapEntry> memmap) {
        return memmap.stream().anyMatch(e -> e.type() == HvmStartInfo.MEMMAP_TYPE_RESERVED
                && e.addr() <= AcpiTables.DEFAULT_GPA && e.addr() + e.size() >= AcpiTables.DEFAULT_GPA + 0x10000);
    }

    /** Loads {@code state} into a vCPU's registers. */
    static void apply(KvmVcpu v, BootState st) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sregs = a.allocate(Sregs.SIZE, 8);
            v.getSregs(sregs);
            Sregs.setSegment(sregs, Sregs.CS, segment(st.cs()));
            Sregs.setSegment(sregs, Sregs.DS, segment(st.ds()));
            Sregs.setSegment(sregs, Sregs.ES, segment(st.es()));
            Sregs.setSegment(sregs, Sregs.FS, segment(st.fs()));
            Sregs.setSegment(sregs, Sregs.GS, segment(st.gs()));
            Sregs.setSegment(sregs, Sregs.SS, segment(st.ss()));
            Sregs.setSegment(sregs, Sregs.TR, segment(st.tr()));
            Sregs.setSegment(sregs, Sregs.LDT, segment(st.ldt()));
            Sregs.set(sregs, Sregs.CR0, st.cr0());
            Sregs.set(sregs, Sregs.CR4, st.cr4());
            Sregs.set(sregs, Sregs.CR3, 0);
            Sregs.set(sregs, Sregs.EFER, st.efer());
            v.setSregs(sregs);
            MemorySegment regs = a.allocate(KvmRun.Regs.SIZE, 8);
            regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RIP, st.rip());
            regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RBX, st.rbx());
            regs.set(ValueLayout.JAVA_LONG, 8L * KvmRun.Regs.RFLAGS, st.rflags());
            v.setRegs(regs);
        }
    }

    private static Sregs.Segment segment(BootState.Segment s) {
        return new Sregs.Segment(s.base(), s.limit(), s.selector(), s.type(), s.present(), s.dpl(), s.db(), s.s(), s.l(),
                s.g());
    }
}

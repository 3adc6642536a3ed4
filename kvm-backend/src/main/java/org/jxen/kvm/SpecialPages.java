package org.jxen.kvm;

import org.jxen.gpc.HostMemory;
import org.jxen.gpc.Memslot;
import org.jxen.kvm.boot.HvmStartInfo;

/**
 * Xen's special pages of an HVM guest: a few pages outside RAM, just below {@code 0xff000000},
 * where the toolstack puts the XenStore and console rings (Xen's {@code special_pfn}: eight pages
 * ending at gfn {@code 0xff000}; the XenStore page is the fifth, the console page the eighth). They
 * are a memslot of their own, zero-filled, reported to a direct-boot kernel as reserved
 * ({@link #memmapEntry()} for {@link DirectBoot#boot(VirtualMachine, org.jxen.kvm.boot.ElfImage,
 * String, java.util.List)}), so the guest never takes them for RAM; the host hands their gfns to the
 * guest in HVM parameters.
 *
 * <p>Threads: created and closed by the controlling thread; the getters from any thread.
 */
public final class SpecialPages implements AutoCloseable {
    /** The first special page; eight pages, up to gfn {@code 0xff000} (exclusive). */
    public static final long FIRST_GFN = 0xfeff8L;
    public static final int COUNT = 8;
    /** Index of the XenStore page ({@code HVM_PARAM_STORE_PFN}). */
    public static final int XENSTORE = 4;
    /** Index of the console page ({@code HVM_PARAM_CONSOLE_PFN}). */
    public static final int CONSOLE = 7;

    private final VirtualMachine vm;
    private final HostMemory memory;
    private final int slotId;
    private boolean closed;

    private SpecialPages(VirtualMachine vm, HostMemory memory, int slotId) {
        this.vm = vm;
        this.memory = memory;
        this.slotId = slotId;
    }

    /** Adds the special pages to {@code vm} as a new memslot. */
    public static SpecialPages add(VirtualMachine vm) {
        int id = 0;
        for (Memslot s : vm.memory().currentMap().slots()) {
            id = Math.max(id, s.id() + 1);
        }
        HostMemory m = HostMemory.anonymous(vm.name() + "-special-pages", COUNT * HostMemory.PAGE_SIZE);
        try {
            vm.memory().addSlot(id, FIRST_GFN << 12, m.size(), m, 0, 0);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        return new SpecialPages(vm, m, id);
    }

    /** The gfn of special page {@code index} (0 to 7). */
    public long gfn(int index) {
        if (index < 0 || index >= COUNT) {
            throw new IndexOutOfBoundsException("special page " + index);
        }
        return FIRST_GFN + index;
    }

    /** The guest-physical address of special page {@code index}. */
    public long gpa(int index) {
        return gfn(index) << 12;
    }

    /** The pages as a reserved memory-map entry. */
    public HvmStartInfo.MemmapEntry memmapEntry() {
        return new HvmStartInfo.MemmapEntry(FIRST_GFN << 12, COUNT * HostMemory.PAGE_SIZE,
                HvmStartInfo.MEMMAP_TYPE_RESERVED);
    }

    /**
     * Removes the memslot (if the VM still has it) and releases the memory. Call after the vCPUs
     * stopped and the backends that use the pages are closed.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (vm.memory().currentMap().slots().stream().anyMatch(s -> s.id() == slotId && s.memory() == memory)) {
            vm.memory().removeSlot(slotId);
        }
        memory.close();
    }
}

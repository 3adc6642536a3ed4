package org.jxen.hypercalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.jxen.abi.E820Entry;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenAddToPhysmap;
import org.jxen.abi.XenAddToPhysmapBatch;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenMapSpace;
import org.jxen.abi.XenMem;
import org.jxen.abi.XenMemoryMap;
import org.jxen.abi.XenMemoryReservation;
import org.jxen.gpc.Memslot;
import org.jxen.hypercalls.mm.GuestPointerFault;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code memory_op}: where the guest places Xen frames ({@code add_to_physmap}, also in batches),
 * its memory reservation ({@code decrease_reservation}, {@code populate_physmap},
 * {@code increase_reservation}, {@code current_reservation}, {@code maximum_reservation}) and what
 * its memory looks like ({@code memory_map}, {@code maximum_ram_page}, {@code maximum_gpfn}).
 * docs/hypercalls.md says what each does and where jxen differs from Xen.
 *
 * <p>As in Xen, the bits of the command above {@link XenMem#EXTENT_SHIFT} are where to start: the
 * reservation operations start at that extent and {@code add_to_physmap_batch} at that entry, so a
 * guest may resume a call itself. jxen never needs to preempt a call: every call ends after at most
 * one step per page of guest RAM (a page changes state at most once per call, and a failed step
 * ends the call), or earlier when the vCPU must stop.
 *
 * <p>Threads: {@link #handle} on vCPU threads, each with its own calls; the state lives in the
 * domain's {@link GuestPhysmap} and {@link GrantTable}, under the p2m lock.
 */
final class MemoryOps {
    /** Extents read from the guest per step of a reservation operation. */
    private static final int CHUNK = 512;
    private static final int PAGE_SHIFT = 12;

    private final XenDomain domain;
    private final XenPlatform platform;
    private final GuestPhysmap physmap;
    private final GrantTable grantTable;

    MemoryOps(XenDomain domain, XenPlatform platform) {
        this.domain = domain;
        this.platform = platform;
        this.physmap = new GuestPhysmap(platform.memory());
        this.grantTable = new GrantTable(physmap, GrantTable.DEFAULT_MAX_FRAMES);
    }

    GuestPhysmap physmap() {
        return physmap;
    }

    GrantTable grantTable() {
        return grantTable;
    }

    long handle(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        WordSize w = r.wordSize();
        long cmd = w == WordSize.BITS_64 ? r.arg(0) : r.arg(0) & 0xffff_ffffL;
        long arg = r.arg(1);
        int op = (int) (cmd & XenMem.CMD_MASK);
        long start = cmd >>> XenMem.EXTENT_SHIFT;
        return switch (op) {
            case XenMem.INCREASE_RESERVATION, XenMem.DECREASE_RESERVATION, XenMem.POPULATE_PHYSMAP ->
                    reservation(g, w, v, op, start, arg);
            case XenMem.MAXIMUM_RAM_PAGE -> start != 0 ? -XenErrno.EINVAL : maximumRamPage();
            case XenMem.CURRENT_RESERVATION, XenMem.MAXIMUM_RESERVATION, XenMem.MAXIMUM_GPFN ->
                    start != 0 ? -XenErrno.EINVAL : domainQuery(g, op, arg);
            case XenMem.ADD_TO_PHYSMAP -> start > 0xffff ? -XenErrno.EDOM : addToPhysmap(g, w, arg);
            case XenMem.ADD_TO_PHYSMAP_BATCH -> start > 0xffff ? -XenErrno.EDOM : addToPhysmapBatch(g, w, (int) start, arg);
            case XenMem.MEMORY_MAP -> start != 0 ? -XenErrno.EINVAL : memoryMap(g, w, arg);
            default -> -XenErrno.ENOSYS;
        };
    }

    // ------------------------------------------------------------------ the reservation

    /**
     * The three reservation operations. As in Xen they return the number of extents done (counting
     * from the start extent), never an errno: a bad argument, a bad domain, an unreadable extent or
     * an extent that cannot be done ends the call with the count so far.
     */
    private long reservation(GuestVirtualMemory g, WordSize w, XenVcpu v, int op, long start, long arg) {
        long extentStart;
        long nr;
        long order;
        int flags;
        int dom;
        try {
            extentStart = readWord(g, w, arg + XenMemoryReservation.offsetOfExtentStart(w));
            nr = readWord(g, w, arg + XenMemoryReservation.offsetOfNrExtents(w));
            order = g.readU32(arg + XenMemoryReservation.offsetOfExtentOrder(w));
            flags = (int) g.readU32(arg + XenMemoryReservation.offsetOfMemFlags(w));
            dom = g.readU16(arg + XenMemoryReservation.offsetOfDomid(w));
        } catch (GuestPointerFault e) {
            return start;
        }
        if (nr > (0xffff_ffffL >>> XenMem.EXTENT_SHIFT) || start >= nr) {
            return start; // too large for Xen to encode a continuation; or nothing left to do
        }
        if (domain.self(dom) != domain.domid() || order > GuestPhysmap.MAX_ORDER) {
            return start;
        }
        int addressBits = flags & XenMem.MEMF_ADDRESS_BITS_MASK;
        if (addressBits != 0 && addressBits <= PAGE_SHIFT) {
            return start;
        }
        if (op == XenMem.INCREASE_RESERVATION) {
            // a guest with translated paging learns nothing of these pages: the array is not touched
            return start + physmap.increaseReservation(nr - start, (int) order);
        }
        if (op == XenMem.POPULATE_PHYSMAP && (flags & XenMem.MEMF_POPULATE_ON_DEMAND) != 0) {
            return start; // Xen does not let a domain populate-on-demand itself
        }
        long entrySize = w.bits() / 8;
        long[] gfns = new long[(int) Math.min(CHUNK, nr - start)];
        long done = start;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buffer = a.allocate(gfns.length * entrySize, 8);
            while (done < nr) {
                if (done != start && platform.vcpuMustYield(v.id())) {
                    break; // the VM is pausing or stopping: report what was done, as a failed extent would
                }
                int n = (int) Math.min(gfns.length, nr - done);
                int readable = readExtents(g, w, extentStart + done * entrySize, buffer, gfns, n);
                int ok = op == XenMem.DECREASE_RESERVATION
                        ? physmap.decreaseReservation(gfns, readable, (int) order)
                        : physmap.populatePhysmap(gfns, readable, (int) order);
                done += ok;
                if (ok < n) {
                    break;
                }
            }
        }
        return done;
    }

    /** Reads up to {@code n} extent bases at {@code gva}; returns how many leading ones could be read. */
    private static int readExtents(GuestVirtualMemory g, WordSize w, long gva, MemorySegment buffer, long[] gfns, int n) {
        long entrySize = w.bits() / 8;
        MemorySegment part = buffer.asSlice(0, n * entrySize);
        if (g.copyFromGuest(gva, part) == 0) {
            for (int i = 0; i < n; i++) {
                gfns[i] = entry(part, w, i);
            }
            return n;
        }
        for (int i = 0; i < n; i++) { // one failed somewhere: find how far it goes
            if (g.copyFromGuest(gva + i * entrySize, part.asSlice(i * entrySize, entrySize)) != 0) {
                return i;
            }
            gfns[i] = entry(part, w, i);
        }
        return n;
    }

    private static long entry(MemorySegment s, WordSize w, int i) {
        return w == WordSize.BITS_64
                ? s.get(ValueLayout.JAVA_LONG_UNALIGNED, i * 8L)
                : Integer.toUnsignedLong(s.get(ValueLayout.JAVA_INT_UNALIGNED, i * 4L));
    }

    /** {@code current_reservation}, {@code maximum_reservation}, {@code maximum_gpfn}: the argument is a {@code domid_t}. */
    private long domainQuery(GuestVirtualMemory g, int op, long arg) {
        int dom = g.readU16(arg);
        if (domain.self(dom) != domain.domid()) {
            return -XenErrno.ESRCH;
        }
        return switch (op) {
            case XenMem.CURRENT_RESERVATION -> physmap.totPages();
            case XenMem.MAXIMUM_RESERVATION -> physmap.maxPages();
            default -> Math.max(0, (highestEnd(false) >>> PAGE_SHIFT) - 1); // the highest gfn anything maps
        };
    }

    /** One past the highest frame of RAM: what Xen's {@code max_page} is for the machine. */
    private long maximumRamPage() {
        return highestEnd(true) >>> PAGE_SHIFT;
    }

    private long highestEnd(boolean ramOnly) {
        long end = 0;
        for (Memslot s : platform.memory().currentMap().slots()) {
            if (!ramOnly || !s.isReadOnly()) {
                end = Math.max(end, s.end());
            }
        }
        return end;
    }

    // ------------------------------------------------------------------ memory_map

    /**
     * {@code XENMEM_memory_map}: the guest's e820 map, made from the memslots (writable slots are
     * RAM, read-only ones reserved; neighbours of one type merge). As Xen does, at most
     * {@code nr_entries} entries are written and {@code nr_entries} becomes the number written.
     */
    private long memoryMap(GuestVirtualMemory g, WordSize w, long arg) {
        long capacity = g.readU32(arg + XenMemoryMap.offsetOfNrEntries(w));
        long buffer = readWord(g, w, arg + XenMemoryMap.offsetOfBuffer(w));
        List<long[]> e820 = e820();
        if (e820.isEmpty()) {
            return -XenErrno.ENOSYS; // as Xen for a domain without a memory map
        }
        int n = (int) Math.min(capacity, e820.size());
        if (n > 0) {
            long size = E820Entry.sizeof(w);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment out = a.allocate(n * size);
                for (int i = 0; i < n; i++) {
                    MemorySegment e = out.asSlice(i * size, size);
                    E820Entry.setAddr(e, e820.get(i)[0]);
                    E820Entry.setSize(e, e820.get(i)[1]);
                    E820Entry.setType(e, (int) e820.get(i)[2]);
                }
                if (g.copyToGuest(out, buffer) != 0) {
                    return -XenErrno.EFAULT;
                }
            }
        }
        g.writeU32(arg + XenMemoryMap.offsetOfNrEntries(w), n);
        return 0;
    }

    /** {addr, size, type} per e820 entry, sorted, neighbours of one type merged. */
    private List<long[]> e820() {
        List<long[]> out = new ArrayList<>();
        for (Memslot s : platform.memory().currentMap().slots()) {
            long type = s.isReadOnly() ? E820Entry.TYPE_RESERVED : E820Entry.TYPE_RAM;
            long[] last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last != null && last[0] + last[1] == s.gpa() && last[2] == type) {
                last[1] += s.size();
            } else {
                out.add(new long[] {s.gpa(), s.size(), type});
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ add_to_physmap

    private long addToPhysmap(GuestVirtualMemory g, WordSize w, long arg) {
        int dom = g.readU16(arg + XenAddToPhysmap.offsetOfDomid(w));
        int space = (int) g.readU32(arg + XenAddToPhysmap.offsetOfSpace(w));
        long idx = readWord(g, w, arg + XenAddToPhysmap.offsetOfIdx(w));
        long gpfn = readWord(g, w, arg + XenAddToPhysmap.offsetOfGpfn(w));
        if (space == XenMapSpace.GMFN_FOREIGN) {
            return -XenErrno.ENOSYS; // only through the batch, as in Xen
        }
        if (domain.self(dom) != domain.domid()) {
            return -XenErrno.ESRCH;
        }
        return addToPhysmapOne(w, space, idx, gpfn);
    }

    /**
     * {@code XENMEM_add_to_physmap_batch}: each entry's result goes into {@code errs}; the call
     * returns 0, or an errno when the batch itself is bad or an array cannot be read or written (then
     * the entries before it are done). At most 65535 entries, all done in this call.
     */
    private long addToPhysmapBatch(GuestVirtualMemory g, WordSize w, int start, long arg) {
        int dom = g.readU16(arg + XenAddToPhysmapBatch.offsetOfDomid(w));
        int space = g.readU16(arg + XenAddToPhysmapBatch.offsetOfSpace(w));
        int size = g.readU16(arg + XenAddToPhysmapBatch.offsetOfSize(w));
        long idxs = readWord(g, w, arg + XenAddToPhysmapBatch.offsetOfIdxs(w));
        long gpfns = readWord(g, w, arg + XenAddToPhysmapBatch.offsetOfGpfns(w));
        long errs = readWord(g, w, arg + XenAddToPhysmapBatch.offsetOfErrs(w));
        if (space == XenMapSpace.GMFN_RANGE) {
            return -XenErrno.EOPNOTSUPP;
        }
        if (domain.self(dom) != domain.domid()) {
            return -XenErrno.ESRCH;
        }
        if (space == XenMapSpace.DEV_MMIO) {
            return -XenErrno.EACCES;
        }
        if (size < start) {
            return -XenErrno.EILSEQ;
        }
        long word = w.bits() / 8;
        for (int i = start; i < size; i++) {
            long idx;
            long gpfn;
            try {
                idx = readWord(g, w, idxs + i * word);
                gpfn = readWord(g, w, gpfns + i * word);
            } catch (GuestPointerFault e) {
                return -XenErrno.EFAULT;
            }
            long rc = addToPhysmapOne(w, space, idx, gpfn);
            try {
                g.writeU32(errs + i * 4L, (int) rc);
            } catch (GuestPointerFault e) {
                return -XenErrno.EFAULT;
            }
        }
        return 0;
    }

    private long addToPhysmapOne(WordSize w, int space, long idx, long gpfn) {
        return switch (space) {
            case XenMapSpace.SHARED_INFO, XenMapSpace.GRANT_TABLE -> placeXenFrame(w, space, idx, gpfn);
            // moving RAM pages between gfns would need a memslot per page: not done
            case XenMapSpace.GMFN, XenMapSpace.GMFN_RANGE -> -XenErrno.ENOSYS;
            case XenMapSpace.GMFN_FOREIGN -> -XenErrno.ENOSYS; // no other domain to map from
            case XenMapSpace.DEV_MMIO -> -XenErrno.EACCES; // the hardware domain's only
            default -> -XenErrno.EINVAL;
        };
    }

    /**
     * Places shared_info or grant-table frame {@code idx} at {@code gpfn}: the index must exist
     * ({@code -EINVAL}); the gfn is RAM holding no other Xen frame and no page a backend has mapped
     * ({@code -EBUSY}), or a hole, where the frame gets a page of its own ({@link GuestPhysmap}'s
     * overlays; {@code -EINVAL} for a hole that cannot have one).
     */
    private long placeXenFrame(WordSize w, int space, long idx, long gpfn) {
        boolean validIndex = space == XenMapSpace.SHARED_INFO ? idx == 0 : idx >= 0 && idx < grantTable.maxFrames();
        if (!validIndex) {
            return -XenErrno.EINVAL; // also a status-frame index: version 1 has none
        }
        synchronized (physmap) {
            String there = physmap.xenFrameAt(gpfn);
            String what = space == XenMapSpace.SHARED_INFO ? "shared_info" : "grant table frame " + idx;
            if ((there != null && !there.equals(what)) || physmap.pinCount(gpfn) > 0) {
                return -XenErrno.EBUSY; // jxen does not stack one Xen frame on another or on a granted page
            }
            boolean added = false;
            if (!physmap.isRam(gpfn) && !physmap.isOverlay(gpfn)) {
                if (!physmap.addOverlay(gpfn)) {
                    return -XenErrno.EINVAL;
                }
                added = true;
            }
            long rc = space == XenMapSpace.SHARED_INFO ? mapSharedInfo(w, idx, gpfn) : grantTable.mapFrame(idx, gpfn);
            if (rc != 0 && added) {
                physmap.removeOverlay(gpfn);
            }
            return rc;
        }
    }

    private long mapSharedInfo(WordSize w, long idx, long gpfn) {
        if (idx != 0) {
            return -XenErrno.EINVAL;
        }
        long old = domain.sharedInfoGfn();
        // The first mapping gives a fresh shared_info: events neither pending nor masked, as on a new
        // Xen domain. A later mapping moves it, contents and all (pending bits, masks, vcpu_info),
        // as Xen moves its page. Only the structure is written, not the rest of the frame: Xen
        // replaces the whole frame, KVM writes nothing; guests that share the frame keep the rest.
        if (old != gpfn) { // mapping the same frame again leaves it as it is
            try (Arena a = Arena.ofConfined()) {
                MemorySegment content = a.allocate(org.jxen.abi.SharedInfo.sizeof(w));
                var m = old >= 0 ? domain.sharedInfoCache().lock() : null;
                if (m != null) {
                    try {
                        m.copyTo(0, content);
                    } finally {
                        domain.sharedInfoCache().unlock();
                    }
                }
                platform.memory().write(gpfn << PAGE_SHIFT, content);
            }
        }
        domain.sharedInfoCache().activate(gpfn << PAGE_SHIFT, 4096);
        domain.setSharedInfoGfn(gpfn);
        if (old >= 0 && old != gpfn) {
            physmap.removeXenFrame(old);
        }
        physmap.placeXenFrame(gpfn, "shared_info");
        domain.writeWallClock(w);
        domain.pvclocks().updateAllNow(); // vcpu_info.time of the vCPUs whose vcpu_info is in shared_info
        domain.eventChannels().flushDeferred();
        return 0;
    }

    /** A guest word: {@code xen_ulong_t}, {@code xen_pfn_t} or a handle. @throws GuestPointerFault */
    private static long readWord(GuestVirtualMemory g, WordSize w, long gva) {
        return w == WordSize.BITS_64 ? g.readU64(gva) : g.readU32(gva);
    }
}

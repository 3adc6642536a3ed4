package org.jxen.hypercalls.time;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;
import org.jxen.abi.Runstate;
import org.jxen.abi.VcpuRunstateInfo;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.MappedArea;
import org.jxen.hypercalls.mm.Access;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * The guest's registered runstate area ({@code VCPUOP_register_runstate_memory_area}): a
 * {@code vcpu_runstate_info} in guest memory that the host rewrites on every runstate change.
 *
 * <pre>
 * 64-bit guest (48 bytes)             32-bit guest (44 bytes, packed)
 *  0 state            u32              0 state            u32
 *  8 state_entry_time u64              4 state_entry_time u64   (unaligned)
 * 16 time[4]          u64             12 time[4]          u64   (unaligned)
 * </pre>
 *
 * <p>The area may cross a page, and the two pages may be in different memslots (one cache whose
 * view is split) or, since the guest gave a virtual address, at unrelated guest-physical addresses
 * (two caches, as KVM's {@code runstate_cache} and {@code runstate2_cache}). Each update follows
 * {@code XEN_RUNSTATE_UPDATE}: the byte of {@code state_entry_time} that holds bit 63 (field offset
 * +7) is written first, with the bit set (a volatile byte write, then a store-store fence), so the
 * guest sees the flag before any other byte changes; then the whole record (its entry time still
 * flagged); then, after a release, that byte again without the bit. A guest that reads the entry
 * time, the record, and the entry time again, retrying while the flag is set or the two differ,
 * never sees a torn record (JCStress: {@code RunstateUpdateVsGuestRead},
 * {@code RunstateSplitUpdateVsGuestRead}). Two limits, shared with Xen and KVM: an update that
 * leaves the entry time unchanged (a zero-sum host adjust) cannot be told from no update by a
 * reader that overlaps it, and a guest whose {@code state_entry_time} itself straddles a page
 * boundary reads it with two accesses, which the protocol does not make safe in every interleaving.
 *
 * <p>Threads: {@link #update} on the vCPU's thread (or any one thread at a time per area: updates
 * of one area must not overlap, as {@link VcpuRunstate}'s lock ensures);
 * {@code mayBlock == false} from a context that must not wait (it uses {@code tryLock()} and gives
 * the update up, counting it in {@link #skippedUpdates()}, as KVM's fix for its deadlock does).
 * {@link #register}/{@link #unregister} on any vCPU's thread (a guest may register another vCPU's
 * area), serialised on this object, never inside {@link #update}; an update that meets a
 * registration half done gives up (counted as skipped). Caches are locked in a fixed order: first
 * page, then second.
 */
public final class RunstateArea {
    private static final long PAGE = 4096;

    private final GfnToPfnCache first;
    private final GfnToPfnCache second;
    private volatile boolean registered;
    private volatile boolean twoCaches;
    /** Bytes of the record in {@code first} (the whole record with one cache). */
    private volatile long firstLength;
    private volatile WordSize wordSize = WordSize.BITS_64;
    /** The guest-virtual address the guest registered, or -1 (registered by guest-physical address). */
    private volatile long gva = -1;
    private final LongAdder skipped = new LongAdder();
    private final LongAdder written = new LongAdder();
    /** The writer's view, reused: updates of one area never overlap (see the class comment). */
    private final Target writeTarget = new Target(null, 0, null);

    /** An unregistered area; its caches are created in {@code memory}, named after {@code name}. */
    public RunstateArea(GuestMemory memory, String name) {
        this.first = memory.newCache(name + " runstate");
        this.second = memory.newCache(name + " runstate2");
    }

    /** Bytes of a {@code vcpu_runstate_info}: 48 (64-bit) or 44 (32-bit). */
    public static long sizeOf(WordSize w) {
        return VcpuRunstateInfo.sizeof(w);
    }

    /**
     * Registers the area at guest-virtual {@code gva} for a guest of word size {@code w}, translating
     * it under {@code g}'s paging state (both pages when it crosses one). {@code gva == 0} unregisters
     * (Xen's null handle). Returns 0, or {@code -EFAULT} when a page is not mapped writable.
     * The caller then writes the current record with {@link #update}.
     */
    public synchronized int register(GuestVirtualMemory g, long gva, WordSize w) {
        if (gva == 0) {
            unregister();
            return 0;
        }
        long gpa = g.translate(gva, Access.WRITE);
        if (gpa < 0) {
            return -XenErrno.EFAULT;
        }
        long secondGpa = -1;
        if ((gva & (PAGE - 1)) + sizeOf(w) > PAGE) {
            secondGpa = g.translate((gva | (PAGE - 1)) + 1, Access.WRITE);
            if (secondGpa < 0) {
                return -XenErrno.EFAULT;
            }
        }
        int rc = register(gpa, secondGpa, w);
        if (rc == 0) {
            this.gva = gva;
        }
        return rc;
    }

    /**
     * The guest's word size changed (its hypercall ABI switched between 32 and 64 bits): registers
     * the area again at the same guest-virtual address in the layout of {@code w}, as Xen writes
     * the compat or native record at the same guest handle after the switch. Translates under
     * {@code g} (the vCPU's own paging state: the 48-byte record may reach a page the 44-byte one
     * did not). Does nothing when unregistered, already in that layout, or registered by
     * guest-physical address. Returns 0 or {@code -EFAULT}; on failure the area keeps its old
     * registration, and the caller does not write it in the old layout.
     */
    public synchronized int relayout(GuestVirtualMemory g, WordSize w) {
        long at = gva;
        if (!registered || wordSize == w || at < 0) {
            return 0;
        }
        return register(g, at, w);
    }

    /**
     * Registers the area at guest-physical {@code gpa}. When it crosses a page, {@code secondPageGpa}
     * is the guest-physical address of the page that holds the rest (-1, or the next page, when the
     * two are contiguous). Returns 0, or {@code -EINVAL} / {@code -EFAULT} for a bad address; on
     * failure the area is left unregistered.
     */
    public synchronized int register(long gpa, long secondPageGpa, WordSize w) {
        gva = -1;
        long size = sizeOf(w);
        long inFirst = PAGE - (gpa & (PAGE - 1));
        boolean split = inFirst < size && secondPageGpa >= 0 && secondPageGpa != (gpa | (PAGE - 1)) + 1;
        if (split && (secondPageGpa & (PAGE - 1)) != 0) {
            unregister();
            return -XenErrno.EINVAL;
        }
        registered = false;
        GpcStatus st;
        if (split) {
            st = first.activate(gpa, inFirst);
            if (st == GpcStatus.OK || st == GpcStatus.NOT_BACKED) {
                GpcStatus st2 = second.activate(secondPageGpa, size - inFirst);
                if (st2 != GpcStatus.OK && st2 != GpcStatus.NOT_BACKED) {
                    st = st2;
                }
            }
        } else {
            second.deactivate();
            st = first.activate(gpa, size);
        }
        if (st != GpcStatus.OK && st != GpcStatus.NOT_BACKED) {
            unregister();
            return st == GpcStatus.BAD_LENGTH ? -XenErrno.EINVAL : -XenErrno.EFAULT;
        }
        wordSize = w;
        twoCaches = split;
        firstLength = split ? inFirst : size;
        registered = true;
        return 0;
    }

    /** The guest-virtual address it was registered at, or -1 (not registered, or by gpa). */
    public long gva() {
        return registered ? gva : -1;
    }

    /** The guest-physical address of the record's first byte, or -1 when not registered. */
    public long gpa() {
        return registered ? first.gpa() : -1;
    }

    /** The guest-physical page that holds the rest of a split record, or -1 (not split, or contiguous). */
    public long secondPageGpa() {
        return registered && twoCaches ? second.gpa() : -1;
    }

    /**
     * Registers the area again from captured values ({@link #gva()}, {@link #gpa()},
     * {@link #secondPageGpa()}), keeping the guest-virtual address for a later word-size switch.
     */
    public int restore(long gva, long gpa, long secondPageGpa, WordSize w) {
        int rc = register(gpa, secondPageGpa, w);
        if (rc == 0) {
            this.gva = gva;
        }
        return rc;
    }

    /** Forgets the area; later updates do nothing. */
    public synchronized void unregister() {
        registered = false;
        gva = -1;
        first.deactivate();
        second.deactivate();
    }

    public boolean isRegistered() {
        return registered;
    }

    /** The layout the area was registered with. */
    public WordSize wordSize() {
        return wordSize;
    }

    /** Updates given up because a cache could not be locked (not counting an unregistered area). */
    public long skippedUpdates() {
        return skipped.sum();
    }

    /** Updates written. */
    public long writtenUpdates() {
        return written.sum();
    }

    /**
     * Writes {@code s} into the guest's area. With {@code mayBlock == false} this never waits: if a
     * cache is not valid now, the update is given up (and counted). Returns true when written;
     * false when not registered or given up. Never throws for anything the guest can cause.
     */
    public boolean update(RunstateAccount.Snapshot s, boolean mayBlock) {
        if (!registered) {
            return false;
        }
        boolean two = twoCaches;
        MappedArea a1 = mayBlock ? first.lock() : first.tryLock();
        if (a1 == null) {
            skipped.increment();
            return false;
        }
        try {
            MappedArea a2 = null;
            if (two) {
                a2 = mayBlock ? second.lock() : second.tryLock();
                if (a2 == null) {
                    skipped.increment();
                    return false;
                }
            }
            try {
                // another vCPU may be registering this area (Xen lets any vCPU of the domain do it):
                // its new cache and its new layout are not published at once, so write only when
                // what is locked holds the whole record of the layout read now
                WordSize w = wordSize;
                if (a1.length() + (a2 == null ? 0 : a2.length()) < sizeOf(w)) {
                    skipped.increment();
                    return false;
                }
                write(writeTarget.set(a1, a1.length(), a2), w, s);
            } finally {
                writeTarget.set(null, 0, null);
                if (two) {
                    second.unlock();
                }
            }
        } finally {
            first.unlock();
        }
        written.increment();
        return true;
    }

    /** The record in the guest's layout, for {@code VCPUOP_get_runstate_info} (a copy to the guest). */
    public static void encode(RunstateAccount.Snapshot s, WordSize w, MemorySegment dst) {
        VcpuRunstateInfo.setState(dst, s.state());
        VcpuRunstateInfo.setStateEntryTime(dst, w, s.stateEntryTime());
        for (int i = 0; i < VcpuRunstateInfo.TIME_ENTRIES; i++) {
            VcpuRunstateInfo.setTime(dst, w, i, s.time(i));
        }
    }

    /**
     * A record-relative view over one or two locked areas; plain writes split byte-wise where
     * needed. Mutable so that the writer reuses one (no allocation per update); confined to the
     * thread that set it.
     */
    static final class Target {
        private MappedArea a1;
        private long len1;
        private MappedArea a2;

        Target(MappedArea a1, long len1, MappedArea a2) {
            set(a1, len1, a2);
        }

        Target set(MappedArea first, long firstLength, MappedArea rest) {
            this.a1 = first;
            this.len1 = firstLength;
            this.a2 = rest;
            return this;
        }
        void putByte(long off, byte v) {
            if (off < len1) {
                a1.putByte(off, v);
            } else {
                a2.putByte(off - len1, v);
            }
        }

        void putByteVolatile(long off, byte v) {
            if (off < len1) {
                a1.putByteVolatile(off, v);
            } else {
                a2.putByteVolatile(off - len1, v);
            }
        }

        void putByteRelease(long off, byte v) {
            if (off < len1) {
                a1.putByteRelease(off, v);
            } else {
                a2.putByteRelease(off - len1, v);
            }
        }

        byte getByte(long off) {
            return off < len1 ? a1.getByte(off) : a2.getByte(off - len1);
        }

        byte getByteVolatile(long off) {
            return off < len1 ? a1.getByteVolatile(off) : a2.getByteVolatile(off - len1);
        }

        void put(long off, int n, long v) {
            if (off + n <= len1) {
                if (n == 8) {
                    a1.putLong(off, v);
                } else {
                    a1.putInt(off, (int) v);
                }
            } else if (off >= len1) {
                if (n == 8) {
                    a2.putLong(off - len1, v);
                } else {
                    a2.putInt(off - len1, (int) v);
                }
            } else {
                for (int i = 0; i < n; i++) {
                    putByte(off + i, (byte) (v >>> (8 * i)));
                }
            }
        }

        long get(long off, int n) {
            if (off + n <= len1) {
                return n == 8 ? a1.getLong(off) : a1.getInt(off) & 0xffff_ffffL;
            } else if (off >= len1) {
                return n == 8 ? a2.getLong(off - len1) : a2.getInt(off - len1) & 0xffff_ffffL;
            }
            long v = 0;
            for (int i = 0; i < n; i++) {
                v |= (getByte(off + i) & 0xffL) << (8 * i);
            }
            return v;
        }
    }

    static void write(Target t, WordSize w, RunstateAccount.Snapshot s) {
        long entryAt = VcpuRunstateInfo.offsetOfStateEntryTime(w);
        long timeAt = VcpuRunstateInfo.offsetOfTime(w);
        long flagAt = entryAt + 7; // the byte holding bit 63 (little-endian)
        long entry = s.stateEntryTime() & ~Runstate.XEN_RUNSTATE_UPDATE;
        t.putByteVolatile(flagAt, (byte) ((entry | Runstate.XEN_RUNSTATE_UPDATE) >>> 56));
        VarHandle.storeStoreFence();
        t.put(VcpuRunstateInfo.offsetOfState(w), 4, s.state());
        t.put(entryAt, 8, entry | Runstate.XEN_RUNSTATE_UPDATE);
        for (int i = 0; i < VcpuRunstateInfo.TIME_ENTRIES; i++) {
            t.put(timeAt + 8L * i, 8, s.time(i));
        }
        t.putByteRelease(flagAt, (byte) (entry >>> 56));
    }

    /**
     * Reads the record as the guest does ({@code xen_get_runstate_snapshot}): the entry time, the
     * record, the entry time again; retries while the update flag is set or the entry time changed.
     * For tests and diagnostics. Returns null after {@code maxAttempts} failed attempts.
     */
    static RunstateAccount.Snapshot readAsGuest(Target t, WordSize w, int maxAttempts) {
        long entryAt = VcpuRunstateInfo.offsetOfStateEntryTime(w);
        long timeAt = VcpuRunstateInfo.offsetOfTime(w);
        for (int i = 0; i < maxAttempts; i++) {
            byte flag1 = t.getByteVolatile(entryAt + 7);
            long e1 = t.get(entryAt, 8);
            VarHandle.loadLoadFence();
            int state = (int) t.get(VcpuRunstateInfo.offsetOfState(w), 4);
            long[] time = new long[4];
            for (int k = 0; k < 4; k++) {
                time[k] = t.get(timeAt + 8L * k, 8);
            }
            VarHandle.loadLoadFence();
            long e2 = t.get(entryAt, 8);
            byte flag2 = t.getByteVolatile(entryAt + 7);
            if (flag1 >= 0 && flag2 >= 0 && e1 == e2 && (e1 & Runstate.XEN_RUNSTATE_UPDATE) == 0
                    && (byte) (e1 >>> 56) == flag1 && flag1 == flag2) {
                return new RunstateAccount.Snapshot(state, e1, time[0], time[1], time[2], time[3]);
            }
            Thread.onSpinWait();
        }
        return null;
    }

    /** {@link #readAsGuest(Target, WordSize, int)} over this area's caches (locks them, blocking). */
    public RunstateAccount.Snapshot readAsGuest(int maxAttempts) {
        if (!registered) {
            return null;
        }
        boolean two = twoCaches;
        MappedArea a1 = first.lock();
        if (a1 == null) {
            return null;
        }
        try {
            MappedArea a2 = null;
            if (two && (a2 = second.lock()) == null) {
                return null;
            }
            try {
                return readAsGuest(new Target(a1, a1.length(), a2), wordSize, maxAttempts);
            } finally {
                if (two) {
                    second.unlock();
                }
            }
        } finally {
            first.unlock();
        }
    }
}

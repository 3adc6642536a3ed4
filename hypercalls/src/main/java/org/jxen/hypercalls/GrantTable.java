package org.jxen.hypercalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jxen.abi.GrantEntryV1;
import org.jxen.abi.Gntst;
import org.jxen.abi.Gtf;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.MappedArea;

/**
 * The domain's grant table, version 1 only: the frames of {@link GrantEntryV1}s through which the
 * guest grants other domains access to its pages, and the host side that backends (the "domain 0"
 * of a jxen VM) use to map a granted page.
 *
 * <h2>Frames</h2>
 * The table has {@link #nrFrames()} frames of 512 entries (one at the start, as in Xen), at most
 * {@link #maxFrames()}. The guest places frame {@code idx} at a gfn of its choice with
 * {@code XENMEM_add_to_physmap(XENMAPSPACE_grant_table, idx, gfn)}; asking for a frame beyond the
 * current size grows the table, as in Xen. As shared_info does in jxen (and in KVM), a frame lives
 * in the guest's page at that gfn (at a gfn outside RAM, in a page of its own: {@link GuestPhysmap}'s
 * overlays), which the host reaches through one gfn-to-pfn cache per frame. A
 * frame's first placement zeroes the page (a new Xen frame is empty); moving it to another gfn
 * moves its contents; the old gfn is ordinary RAM again with its content as it was. A frame placed
 * nowhere has no entries the guest could have filled: its references are bad.
 *
 * <h2>Mapping a grant</h2>
 * {@link #mapForeign(int, boolean)} does what Xen's {@code GNTTABOP_map_grant_ref} does for the
 * granted domain: on the first mapping of a reference it checks that the entry is
 * {@code GTF_permit_access} to the mapping domain (0), not a sub-page grant, and, for writing,
 * not {@code GTF_readonly}; then it sets {@code GTF_reading} (and {@code GTF_writing}) with a
 * compare-and-swap of the entry's flags and domid word, retried a few times while the guest changes
 * the entry. The granted frame is read once, at the first mapping, and must be populated RAM.
 * Further mappings of a mapped reference reuse that frame; the entry must not change domain. When
 * the last writable mapping goes, {@code GTF_writing} is cleared; when the last mapping goes,
 * {@code GTF_reading}: a guest must not end a grant while either is set. Failures are
 * {@link GrantException}s with a {@link Gntst} status.
 *
 * <h2>Threads</h2>
 * Hypercalls on vCPU threads, host backends on any thread. All state is guarded by the domain's p2m
 * lock ({@link GuestPhysmap}'s monitor); {@link #mapForeign} and {@link GrantMapping#close()} take
 * it and may wait for an invalidation, so they must not be called from inside a gfn-to-pfn cache
 * (they throw {@link IllegalStateException}). A {@link GrantMapping}'s reads and writes take only
 * its own cache.
 */
public final class GrantTable implements AutoCloseable {
    /** The grant-table version jxen implements. */
    public static final int VERSION = 1;
    /** Xen's default limit of grant-table frames per domain ({@code gnttab_max_frames}). */
    public static final int DEFAULT_MAX_FRAMES = 64;
    /** Version-1 entries per 4 KiB frame. */
    public static final int ENTRIES_PER_FRAME = 4096 / 8;
    /** The domain of the host's backends. */
    public static final int DOM0 = 0;
    /** An unmapped frame as {@code GNTTABOP_setup_table} reports it: all ones in the guest's {@code xen_pfn_t}. */
    static final long INVALID_GFN = -1L;

    private static final long PAGE_SIZE = 4096;
    private static final int CAS_TRIES = 5;
    /** The most mappings of one kind (read or write) of one reference, as Xen's 8-bit pin counters. */
    private static final int MAX_PINS = 0x7f;

    /** One mapped reference (Xen's active grant entry). */
    private static final class Active {
        final int domid;
        final long gfn;
        int readPins;
        int writePins;

        Active(int domid, long gfn) {
            this.domid = domid;
            this.gfn = gfn;
        }
    }

    /** An entry as read from the guest's frame: flags, domid, frame. */
    public record Entry(int flags, int domid, long frame) {
    }

    private final GuestPhysmap physmap;
    private final GuestMemory memory;
    private final int maxFrames;
    private final long[] frameGfn;
    private final GfnToPfnCache[] frameCache;
    private final Map<Integer, Active> active = new HashMap<>();
    private final Set<GrantMapping> mappings = new HashSet<>();
    private int nrFrames = 1;
    private boolean closed;

    GrantTable(GuestPhysmap physmap, int maxFrames) {
        if (maxFrames < 1 || maxFrames > 1024) {
            throw new IllegalArgumentException("max grant frames must be 1..1024: " + maxFrames);
        }
        this.physmap = physmap;
        this.memory = physmap.memory();
        this.maxFrames = maxFrames;
        this.frameGfn = new long[maxFrames];
        java.util.Arrays.fill(frameGfn, -1);
        this.frameCache = new GfnToPfnCache[maxFrames];
    }

    /** Always {@link #VERSION}. */
    public int version() {
        return VERSION;
    }

    /** The frames the table has now. */
    public int nrFrames() {
        synchronized (physmap) {
            return nrFrames;
        }
    }

    /** The most frames the table may grow to. */
    public int maxFrames() {
        return maxFrames;
    }

    /** Where the guest placed frame {@code idx}, or -1. */
    public long frameGfn(int idx) {
        synchronized (physmap) {
            return idx >= 0 && idx < maxFrames ? frameGfn[idx] : -1;
        }
    }

    /** How many host mappings are open now. */
    public int mappingCount() {
        synchronized (physmap) {
            return mappings.size();
        }
    }

    /**
     * Reads entry {@code ref} from the guest's frame, or returns null when the reference is outside
     * the table or its frame is placed nowhere or cannot be reached now. Any thread not inside a cache.
     */
    public Entry entry(int ref) {
        GuestPhysmap.requireOutsideCaches();
        synchronized (physmap) {
            int idx = frameOf(ref);
            if (idx < 0) {
                return null;
            }
            MappedArea f = frameCache[idx].lock();
            if (f == null) {
                return null;
            }
            try {
                long off = offsetOf(ref);
                int word = f.getIntVolatile(off);
                return new Entry(word & 0xffff, word >>> 16, Integer.toUnsignedLong(f.getInt(off + GrantEntryV1.offsetOfFrame(WordSize.BITS_64))));
            } finally {
                frameCache[idx].unlock();
            }
        }
    }

    // ------------------------------------------------------------------ guest side (p2m lock held by the caller)

    /**
     * Grows the table to at least {@code frames} frames ({@code GNTTABOP_setup_table}); false when
     * that is more than {@link #maxFrames()}. Caller holds the p2m lock.
     */
    boolean growTo(long frames) {
        assert Thread.holdsLock(physmap);
        if (frames > maxFrames) {
            return false;
        }
        nrFrames = (int) Math.max(nrFrames, frames);
        return true;
    }

    /** The gfn of frame {@code idx} for {@code GNTTABOP_setup_table}: where it is placed, or {@link #INVALID_GFN}. */
    long setupTableFrame(int idx) {
        assert Thread.holdsLock(physmap);
        return frameGfn[idx] >= 0 ? frameGfn[idx] : INVALID_GFN;
    }

    /**
     * {@code XENMEM_add_to_physmap(XENMAPSPACE_grant_table, idx, gfn)}: places frame {@code idx} at
     * {@code gfn} (RAM, or an overlay page the caller added), which the caller has checked holds no other Xen frame and no backend
     * mapping. Returns 0 or {@code -EINVAL} (a status-frame index, or beyond the limit). Caller holds
     * the p2m lock and is not inside a cache.
     */
    long mapFrame(long idx, long gfn) {
        assert Thread.holdsLock(physmap);
        if (closed || idx < 0 || idx >= maxFrames) {
            return -XenErrno.EINVAL; // includes XENMAPIDX_grant_table_status: v1 has no status frames
        }
        int i = (int) idx;
        long old = frameGfn[i];
        if (old == gfn) {
            return 0;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment content = a.allocate(PAGE_SIZE); // a new frame is empty
            if (old >= 0) {
                MappedArea m = frameCache[i].lock();
                if (m != null) {
                    try {
                        m.copyTo(0, content); // entries and the flags of mapped ones move with it
                    } finally {
                        frameCache[i].unlock();
                    }
                }
            }
            if (!memory.write(gfn * PAGE_SIZE, content)) {
                return -XenErrno.EINVAL;
            }
        }
        if (frameCache[i] == null) {
            frameCache[i] = memory.newCache("grant table frame " + i);
        }
        frameCache[i].activate(gfn * PAGE_SIZE, PAGE_SIZE);
        if (old >= 0) {
            physmap.removeXenFrame(old);
        }
        physmap.placeXenFrame(gfn, "grant table frame " + i);
        frameGfn[i] = gfn;
        nrFrames = Math.max(nrFrames, i + 1);
        return 0;
    }

    // ------------------------------------------------------------------ host side

    /** Maps reference {@code ref} for a backend of domain 0; see {@link #mapForeign(int, int, boolean)}. */
    public GrantMapping mapForeign(int ref, boolean write) throws GrantException {
        return mapForeign(DOM0, ref, write);
    }

    /**
     * Maps the page that the guest granted to {@code domid} with reference {@code ref}, for reading
     * or also for writing, and returns a handle through which the page is read and written until
     * {@link GrantMapping#close()}. Any thread not inside a gfn-to-pfn cache.
     *
     * @throws GrantException with {@link Gntst#BAD_GNTREF} for a reference outside the table or in
     *         a frame placed nowhere; {@link Gntst#GENERAL_ERROR} for an entry that is not a full-page
     *         {@code GTF_permit_access} grant to {@code domid}, is read-only when writing was asked,
     *         changes under the compare-and-swap more than a few times, is mapped by another domain,
     *         or has too many mappings, or when its frame cannot be reached now;
     *         {@link Gntst#BAD_PAGE} when the granted frame is not populated RAM of the guest
     * @throws IllegalStateException when the caller is inside a gfn-to-pfn cache or the table is closed
     */
    public GrantMapping mapForeign(int domid, int ref, boolean write) throws GrantException {
        GuestPhysmap.requireOutsideCaches();
        synchronized (physmap) {
            if (closed) {
                throw new IllegalStateException("the grant table is closed");
            }
            int idx = frameOf(ref);
            if (idx < 0) {
                throw new GrantException(Gntst.BAD_GNTREF, "reference " + ref + " is outside the table ("
                        + nrFrames + " frames) or in a frame the guest placed nowhere");
            }
            long off = offsetOf(ref);
            Active act = active.get(ref);
            if (act != null && (act.domid != domid || (write ? act.writePins : act.readPins) >= MAX_PINS)) {
                throw new GrantException(Gntst.GENERAL_ERROR, "reference " + ref + " is mapped by domain "
                        + act.domid + " or has too many mappings");
            }
            boolean first = act == null;
            boolean firstWriter = write && (first || act.writePins == 0);
            long frame = first ? -1 : act.gfn;
            if (first || firstWriter) {
                MappedArea f = frameCache[idx].lock();
                if (f == null) {
                    throw new GrantException(Gntst.GENERAL_ERROR, "grant frame " + idx + " cannot be reached now ("
                            + frameCache[idx].lastStatus() + ")");
                }
                String failure;
                try {
                    failure = setStatus(f, off, domid, write, first);
                    if (failure == null && first) {
                        frame = Integer.toUnsignedLong(f.getInt(off + GrantEntryV1.offsetOfFrame(WordSize.BITS_64)));
                    }
                } finally {
                    frameCache[idx].unlock();
                }
                if (failure != null) {
                    throw new GrantException(Gntst.GENERAL_ERROR, "reference " + ref + ": " + failure);
                }
            }
            int undo = (first ? Gtf.READING : 0) | (firstWriter ? Gtf.WRITING : 0);
            if (first && !physmap.isPopulated(frame)) {
                clearFlags(idx, off, undo);
                throw new GrantException(Gntst.BAD_PAGE, "reference " + ref + " grants frame 0x" + Long.toHexString(frame)
                        + ", which is not populated RAM of the guest");
            }
            GfnToPfnCache cache = memory.newCache("grant ref " + ref + (write ? " rw" : " ro"));
            GpcStatus st = cache.activate(frame * PAGE_SIZE, PAGE_SIZE);
            if (st != GpcStatus.OK) {
                cache.deactivate();
                clearFlags(idx, off, undo);
                throw new GrantException(Gntst.GENERAL_ERROR, "granted frame 0x" + Long.toHexString(frame)
                        + " cannot be mapped now (" + st + ")");
            }
            if (first) {
                act = new Active(domid, frame);
                active.put(ref, act);
            }
            if (write) {
                act.writePins++;
            } else {
                act.readPins++;
            }
            physmap.pin(frame);
            GrantMapping m = new GrantMapping(this, ref, domid, frame, write, cache);
            mappings.add(m);
            return m;
        }
    }

    /**
     * Xen's version-1 pin of an entry: on the first mapping the entry must be a full-page
     * {@code GTF_permit_access} to {@code domid}; writing needs it not read-only; then the reading
     * (and writing) flag is set with a compare-and-swap of the flags and domid word. Returns null or
     * what was wrong.
     */
    private static String setStatus(MappedArea f, long off, int domid, boolean write, boolean first) {
        for (int attempt = 1; ; attempt++) {
            int word = f.getIntVolatile(off); // flags in the low half, domid in the high half
            int flags = word & 0xffff;
            int granted = word >>> 16;
            if (first && (flags & (Gtf.TYPE_MASK | Gtf.SUB_PAGE)) != Gtf.PERMIT_ACCESS) {
                return "flags 0x" + Integer.toHexString(flags) + " are not a full-page permit_access grant";
            }
            if (first && granted != domid) {
                return "granted to domain " + granted + ", not " + domid;
            }
            if (write && (flags & Gtf.READONLY) != 0) {
                return "a read-only grant cannot be mapped for writing";
            }
            int next = word | Gtf.READING | (write ? Gtf.WRITING : 0);
            if (f.compareAndSetInt(off, word, next)) {
                return null;
            }
            if (attempt == CAS_TRIES) {
                return "the entry kept changing";
            }
        }
    }

    /** Called by {@link GrantMapping#close()}. */
    void unmap(GrantMapping m) {
        GuestPhysmap.requireOutsideCaches();
        synchronized (physmap) {
            if (!mappings.remove(m)) {
                return; // closed already, or by the table's close
            }
            m.markClosed();
            Active act = active.get(m.ref());
            if (m.isWritable()) {
                act.writePins--;
            } else {
                act.readPins--;
            }
            physmap.unpin(act.gfn);
            int clear = 0;
            if (m.isWritable() && act.writePins == 0) {
                clear |= Gtf.WRITING;
            }
            if (act.readPins + act.writePins == 0) {
                clear |= Gtf.READING;
                active.remove(m.ref());
            }
            int idx = frameOf(m.ref());
            if (clear != 0 && idx >= 0) {
                clearFlags(idx, offsetOf(m.ref()), clear);
            }
            m.cache().deactivate();
        }
    }

    /** Clears {@code bits} in the entry's flags (domid untouched); nothing when the frame cannot be reached. */
    private void clearFlags(int idx, long off, int bits) {
        if (bits == 0) {
            return;
        }
        MappedArea f = frameCache[idx].lock();
        if (f != null) {
            try {
                f.getAndBitwiseAndInt(off, ~bits);
            } finally {
                frameCache[idx].unlock();
            }
        }
    }

    /** The frame index of {@code ref}, or -1 when it is outside the table or its frame is placed nowhere. */
    private int frameOf(int ref) {
        if (ref < 0 || ref >= nrFrames * ENTRIES_PER_FRAME) {
            return -1;
        }
        int idx = ref / ENTRIES_PER_FRAME;
        return frameGfn[idx] >= 0 ? idx : -1;
    }

    private static long offsetOf(int ref) {
        return (long) (ref % ENTRIES_PER_FRAME) * GrantEntryV1.sizeof(WordSize.BITS_64);
    }

    /**
     * Closes every open mapping (clearing its flags) and releases the frame caches. Idempotent; any
     * thread not inside a cache.
     */
    @Override
    public void close() {
        GuestPhysmap.requireOutsideCaches();
        synchronized (physmap) {
            if (closed) {
                return;
            }
            for (GrantMapping m : List.copyOf(mappings)) {
                unmap(m);
            }
            closed = true;
            for (GfnToPfnCache c : frameCache) {
                if (c != null) {
                    c.deactivate();
                }
            }
        }
    }

    /** The open mappings (a copy), for tests and the monitor. */
    public List<GrantMapping> mappings() {
        synchronized (physmap) {
            return new ArrayList<>(mappings);
        }
    }
}

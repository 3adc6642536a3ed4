package org.jxen.hypercalls;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.gpc.MemoryMap;
import org.jxen.gpc.Memslot;

/**
 * The domain's physmap (Xen's p2m, as far as jxen has one): what each guest frame of RAM holds, and
 * the domain's memory reservation.
 *
 * <h2>States of a gfn</h2>
 * A gfn is <em>RAM</em> when a writable memslot backs it. A RAM gfn is in one of three states:
 * <ul>
 * <li><b>populated</b>: the guest's own memory (every RAM gfn starts so);</li>
 * <li><b>ballooned out</b>: the guest gave it back ({@code XENMEM_decrease_reservation}); the host
 * pages behind it were discarded, so it reads as zero. KVM still maps the memslot: a guest that
 * touches the gfn anyway reads zeroes, and a store makes the host give it a fresh page again (the
 * host's bound on a guest's memory is the memslot, not the reservation). Hypercalls that read it
 * read zeroes, never stale data.</li>
 * <li><b>a Xen frame</b>: the guest placed shared_info or a grant-table frame there with
 * {@code XENMEM_add_to_physmap}. In jxen (as in KVM) such a frame lives in the guest's page at that
 * gfn. It is not counted as the guest's memory (Xen frees the RAM page a frame is placed over);
 * when the frame moves on, the gfn is populated RAM again with its content as it was (Xen would
 * leave a hole there).</li>
 * </ul>
 * A Xen frame may also be placed at a gfn that no memslot backs (a hole: Linux in a PVH domain puts
 * its grant-table frames in unused guest-physical space): there it lives in a page of its own, a
 * one-page memslot of the domain's memory, as Xen maps a page of its own into the p2m. Such an
 * <em>overlay</em> page is not RAM and not the guest's memory; when the frame moves on, the memslot
 * goes and the gfn is a hole again, as in Xen. Holes in {@code [0xfec00000, 4 GiB)} (IOAPIC, local
 * APIC, Xen's special pages, KVM's own pages, firmware) and above 1 TiB are refused, and there are at
 * most {@value #MAX_OVERLAYS} overlays.
 * A populated gfn can be <em>pinned</em>: mapped by a host backend through a grant
 * ({@link GrantTable#mapForeign}). A pinned gfn is not ballooned out and gets no Xen frame.
 *
 * <h2>Reservation</h2>
 * {@code max_pages} is the RAM of the domain when it was built (the host may change it);
 * {@code tot_pages} is the populated RAM plus the pages that {@code XENMEM_increase_reservation}
 * gave the domain without a gfn (what Xen does for a guest with translated paging: the pages belong
 * to the domain but are in no gfn, so nothing can use or free them). Populating beyond
 * {@code max_pages} fails. {@code tot_pages} may exceed {@code max_pages} when a Xen frame moves off
 * a gfn (which becomes RAM again) or the host adds RAM; populating then fails until the guest gives
 * pages back.
 *
 * <h2>Threads and lock order</h2>
 * Every method may be called from any thread. This object's monitor is the domain's p2m lock: it
 * guards the states above, the pins and the {@link GrantTable}; compound operations of
 * {@link MemoryOps} and {@link GrantTable} hold it across their steps. While holding it, code may
 * lock gfn-to-pfn caches, activate and deactivate them, and discard guest memory (which waits for
 * cache readers and takes {@link GuestMemory}'s monitor). So the order is: p2m lock, then a cache or
 * the guest-memory monitor; the reverse is forbidden: no thread that is inside a cache, or in a
 * memory-map listener, may take the p2m lock (the public entry points that can wait check it).
 * Host pages of a gfn are discarded under the p2m lock before the gfn can be populated again, so a
 * discard never erases what the guest wrote after populating.
 */
public final class GuestPhysmap {
    /** The largest extent order the domain may use: 9, a 2 MiB superpage (Xen's default for a domU). */
    public static final int MAX_ORDER = 9;
    /** gfns above this are never ballooned (the bitmap is indexed by int; 8 TiB of guest-physical space). */
    static final long MAX_BALLOON_GFN = Integer.MAX_VALUE - (1 << MAX_ORDER);

    private static final int PAGE_SHIFT = 12;

    private final GuestMemory memory;
    private final BitSet ballooned = new BitSet();
    private final Map<Long, String> xenFrames = new HashMap<>();
    private final Map<Long, Integer> pins = new HashMap<>();
    /** Xen frames placed in holes: gfn to the page's memslot; read without the lock by {@link #isRam}. */
    private final Map<Long, Overlay> overlays = new java.util.concurrent.ConcurrentHashMap<>();

    /** An overlay page: its memslot id and host memory. */
    private record Overlay(int slotId, HostMemory memory) {
    }

    /** The most Xen frames in holes at once (a grant table's frames and shared_info, with room). */
    public static final int MAX_OVERLAYS = 256;
    /** Memslot ids of overlays start here (below: RAM and the special pages). */
    static final int FIRST_OVERLAY_SLOT = 64;
    private static final long NO_OVERLAY_START_GFN = 0xfec00;
    private static final long NO_OVERLAY_END_GFN = 0x100000;
    private static final long OVERLAY_LIMIT_GFN = 1L << (40 - PAGE_SHIFT);
    private long maxPages;
    private long pagesWithoutGfn;

    GuestPhysmap(GuestMemory memory) {
        this.memory = memory;
        this.maxPages = ramPages(memory.currentMap());
    }

    /** The guest memory this physmap describes. */
    public GuestMemory memory() {
        return memory;
    }

    // ------------------------------------------------------------------ queries

    /** True when a writable memslot backs the page of {@code gfn} now, and it is not an overlay page. */
    public boolean isRam(long gfn) {
        if (gfn < 0 || gfn > (Long.MAX_VALUE >>> PAGE_SHIFT)) {
            return false;
        }
        Memslot s = memory.currentMap().find(gfn << PAGE_SHIFT);
        return s != null && !s.isReadOnly() && !overlays.containsKey(gfn);
    }

    /** True when a Xen frame placed in a hole lives at {@code gfn} in a page of its own. */
    public boolean isOverlay(long gfn) {
        return overlays.containsKey(gfn);
    }

    /** How many Xen frames live in holes now. */
    public int overlayCount() {
        return overlays.size();
    }

    /** True when {@code gfn} is RAM the guest owns now: not ballooned out and not a Xen frame. */
    public synchronized boolean isPopulated(long gfn) {
        return isRam(gfn) && !isBallooned(gfn) && !xenFrames.containsKey(gfn);
    }

    /** True when the guest gave {@code gfn} back and has not populated it again. */
    public synchronized boolean isBallooned(long gfn) {
        return gfn >= 0 && gfn <= MAX_BALLOON_GFN && ballooned.get((int) gfn);
    }

    /** What Xen frame the guest placed at {@code gfn} ("shared_info", "grant table frame 3"), or null. */
    public synchronized String xenFrameAt(long gfn) {
        return xenFrames.get(gfn);
    }

    /** How many host backends have {@code gfn} mapped through a grant now. */
    public synchronized int pinCount(long gfn) {
        return pins.getOrDefault(gfn, 0);
    }

    /** {@code max_pages}: how many pages the domain may populate. */
    public synchronized long maxPages() {
        return maxPages;
    }

    /** The host sets {@code max_pages} (the toolstack's {@code xl mem-max}). */
    public synchronized void setMaxPages(long pages) {
        if (pages < 0) {
            throw new IllegalArgumentException("max_pages must be >= 0: " + pages);
        }
        this.maxPages = pages;
    }

    /** {@code tot_pages}: the populated RAM, plus pages the domain got without a gfn. */
    public synchronized long totPages() {
        MemoryMap m = memory.currentMap();
        long pages = ramPages(m) - overlays.size() + pagesWithoutGfn;
        for (int g = ballooned.nextSetBit(0); g >= 0; g = ballooned.nextSetBit(g + 1)) {
            if (isRam(m, g)) {
                pages--;
            }
        }
        for (long g : xenFrames.keySet()) {
            if (isRam(m, g) && !overlays.containsKey(g)) {
                pages--;
            }
        }
        return pages;
    }

    /** The number of ballooned-out gfns that are RAM now. */
    public synchronized long balloonedPages() {
        MemoryMap m = memory.currentMap();
        long n = 0;
        for (int g = ballooned.nextSetBit(0); g >= 0; g = ballooned.nextSetBit(g + 1)) {
            if (isRam(m, g)) {
                n++;
            }
        }
        return n;
    }

    // ------------------------------------------------------------------ the reservation

    /**
     * {@code XENMEM_decrease_reservation} for {@code count} extents of {@code 2^order} pages at
     * {@code gfns[0..count)}: each extent is given back whole, or the operation stops there. An
     * extent stops it when any of its pages is not RAM, is already ballooned out, holds a Xen frame
     * or is mapped by a backend (Xen would unmap a Xen frame or leave a backend its page; jxen keeps
     * both in guest RAM, so it refuses). The host pages of the extents done are discarded (runs of
     * neighbouring extents in one discard) before this returns. Returns how many extents were done.
     *
     * @throws IllegalStateException when the calling thread is inside a gfn-to-pfn cache
     */
    public synchronized int decreaseReservation(long[] gfns, int count, int order) {
        requireOutsideCaches();
        checkOrder(order);
        long n = 1L << order;
        Run run = new Run();
        int done = 0;
        for (; done < count; done++) {
            long gfn = gfns[done];
            if (!extentInRange(gfn, n) || !allPages(gfn, n, this::mayGiveBack)) {
                break;
            }
            ballooned.set((int) gfn, (int) (gfn + n));
            run.add(gfn, n);
        }
        run.flush();
        return done;
    }

    /**
     * {@code XENMEM_populate_physmap} for a guest with translated paging: {@code count} extents of
     * {@code 2^order} pages at the gfns {@code gfns[0..count)} get memory again, zeroed. An extent
     * stops the operation when any page is not RAM or is not ballooned out (populated already, or a
     * Xen frame: Xen would replace the page and leak the old one; jxen refuses), or when it would
     * take {@code tot_pages} above {@code max_pages}. Returns how many extents were done.
     *
     * @throws IllegalStateException when the calling thread is inside a gfn-to-pfn cache
     */
    public synchronized int populatePhysmap(long[] gfns, int count, int order) {
        requireOutsideCaches();
        checkOrder(order);
        long n = 1L << order;
        long tot = totPages();
        Run run = new Run();
        int done = 0;
        for (; done < count; done++) {
            long gfn = gfns[done];
            if (tot + n > maxPages || !extentInRange(gfn, n) || !allPages(gfn, n, this::mayPopulate)) {
                break;
            }
            ballooned.clear((int) gfn, (int) (gfn + n));
            tot += n;
            run.add(gfn, n); // a guest store into a ballooned gfn re-populated the host page: zero it
        }
        run.flush();
        return done;
    }

    /**
     * {@code XENMEM_increase_reservation} for a guest with translated paging: gives the domain
     * {@code count} extents of {@code 2^order} pages that no gfn maps (as Xen does: it tells such a
     * guest nothing about them), while {@code tot_pages} stays within {@code max_pages}. Guests use
     * {@code XENMEM_populate_physmap} to get memory they can use. Returns how many extents were done.
     */
    public synchronized int increaseReservation(long count, int order) {
        checkOrder(order);
        long n = 1L << order;
        long tot = totPages();
        long room = maxPages - tot;
        long done = room <= 0 ? 0 : Math.min(count, room / n);
        pagesWithoutGfn += done * n;
        return (int) done;
    }

    // ------------------------------------------------------------------ Xen frames and pins (p2m lock held)

    /** Records that a Xen frame ({@code what}) now lives at RAM gfn {@code gfn}. Caller holds the p2m lock. */
    void placeXenFrame(long gfn, String what) {
        assert Thread.holdsLock(this);
        xenFrames.put(gfn, what);
        if (gfn >= 0 && gfn <= MAX_BALLOON_GFN) {
            ballooned.clear((int) gfn);
        }
    }

    /**
     * The Xen frame at {@code gfn} moved away: the gfn is populated RAM again, or, for an overlay, a
     * hole again (its memslot removed). Caller holds the p2m lock and is not inside a cache.
     */
    void removeXenFrame(long gfn) {
        assert Thread.holdsLock(this);
        xenFrames.remove(gfn);
        removeOverlay(gfn);
    }

    /**
     * Gives hole {@code gfn} a page of its own for a Xen frame: a one-page memslot of new, zeroed host
     * memory. Returns false, changing nothing, when the gfn is not a hole this allows, there are
     * {@value #MAX_OVERLAYS} overlays already, or the host refuses the memslot. Caller holds the p2m
     * lock and is not inside a cache.
     */
    boolean addOverlay(long gfn) {
        assert Thread.holdsLock(this);
        if (gfn < 0 || gfn >= OVERLAY_LIMIT_GFN || (gfn >= NO_OVERLAY_START_GFN && gfn < NO_OVERLAY_END_GFN)
                || overlays.size() >= MAX_OVERLAYS || overlays.containsKey(gfn)
                || memory.currentMap().find(gfn << PAGE_SHIFT) != null) {
            return false;
        }
        HostMemory page;
        try {
            page = HostMemory.anonymous(memory.name() + "-xen-frame-0x" + Long.toHexString(gfn), HostMemory.PAGE_SIZE);
        } catch (RuntimeException e) {
            return false;
        }
        try {
            Memslot slot = memory.addSlotWithFreeId(FIRST_OVERLAY_SLOT, gfn << PAGE_SHIFT, HostMemory.PAGE_SIZE, page, 0, 0);
            overlays.put(gfn, new Overlay(slot.id(), page));
            return true;
        } catch (RuntimeException e) {
            page.close(); // overlapping a slot KVM keeps for itself, or KVM out of memslots
            return false;
        }
    }

    /** Removes the overlay page at {@code gfn}, if any. Caller holds the p2m lock and is not inside a cache. */
    void removeOverlay(long gfn) {
        assert Thread.holdsLock(this);
        Overlay o = overlays.remove(gfn);
        if (o != null) {
            if (memory.currentMap().byId(o.slotId()) != null) {
                memory.removeSlot(o.slotId());
            }
            o.memory().close();
        }
    }

    /** Removes every overlay page and releases its memory; when the domain closes. Not inside a cache. */
    public synchronized void releaseOverlays() {
        requireOutsideCaches();
        for (Long gfn : java.util.List.copyOf(overlays.keySet())) {
            xenFrames.remove(gfn);
            removeOverlay(gfn);
        }
    }

    /** A backend maps {@code gfn}. Caller holds the p2m lock. */
    void pin(long gfn) {
        assert Thread.holdsLock(this);
        pins.merge(gfn, 1, Integer::sum);
    }

    /** A backend unmapped {@code gfn}. Caller holds the p2m lock. */
    void unpin(long gfn) {
        assert Thread.holdsLock(this);
        pins.computeIfPresent(gfn, (k, v) -> v == 1 ? null : v - 1);
    }

    static void requireOutsideCaches() {
        if (GfnToPfnCache.currentThreadHoldsAny()) {
            throw new IllegalStateException("the p2m lock may not be taken inside a gfn-to-pfn cache");
        }
    }

    // ------------------------------------------------------------------ helpers

    private boolean mayGiveBack(long gfn) {
        return isRam(gfn) && !ballooned.get((int) gfn) && !xenFrames.containsKey(gfn) && !pins.containsKey(gfn);
    }

    private boolean mayPopulate(long gfn) {
        return isRam(gfn) && ballooned.get((int) gfn);
    }

    private static boolean extentInRange(long gfn, long n) {
        return gfn >= 0 && gfn <= MAX_BALLOON_GFN - n;
    }

    private static boolean allPages(long gfn, long n, java.util.function.LongPredicate ok) {
        for (long i = 0; i < n; i++) {
            if (!ok.test(gfn + i)) {
                return false;
            }
        }
        return true;
    }

    private static void checkOrder(int order) {
        if (order < 0 || order > MAX_ORDER) {
            throw new IllegalArgumentException("extent order " + order + " is outside 0.." + MAX_ORDER);
        }
    }

    private static boolean isRam(MemoryMap m, long gfn) {
        Memslot s = m.find(gfn << PAGE_SHIFT);
        return s != null && !s.isReadOnly();
    }

    static long ramPages(MemoryMap m) {
        long pages = 0;
        for (Memslot s : m.slots()) {
            if (!s.isReadOnly()) {
                pages += s.size() / HostMemory.PAGE_SIZE;
            }
        }
        return pages;
    }

    /** Neighbouring extents gathered into one discard. */
    private final class Run {
        long start = -1;
        long pages;

        void add(long gfn, long n) {
            if (start >= 0 && gfn == start + pages) {
                pages += n;
                return;
            }
            flush();
            start = gfn;
            pages = n;
        }

        void flush() {
            if (start < 0) {
                return;
            }
            try {
                memory.discardGuestRange(start << PAGE_SHIFT, pages << PAGE_SHIFT);
            } catch (IllegalArgumentException mapChangedUnderUs) {
                // the host removed or re-flagged a memslot since the pages were checked: discard what
                // is still RAM, page by page (what is not RAM any more has no host pages to give back)
                for (long g = start; g < start + pages; g++) {
                    if (isRam(g)) {
                        try {
                            memory.discardGuestRange(g << PAGE_SHIFT, 1L << PAGE_SHIFT);
                        } catch (IllegalArgumentException goneToo) {
                            // removed in the meantime as well
                        }
                    }
                }
            }
            start = -1;
            pages = 0;
        }
    }
}

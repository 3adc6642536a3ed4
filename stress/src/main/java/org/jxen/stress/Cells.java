package org.jxen.stress;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;

/**
 * Host memory shared by all the JCStress states of one JVM, so that no state maps or allocates
 * memory of its own (JCStress makes millions of states, thousands of them live at once).
 *
 * <p>Each state gets bytes that no other live state uses: a 128-byte <em>cell</em> from the cell
 * region, or, for an area split across two memslots, the end and start of adjacent pages from
 * the split region (or, for read-only use, pages shared by all). Each state still has its own
 * {@link GuestMemory} with its own memslots over
 * the page that holds its bytes, so invalidations, memory-map changes and caches of one state never
 * touch another: an invalidation only sees the caches of its own guest memory, even though many
 * guest memories map the same host page.
 *
 * <p>Threads: {@link #cell()} and {@link #claimBoundary()} are called from state constructors on any
 * thread. The blocks are never closed (they live as long as the JVM), so the memslot counts that
 * states leave behind do not matter.
 */
final class Cells {
    static final long PAGE = HostMemory.PAGE_SIZE;
    /** Bytes per cell: two 64-byte halves, {@code A} at 0 and {@code B} at 64. */
    static final long CELL = 128;
    static final long B = 64;

    /**
     * 8 MiB: 65536 cells. JCStress keeps at most "strides x stride size" states of one test alive
     * (40 x 256 = 10240 here), far fewer.
     */
    private static final long CELL_PAGES = 2048;
    /** 48 MiB: 12287 split boundaries (claimed and released), then 3 pages shared read-only. */
    private static final long SPLIT_PAGES = 12288;
    private static final long SHARED_SPLIT_PAGES = 3;

    static final HostMemory HOST = HostMemory.offHeap("jxen-stress",
            (CELL_PAGES + SPLIT_PAGES + SHARED_SPLIT_PAGES) * PAGE);
    private static final MemorySegment SEG = HOST.segment();
    private static final AtomicLong NEXT_CELL = new AtomicLong();
    private static final AtomicLong NEXT_SPLIT = new AtomicLong();
    private static final AtomicIntegerArray CLAIMED = new AtomicIntegerArray((int) SPLIT_PAGES - 1);

    private Cells() {
    }

    /** The host offset of a fresh, zeroed, 128-byte-aligned cell that no other live state uses. */
    static long cell() {
        long i = Math.floorMod(NEXT_CELL.getAndIncrement(), CELL_PAGES * PAGE / CELL);
        long off = i * CELL;
        SEG.asSlice(off, CELL).fill((byte) 0);
        return off;
    }

    /** Bytes a boundary's claimant may use on each side of it (no other claimant comes near). */
    static final long BOUNDARY_BYTES = 64;

    /**
     * Claims a page {@code p} of which the caller may use the last {@link #BOUNDARY_BYTES} bytes, and
     * of whose successor {@code p + 1} it may use the first {@link #BOUNDARY_BYTES} bytes, all zeroed; returns its index for
     * {@link #boundaryPage} and {@link #releaseBoundary}. An area split across two memslots over
     * {@code p} and {@code p + 1} has its parts exactly there; the caller of index {@code k + 1}
     * uses the end of {@code p + 1} and the start of {@code p + 2}.
     *
     * <p>Claimed, not just counted: JCStress constructs a state's successor right after the state's
     * arbiter, while the other actor's half of the stride still holds states made up to one whole
     * stride earlier, so a round-robin counter over fewer than twice the states alive would hand
     * bytes still in use to a new state (seen: a new state's zeroing wiped an old state's write
     * before its arbiter read it). The state releases its index at the end of its arbiter.
     */
    static int claimBoundary() {
        int n = CLAIMED.length();
        long start = NEXT_SPLIT.getAndIncrement();
        for (int i = 0; i < n; i++) {
            int k = (int) Math.floorMod(start + i, (long) n);
            if (CLAIMED.compareAndSet(k, 0, 1)) {
                long p = boundaryPage(k);
                SEG.asSlice(p + PAGE - BOUNDARY_BYTES, 2 * BOUNDARY_BYTES).fill((byte) 0);
                return k;
            }
        }
        throw new IllegalStateException("all " + n + " split boundaries are claimed: do states release them?");
    }

    /** The host offset of the page of claimed boundary {@code k}. */
    static long boundaryPage(int k) {
        return (CELL_PAGES + k) * PAGE;
    }

    /** Gives boundary {@code k} back; call last in the arbiter. */
    static void releaseBoundary(int k) {
        CLAIMED.set(k, 0);
    }

    /**
     * Three consecutive pages shared by every caller, for states that only ever read the bytes at
     * their boundaries after writing the same constants there in their constructors.
     */
    static long sharedSplitPages() {
        return (CELL_PAGES + SPLIT_PAGES) * PAGE;
    }

    /** The page that holds host offset {@code off}. */
    static long pageOf(long off) {
        return off - off % PAGE;
    }

    /** A new guest memory with memslot 0 at gpa 0 over the host page that holds {@code off}. */
    static GuestMemory guestOverPageOf(long off) {
        GuestMemory m = new GuestMemory("jcstress");
        m.addSlot(0, 0, PAGE, HOST, pageOf(off), 0);
        return m;
    }

    /** The gpa at which {@link #guestOverPageOf} maps host offset {@code off}. */
    static long gpaOf(long off) {
        return off % PAGE;
    }

    /** A cache of {@code memory} activated on {@code [gpa, gpa + length)}, which must map now. */
    static GfnToPfnCache validCache(GuestMemory memory, long gpa, long length) {
        GfnToPfnCache c = memory.newCache("jcstress");
        GpcStatus st = c.activate(gpa, length);
        if (st != GpcStatus.OK) {
            throw new IllegalStateException("activation failed: " + st);
        }
        return c;
    }

    static long getLong(long off) {
        return SEG.get(ValueLayout.JAVA_LONG, off);
    }

    static int getInt(long off) {
        return SEG.get(ValueLayout.JAVA_INT_UNALIGNED, off);
    }

    static void putInt(long off, int value) {
        SEG.set(ValueLayout.JAVA_INT_UNALIGNED, off, value);
    }
}

package org.jxen.hypercalls;

import java.lang.foreign.MemorySegment;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.MappedArea;

/**
 * A backend's mapping of one page that the guest granted ({@link GrantTable#mapForeign}): reads and
 * writes of that page through its own gfn-to-pfn cache, so they follow the guest's memory when the
 * memory map changes and never reach anything but the granted page. A read-only mapping refuses
 * writes. {@link #close()} unmaps it (Xen's {@code GNTTABOP_unmap_grant_ref}) and clears the
 * entry's {@code GTF_writing}/{@code GTF_reading} when it was the last such mapping.
 *
 * <p>Threads: reads and writes from any thread, also concurrently (the page is shared memory: the
 * guest may change it at any time, so a backend copies what it reads before it checks it);
 * {@link #close()} from any thread that is not inside a gfn-to-pfn cache. A read or write that
 * races with {@code close()} either completes or returns false.
 */
public final class GrantMapping implements AutoCloseable {
    /** The size of a granted page. */
    public static final long PAGE_SIZE = 4096;

    private final GrantTable table;
    private final int ref;
    private final int domid;
    private final long gfn;
    private final boolean writable;
    private final GfnToPfnCache cache;
    private volatile boolean closed;

    GrantMapping(GrantTable table, int ref, int domid, long gfn, boolean writable, GfnToPfnCache cache) {
        this.table = table;
        this.ref = ref;
        this.domid = domid;
        this.gfn = gfn;
        this.writable = writable;
        this.cache = cache;
    }

    /** The grant reference. */
    public int ref() {
        return ref;
    }

    /** The domain that mapped it. */
    public int domid() {
        return domid;
    }

    /** The guest frame that the grant gave, read when the reference was first mapped. */
    public long gfn() {
        return gfn;
    }

    public boolean isWritable() {
        return writable;
    }

    public boolean isClosed() {
        return closed;
    }

    GfnToPfnCache cache() {
        return cache;
    }

    /** The table unmapped it. */
    void markClosed() {
        closed = true;
    }

    /**
     * Copies {@code dst.byteSize()} bytes of the page from {@code offset} into {@code dst}. Returns
     * false when the page cannot be reached now (the host changed the memory map) or the mapping was
     * closed meanwhile.
     *
     * @throws IllegalArgumentException when the range is not inside the page
     * @throws IllegalStateException when the mapping is closed
     */
    public boolean read(long offset, MemorySegment dst) {
        checkRange(offset, dst.byteSize());
        MappedArea a = lock();
        if (a == null) {
            return false;
        }
        try {
            a.copyTo(offset, dst);
            return true;
        } finally {
            cache.unlock();
        }
    }

    /**
     * Copies all of {@code src} into the page at {@code offset}. Returns false when the page cannot be
     * reached now or the mapping was closed meanwhile.
     *
     * @throws IllegalArgumentException when the range is not inside the page
     * @throws IllegalStateException when the mapping is read-only or closed
     */
    public boolean write(long offset, MemorySegment src) {
        if (!writable) {
            throw new IllegalStateException("grant reference " + ref + " is mapped read-only");
        }
        checkRange(offset, src.byteSize());
        MappedArea a = lock();
        if (a == null) {
            return false;
        }
        try {
            a.copyFrom(src, offset);
            return true;
        } finally {
            cache.unlock();
        }
    }

    private MappedArea lock() {
        if (closed) {
            throw new IllegalStateException("grant mapping of reference " + ref + " is closed");
        }
        return cache.lock(); // null once close() deactivated the cache
    }

    private void checkRange(long offset, long length) {
        if (offset < 0 || length < 0 || offset > PAGE_SIZE - length) {
            throw new IllegalArgumentException("[" + offset + ", +" + length + ") is not inside the granted page");
        }
    }

    /** Unmaps the page; idempotent. Not from inside a gfn-to-pfn cache. */
    @Override
    public void close() {
        table.unmap(this);
    }

    @Override
    public String toString() {
        return "grant mapping of reference " + ref + " (frame 0x" + Long.toHexString(gfn) + ", "
                + (writable ? "read-write" : "read-only") + ", domain " + domid + (closed ? ", closed)" : ")");
    }
}

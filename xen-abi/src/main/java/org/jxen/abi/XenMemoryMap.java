package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct xen_memory_map} ({@code xen/memory.h}): the argument of {@link XenMem#MEMORY_MAP}.
 * On the call {@code nr_entries} is how many {@link E820Entry}s fit in {@code buffer}; on return,
 * how many the host stored.
 *
 * <pre>
 * 64-bit guest (16 bytes)          32-bit guest (8 bytes)
 *  0 nr_entries u32                 0 nr_entries u32
 *  8 buffer     handle {u64 p}      4 buffer     handle {u32 p}
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class XenMemoryMap {
    private XenMemoryMap() {
    }

    private static final StructLayout L64 = MemoryLayout.structLayout(
            U32.withName("nr_entries"),
            MemoryLayout.paddingLayout(4),
            guestHandle(WordSize.BITS_64).withName("buffer")).withName("xen_memory_map");
    private static final StructLayout L32 = MemoryLayout.structLayout(
            U32.withName("nr_entries"),
            guestHandle(WordSize.BITS_32).withName("buffer")).withName("xen_memory_map");

    private static final long NR_ENTRIES = CTypes.offset(L64, "nr_entries");
    private static final long BUFFER_64 = CTypes.offset(L64, "buffer"), BUFFER_32 = CTypes.offset(L32, "buffer");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 16 for a 64-bit guest, 8 for a 32-bit one. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfNrEntries(WordSize w) { return NR_ENTRIES; }
    public static long offsetOfBuffer(WordSize w) { return pick(w, BUFFER_64, BUFFER_32); }

    public static int nrEntries(MemorySegment seg) { return getU32(seg, NR_ENTRIES); }
    public static void setNrEntries(MemorySegment seg, int value) { setU32(seg, NR_ENTRIES, value); }
    public static long buffer(MemorySegment seg, WordSize w) { return getWord(seg, w, offsetOfBuffer(w)); }
    public static void setBuffer(MemorySegment seg, WordSize w, long value) { setWord(seg, w, offsetOfBuffer(w), value); }
}

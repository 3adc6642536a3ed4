package org.jxen.stress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.MappedArea;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.J_Result;

/**
 * Within one {@code lock()}..{@code unlock()}, a split area's two parts come from one translation
 * under one memory map: a reader never sees part 1 of one mapping and part 2 of another.
 *
 * <pre>
 *   old map: gpa [0, 4096) slot 0 -> page P      [4096, 8192) slot 1 -> page P+1
 *   new map: gpa [0, 4096) slot 2 -> page P+1    [4096, 8192) slot 3 -> page P+2
 *   area [4092, 4100): old parts = end of P (0x11111111), start of P+1 (0x22222222)
 *                      new parts = end of P+1 (0x33333333), start of P+2 (0x44444444)
 * </pre>
 * The remapper removes slots 0 and 1, then adds slots 2 and 3 (so no intermediate map backs the
 * area with a mix of old and new slots). The reader {@code lock()}s and reads the long across the
 * split (r1), or records -1 when {@code lock()} failed (an intermediate map does not back the area).
 * Nothing writes the pages after construction, and every state writes the same four constants, so
 * all states share the three pages ({@link Cells#sharedSplitPages()}).
 */
@JCStressTest
@Outcome(id = "2459565876208275729", expect = ACCEPTABLE,
        desc = "0x22222222_11111111: both parts from the old map (the reader ran before the change)")
@Outcome(id = "4919131752702882611", expect = ACCEPTABLE,
        desc = "0x44444444_33333333: both parts from the new map (the reader ran, or refreshed, after the change)")
@Outcome(id = "-1", expect = ACCEPTABLE_INTERESTING,
        desc = "lock() failed: it translated under an intermediate map in which the area is not (fully) backed")
@Outcome(expect = FORBIDDEN,
        desc = "a torn read: parts from two different mappings, or bytes that neither mapping holds")
@State
public class SplitAreaRemapVsRead {
    final long p = Cells.sharedSplitPages();
    final GuestMemory memory = new GuestMemory("jcstress split remap");
    final GfnToPfnCache cache;

    public SplitAreaRemapVsRead() {
        Cells.putInt(p + Cells.PAGE - 4, 0x11111111);
        Cells.putInt(p + Cells.PAGE, 0x22222222);
        Cells.putInt(p + 2 * Cells.PAGE - 4, 0x33333333);
        Cells.putInt(p + 2 * Cells.PAGE, 0x44444444);
        memory.addSlot(0, 0, Cells.PAGE, Cells.HOST, p, 0);
        memory.addSlot(1, Cells.PAGE, Cells.PAGE, Cells.HOST, p + Cells.PAGE, 0);
        cache = Cells.validCache(memory, Cells.PAGE - 4, 8);
    }

    @Actor
    public void reader(J_Result r) {
        MappedArea a = cache.lock();
        if (a == null) {
            r.r1 = -1;
            return;
        }
        try {
            r.r1 = a.getLong(0);
        } finally {
            cache.unlock();
        }
    }

    @Actor
    public void remapper() {
        memory.removeSlot(0);
        memory.removeSlot(1);
        memory.addSlot(2, 0, Cells.PAGE, Cells.HOST, p + Cells.PAGE, 0);
        memory.addSlot(3, Cells.PAGE, Cells.PAGE, Cells.HOST, p + 2 * Cells.PAGE, 0);
    }
}

package org.jxen.stress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.MappedArea;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIII_Result;

/**
 * The two parts of a split area are one cache: invalidating the host range of only the second part
 * invalidates the whole area, waits for the writer, and no byte lands in either part after it
 * returns; a writer that got the view writes both parts (never one without the other).
 *
 * <pre>
 *   gpa  [0, 4096) memslot 0 -> host page P     [4096, 8192) memslot 1 -> host page Q
 *   area [4092, 4100): part 1 = last 4 bytes of P, part 2 = first 4 bytes of Q
 * </pre>
 * The writer {@code tryLock}s and writes the long {@code 0x02020202_01010101} across the split
 * (part 1 gets 0x01010101, part 2 0x02020202, byte by byte); r1 = 1 when it locked. The
 * invalidator begins an invalidation of page Q only, keeps it open until the arbiter, and reads Q's
 * first int right after begin returned (r2). The arbiter records {@code check()} while the
 * invalidation is open (r5), ends it, and reads the final ints of part 1 (r3) and part 2 (r4).
 * Values are printed in decimal: 0x01010101 = 16843009, 0x02020202 = 33686018.
 */
@JCStressTest
@Outcome(id = "1, 33686018, 16843009, 33686018, 0", expect = ACCEPTABLE,
        desc = "the writer locked before the invalidation of part 2 cleared the cache; the invalidation waited, so "
                + "the whole write (both parts) was visible when it returned")
@Outcome(id = "0, 0, 0, 0, 0", expect = ACCEPTABLE_INTERESTING,
        desc = "tryLock came after the invalidation of part 2 cleared the cache; nothing written to either part")
@Outcome(id = "1, 0, 16843009, 33686018, 0", expect = FORBIDDEN,
        desc = "the bytes of part 2 landed after the invalidation of part 2 returned")
@Outcome(id = "1, [1-9][0-9]*, 16843009, 33686018, 0", expect = FORBIDDEN,
        desc = "the invalidator saw part 2 half written: the writer was still inside when it returned")
@Outcome(id = ".*, 1", expect = FORBIDDEN,
        desc = "the cache was valid while an invalidation of one of its parts was open")
@Outcome(expect = FORBIDDEN, desc = "any other result, such as one part written without the other")
@State
public class SplitAreaInvalidationVsLock {
    static final long VALUE = 0x02020202_01010101L;

    final int boundary = Cells.claimBoundary();
    final long p = Cells.boundaryPage(boundary);
    final long q = p + Cells.PAGE;
    final GuestMemory memory = new GuestMemory("jcstress split");
    final GfnToPfnCache cache;
    GuestMemory.HostRangeInvalidation inv;

    public SplitAreaInvalidationVsLock() {
        memory.addSlot(0, 0, Cells.PAGE, Cells.HOST, p, 0);
        memory.addSlot(1, Cells.PAGE, Cells.PAGE, Cells.HOST, q, 0);
        cache = Cells.validCache(memory, Cells.PAGE - 4, 8);
    }

    @Actor
    public void writer(IIIII_Result r) {
        MappedArea a = cache.tryLock();
        if (a != null) {
            a.putLong(0, VALUE);
            cache.unlock();
            r.r1 = 1;
        }
    }

    @Actor
    public void invalidator(IIIII_Result r) {
        inv = memory.invalidateHostRange(Cells.HOST, q, Cells.PAGE);
        r.r2 = Cells.getInt(q);
    }

    @Arbiter
    public void arbiter(IIIII_Result r) {
        r.r5 = cache.check() ? 1 : 0;
        inv.close();
        r.r3 = Cells.getInt(q - 4);
        r.r4 = Cells.getInt(q);
        Cells.releaseBoundary(boundary);
    }
}

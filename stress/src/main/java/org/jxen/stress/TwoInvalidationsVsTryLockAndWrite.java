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
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * Invariant 3 holds for <em>each</em> of two overlapping invalidations of the same page
 * ("invalidations may overlap each other"): when either returns, no thread is inside the old
 * mapping. The second must not return early just because the first already cleared the mapping
 * while the first is still waiting for the writer to leave.
 *
 * <p>As {@link InvalidationVsTryLockAndWrite}, with two invalidators: each begins an invalidation
 * of the page, keeps it open until the arbiter, and reads the host value right after begin
 * returned (r2, r3). r1 = the writer's {@code tryLock} succeeded (and wrote 1), r4 = final value.
 * Three actors: on a machine with fewer CPUs JCStress oversubscribes them.
 */
@JCStressTest
@Outcome(id = "1, 1, 1, 1", expect = ACCEPTABLE,
        desc = "the writer locked before either invalidation; both waited for it (or began after it unlocked)")
@Outcome(id = "0, 0, 0, 0", expect = ACCEPTABLE_INTERESTING,
        desc = "tryLock came after an invalidation cleared the mapping: it failed, nothing written")
@Outcome(id = "1, 0, ., 1", expect = FORBIDDEN,
        desc = "invalidator 1 returned while the writer was still inside the old mapping (invariant 3)")
@Outcome(id = "1, ., 0, 1", expect = FORBIDDEN,
        desc = "invalidator 2 returned while the writer was still inside the old mapping (invariant 3)")
@Outcome(expect = FORBIDDEN, desc = "any other result")
@State
public class TwoInvalidationsVsTryLockAndWrite {
    final long off = Cells.cell();
    final GuestMemory memory = Cells.guestOverPageOf(off);
    final GfnToPfnCache cache = Cells.validCache(memory, Cells.gpaOf(off), 8);
    GuestMemory.HostRangeInvalidation inv1;
    GuestMemory.HostRangeInvalidation inv2;

    @Actor
    public void writer(IIII_Result r) {
        MappedArea a = cache.tryLock();
        if (a != null) {
            a.putLong(0, 1);
            cache.unlock();
            r.r1 = 1;
        }
    }

    @Actor
    public void invalidator1(IIII_Result r) {
        inv1 = memory.invalidateHostRange(Cells.HOST, Cells.pageOf(off), Cells.PAGE);
        r.r2 = (int) Cells.getLong(off);
    }

    @Actor
    public void invalidator2(IIII_Result r) {
        inv2 = memory.invalidateHostRange(Cells.HOST, Cells.pageOf(off), Cells.PAGE);
        r.r3 = (int) Cells.getLong(off);
    }

    @Arbiter
    public void arbiter(IIII_Result r) {
        inv1.close();
        inv2.close();
        r.r4 = (int) Cells.getLong(off);
    }
}

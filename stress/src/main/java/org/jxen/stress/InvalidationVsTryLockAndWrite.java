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
 * Invariant 3 with {@code tryLock}: when {@code invalidateHostRange} returns, no thread is inside
 * the old mapping, so no write through it can land afterwards; and while the invalidation is open,
 * the cache is not valid and {@code tryLock} fails without blocking.
 *
 * <p>The cache starts valid. The writer {@code tryLock}s and writes 1 through the view. The
 * invalidator begins an invalidation of the page and reads the host value right after begin
 * returned (r2). The invalidation stays open until the arbiter, so no refresh can legally publish
 * a new mapping in between: every write that reaches host memory went through the old mapping,
 * and every such write must already be visible in r2. The arbiter records {@code check()} while
 * the invalidation is still open (r4), then ends it and reads the final value (r3).
 *
 * <p>Result: r1 = the writer's {@code tryLock} succeeded (and wrote), r2 = host value seen by the
 * invalidator just after begin returned, r3 = final host value, r4 = cache valid while the
 * invalidation is open. The writer never blocks (tryLock), so holding the invalidation open
 * across the actors cannot deadlock.
 */
@JCStressTest
@Outcome(id = "1, 1, 1, 0", expect = ACCEPTABLE,
        desc = "tryLock won before the invalidation cleared the mapping; the invalidation waited for the writer "
                + "to unlock, so the write was visible as soon as it returned")
@Outcome(id = "0, 0, 0, 0", expect = ACCEPTABLE_INTERESTING,
        desc = "tryLock came after the invalidation cleared the mapping: it failed without blocking and wrote nothing")
@Outcome(id = "1, 0, 1, .", expect = FORBIDDEN,
        desc = "a write through the old mapping landed after the invalidation returned (invariant 3)")
@Outcome(id = "., ., ., 1", expect = FORBIDDEN,
        desc = "the cache was valid while an invalidation of its page was open (invariants 3, 4)")
@Outcome(expect = FORBIDDEN, desc = "any other result: the write and the observations disagree")
@State
public class InvalidationVsTryLockAndWrite {
    final long off = Cells.cell();
    final GuestMemory memory = Cells.guestOverPageOf(off);
    final GfnToPfnCache cache = Cells.validCache(memory, Cells.gpaOf(off), 8);
    GuestMemory.HostRangeInvalidation inv;

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
    public void invalidator(IIII_Result r) {
        inv = memory.invalidateHostRange(Cells.HOST, Cells.pageOf(off), Cells.PAGE);
        r.r2 = (int) Cells.getLong(off);
    }

    @Arbiter
    public void arbiter(IIII_Result r) {
        r.r4 = cache.check() ? 1 : 0;
        inv.close();
        r.r3 = (int) Cells.getLong(off);
    }
}

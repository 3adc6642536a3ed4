package org.jxen.stress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.MappedArea;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * Invariant 3 with a blocking {@code lock()}: no write through the old mapping lands after
 * {@code invalidateHostRange} returns.
 *
 * <p>The cache starts valid with mapping {@code old} (the view the constructor got). The writer
 * {@code lock()}s, writes 1 and unlocks; {@code lock()} may wait for the invalidation and refresh
 * after it ended, which is legal, so the writer records <em>which</em> view it wrote through
 * (identity with {@code old}): r1 = 1 for the old mapping, 2 for a mapping refreshed later,
 * 0 when {@code lock()} gave up. The invalidator begins an invalidation of the page, reads the host
 * value inside the window (r2), then ends it. A write through {@code old} must be visible in r2;
 * a write through a new mapping can only come after the window closed (a refresh never publishes
 * while an invalidation is open), so it must not be visible in r2. r3 = final host value.
 */
@JCStressTest
@Outcome(id = "1, 1, 1", expect = ACCEPTABLE,
        desc = "wrote through the old mapping before the invalidation cleared it; the invalidation waited for the "
                + "writer, so the write was visible when it returned")
@Outcome(id = "2, 0, 1", expect = ACCEPTABLE,
        desc = "lock() found the cache invalidated, waited for the invalidation to end, refreshed and wrote through "
                + "the new mapping after the window")
@Outcome(id = "1, 0, 1", expect = FORBIDDEN,
        desc = "a write through the old mapping landed after the invalidation returned (invariant 3)")
@Outcome(id = "2, 1, 1", expect = FORBIDDEN,
        desc = "a refreshed mapping was used while the invalidation was still open (invariant 4)")
@Outcome(id = "0, 0, 0", expect = FORBIDDEN,
        desc = "lock() failed although the area is backed and the invalidation ends: it may only fail when it "
                + "cannot map (1000 retries lost to invalidations cannot happen with one invalidation)")
@Outcome(expect = FORBIDDEN, desc = "any other result: the write and the observations disagree")
@State
public class InvalidationVsLockAndWrite {
    final long off = Cells.cell();
    final GuestMemory memory = Cells.guestOverPageOf(off);
    final GfnToPfnCache cache = Cells.validCache(memory, Cells.gpaOf(off), 8);
    final MappedArea old;

    public InvalidationVsLockAndWrite() {
        old = cache.lock();
        cache.unlock();
    }

    @Actor
    public void writer(III_Result r) {
        MappedArea a = cache.lock();
        if (a != null) {
            a.putLong(0, 1);
            cache.unlock();
            r.r1 = a == old ? 1 : 2;
        }
    }

    @Actor
    public void invalidator(III_Result r) {
        try (var inv = memory.invalidateHostRange(Cells.HOST, Cells.pageOf(off), Cells.PAGE)) {
            r.r2 = (int) Cells.getLong(off);
        }
    }

    @Arbiter
    public void arbiter(III_Result r) {
        r.r3 = (int) Cells.getLong(off);
    }
}

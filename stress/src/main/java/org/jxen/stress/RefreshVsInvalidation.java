package org.jxen.stress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.MappedArea;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * Invariant 4: a refresh that overlaps an invalidation never publishes a mapping, so the cache is
 * never valid while an invalidation of its range is open (the KVM bug: an invalidation landing
 * between the refresh's sequence check and its publication let it publish a page being freed).
 *
 * <p>The cache starts active but not valid (the constructor ran one invalidation over it). The
 * refresher calls {@code refresh()}, which may wait for the invalidation and must end OK (r1 = 1).
 * The invalidator begins an invalidation of the page and, while it is open, records
 * {@code check()} (r2) and whether {@code tryLock()} succeeded (r3); then it ends the invalidation.
 * The arbiter records {@code check()} at the end (r4): 1 when the refresh published after the
 * invalidation ended, 0 when it published before the invalidation began (which then cleared it).
 */
@JCStressTest
@Outcome(id = "1, 0, 0, 1", expect = ACCEPTABLE,
        desc = "the refresh waited for the open invalidation (or ran after it) and published after it ended")
@Outcome(id = "1, 0, 0, 0", expect = ACCEPTABLE,
        desc = "the refresh published before the invalidation began; the invalidation cleared it, and nothing "
                + "refreshed afterwards")
@Outcome(id = "., 1, ., .", expect = FORBIDDEN,
        desc = "check() saw the cache valid while an invalidation of its page was open (invariant 4)")
@Outcome(id = "., ., 1, .", expect = FORBIDDEN,
        desc = "tryLock() returned a view while an invalidation of its page was open (invariants 3, 4)")
@Outcome(id = "0, 0, 0, .", expect = FORBIDDEN,
        desc = "refresh() of an active cache over backed memory did not end OK although it may wait")
@Outcome(expect = FORBIDDEN, desc = "any other result")
@State
public class RefreshVsInvalidation {
    final long off = Cells.cell();
    final GuestMemory memory = Cells.guestOverPageOf(off);
    final GfnToPfnCache cache = Cells.validCache(memory, Cells.gpaOf(off), 8);

    public RefreshVsInvalidation() {
        memory.invalidateHostRange(Cells.HOST, Cells.pageOf(off), Cells.PAGE).close();
        if (cache.check() || !cache.isActive()) {
            throw new IllegalStateException("expected active and not valid: " + cache);
        }
    }

    @Actor
    public void refresher(IIII_Result r) {
        r.r1 = cache.refresh() == GpcStatus.OK ? 1 : 0;
    }

    @Actor
    public void invalidator(IIII_Result r) {
        try (var inv = memory.invalidateHostRange(Cells.HOST, Cells.pageOf(off), Cells.PAGE)) {
            r.r2 = cache.check() ? 1 : 0;
            MappedArea a = cache.tryLock();
            if (a != null) {
                cache.unlock();
                r.r3 = 1;
            }
        }
    }

    @Arbiter
    public void arbiter(IIII_Result r) {
        r.r4 = cache.check() ? 1 : 0;
    }
}

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
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * Invariant 7: after {@code deactivate()} returns, lock fails and no reader is inside the old
 * mapping; so a write through a lock that succeeded landed before deactivate returned.
 *
 * <p>The cache starts valid. The writer {@code lock()}s, writes 1 and unlocks (r1 = 1), or its lock
 * fails (r1 = 0). The deactivator calls {@code deactivate()}, reads the host value right after it
 * returned (r2), then tries {@code lock()} itself (r3 = 1 if that returned a view: it started
 * after deactivate returned, so it must fail). r4 = final host value.
 */
@JCStressTest
@Outcome(id = "1, 1, 0, 1", expect = ACCEPTABLE,
        desc = "the writer locked before deactivation; deactivate waited for it, so the write was visible when it "
                + "returned; the deactivator's own later lock failed")
@Outcome(id = "0, 0, 0, 0", expect = ACCEPTABLE,
        desc = "the writer's lock came after deactivation cleared the mapping: it failed (NOT_ACTIVE), nothing written")
@Outcome(id = "1, 0, ., 1", expect = FORBIDDEN,
        desc = "a write through a lock that succeeded landed after deactivate returned (invariant 7)")
@Outcome(id = "., ., 1, .", expect = FORBIDDEN,
        desc = "a lock() that started after deactivate returned succeeded (invariant 7)")
@Outcome(expect = FORBIDDEN, desc = "any other result")
@State
public class DeactivateVsLock {
    final long off = Cells.cell();
    final GuestMemory memory = Cells.guestOverPageOf(off);
    final GfnToPfnCache cache = Cells.validCache(memory, Cells.gpaOf(off), 8);

    @Actor
    public void writer(IIII_Result r) {
        MappedArea a = cache.lock();
        if (a != null) {
            a.putLong(0, 1);
            cache.unlock();
            r.r1 = 1;
        }
    }

    @Actor
    public void deactivator(IIII_Result r) {
        cache.deactivate();
        r.r2 = (int) Cells.getLong(off);
        MappedArea a = cache.lock();
        if (a != null) {
            cache.unlock();
            r.r3 = 1;
        }
    }

    @Arbiter
    public void arbiter(IIII_Result r) {
        r.r4 = (int) Cells.getLong(off);
    }
}

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
 * A memory-map change runs as an invalidation: when {@code moveSlot(0, 16 pages up)} returns, no cache maps the old
 * slot and no thread is inside one that did, so no write through the old slot lands afterwards;
 * and a {@code lock()} that starts after the change never returns a view into the old slot.
 *
 * <p>The cache starts valid on gpa g in memslot 0. The writer {@code lock()}s, writes 1 and
 * unlocks (r1 = 1), or its lock fails (r1 = 0: g is not backed any more). The changer moves the
 * memslot 16 pages up, so that the cached gpa is no longer backed while the same host page is,
 * reads the host value right after the change returned (r2), and tries {@code lock()} itself (r3 = 1 if it returned a view, which it must not: g is not backed after the change).
 * r4 = final host value.
 */
@JCStressTest
@Outcome(id = "1, 1, 0, 1", expect = ACCEPTABLE,
        desc = "the writer locked before the change; the change waited for it, so the write was visible when it returned")
@Outcome(id = "0, 0, 0, 0", expect = ACCEPTABLE,
        desc = "the writer's lock came after the change invalidated the cache; it re-translated under the new map, "
                + "found g not backed, and failed")
@Outcome(id = "1, 0, ., 1", expect = FORBIDDEN,
        desc = "a write through the old slot landed after the memory-map change returned")
@Outcome(id = "., ., 1, .", expect = FORBIDDEN,
        desc = "a lock() that started after the change returned a view into the old slot")
@Outcome(expect = FORBIDDEN, desc = "any other result")
@State
public class MemslotMoveVsLock {
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
    public void changer(IIII_Result r) {
        memory.moveSlot(0, 16 * Cells.PAGE);
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

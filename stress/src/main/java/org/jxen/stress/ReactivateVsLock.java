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
import org.openjdk.jcstress.infra.results.IIIII_Result;

/**
 * Re-activation replaces the area: when {@code activate(B)} returns, no reader is inside the
 * mapping of the old gpa A, and every later {@code lock()} maps B.
 *
 * <p>A and B are two 8-byte areas in the same memslot (bytes 0 and 64 of the state's cell). The
 * cache starts valid on A. The writer {@code lock()}s, writes 1 through the view and unlocks;
 * r1 = 1 if the view was at A, 2 if at B, 0 if lock failed. The re-activator calls
 * {@code activate(B, 8)} and reads the host value at A right after it returned (r2); r3 = 1 when
 * that activation did not return OK. The arbiter reads the final values at A (r4) and B (r5).
 */
@JCStressTest
@Outcome(id = "1, 1, 0, 1, 0", expect = ACCEPTABLE,
        desc = "the writer locked A before the re-activation; activate(B) waited for it, so the write to A was "
                + "visible when it returned")
@Outcome(id = "2, 0, 0, 0, 1", expect = ACCEPTABLE,
        desc = "the writer locked after the re-activation began and got the view of B")
@Outcome(id = "1, 0, 0, 1, 0", expect = FORBIDDEN,
        desc = "a write to the old gpa A landed after activate(B) returned")
@Outcome(id = "0, .*", expect = FORBIDDEN,
        desc = "lock() failed although A or B is backed at every moment")
@Outcome(expect = FORBIDDEN, desc = "any other result")
@State
public class ReactivateVsLock {
    final long off = Cells.cell();
    final GuestMemory memory = Cells.guestOverPageOf(off);
    final long gpaA = Cells.gpaOf(off);
    final long gpaB = gpaA + Cells.B;
    final GfnToPfnCache cache = Cells.validCache(memory, gpaA, 8);

    @Actor
    public void writer(IIIII_Result r) {
        MappedArea a = cache.lock();
        if (a != null) {
            a.putLong(0, 1);
            cache.unlock();
            r.r1 = a.gpa() == gpaA ? 1 : 2;
        }
    }

    @Actor
    public void reactivator(IIIII_Result r) {
        GpcStatus st = cache.activate(gpaB, 8);
        r.r2 = (int) Cells.getLong(off);
        r.r3 = st == GpcStatus.OK ? 0 : 1;
    }

    @Arbiter
    public void arbiter(IIIII_Result r) {
        r.r4 = (int) Cells.getLong(off);
        r.r5 = (int) Cells.getLong(off + Cells.B);
    }
}

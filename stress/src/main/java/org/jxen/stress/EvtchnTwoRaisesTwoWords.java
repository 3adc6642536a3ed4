package org.jxen.stress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIII_Result;

/**
 * Two host threads {@code raise} two ports of different words (ports 1 and 65: word 0 bit 1, word 1 bit 1), both bound to vCPU 0, unmasked, not pending.
 * Pending and selector bits are set with atomic ORs, so neither raise undoes the other; both find
 * their port newly pending and notify, and exactly one of them finds evtchn_upcall_pending clear
 * and delivers the upcall.
 *
 * <p>Read by the arbiter: r1, r2 = the two pending bits, r3 = evtchn_pending_sel, r4 =
 * evtchn_upcall_pending, r5 = upcalls delivered.
 */
@JCStressTest
@Outcome(id = "1, 1, 3, 1, 1", expect = ACCEPTABLE,
        desc = "both found: both pending, selector words 0 and 1 (3), upcall_pending set, one upcall")
@Outcome(id = "0, ., ., ., .", expect = FORBIDDEN, desc = "LOST: the first port's pending bit was undone")
@Outcome(id = "., 0, ., ., .", expect = FORBIDDEN, desc = "LOST: the second port's pending bit was undone")
@Outcome(id = "1, 1, ., 0, .", expect = FORBIDDEN, desc = "LOST: upcall_pending clear: no upcall will look")
@Outcome(id = "., ., ., ., 2", expect = FORBIDDEN, desc = "two upcalls: both raises found upcall_pending clear")
@Outcome(expect = FORBIDDEN, desc = "any other result (e.g. a selector bit missing: that word's event is lost)")
@State
public class EvtchnTwoRaisesTwoWords {
    static final int A = 1;
    static final int B = 65;
    final EvtchnGuest g = new EvtchnGuest(65);

    @Actor
    public void hostA() {
        g.domain.raise(A);
    }

    @Actor
    public void hostB() {
        g.domain.raise(B);
    }

    @Arbiter
    public void arbiter(IIIII_Result r) {
        r.r1 = g.pendingBit(A);
        r.r2 = g.pendingBit(B);
        r.r3 = g.selector();
        r.r4 = g.upcallPending();
        r.r5 = g.upcalls();
        g.close();
    }
}

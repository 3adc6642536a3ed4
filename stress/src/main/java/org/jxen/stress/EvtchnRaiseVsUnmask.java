package org.jxen.stress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIIII_Result;

/**
 * Host {@code raise(port)} against the guest's {@code EVTCHNOP_unmask} of the same, masked port
 * (port 1, bound, masked by the guest before the race, not pending).
 *
 * <p>raise sets pending, then reads the mask; unmask clears the mask, then reads pending. Both are
 * atomic read-modify-writes followed by a volatile read, so (Dekker) at least one of them sees the
 * other's write and notifies: after both the event is pending, unmasked, selected, upcall_pending
 * set, and exactly one upcall delivered. (If both notify, the second finds upcall_pending set and
 * delivers nothing.) Never pending and unmasked with no selector or upcall.
 *
 * <p>r1 = unmask's return value; read by the arbiter: r2 = pending bit, r3 = mask bit, r4 =
 * evtchn_pending_sel, r5 = evtchn_upcall_pending, r6 = upcalls delivered.
 */
@JCStressTest
@Outcome(id = "0, 1, 0, 1, 1, 1", expect = ACCEPTABLE,
        desc = "delivered: whichever of raise and unmask came second (or both) saw the other's bit and notified once")
@Outcome(id = "0, 1, 0, 0, ., .", expect = FORBIDDEN,
        desc = "LOST: pending and unmasked, but no selector bit (neither side notified)")
@Outcome(id = "0, 1, 0, 1, 0, .", expect = FORBIDDEN, desc = "LOST: selected but upcall_pending clear")
@Outcome(id = "0, 1, 0, 1, 1, 0", expect = FORBIDDEN, desc = "upcall_pending set from 0 but no upcall delivered")
@Outcome(expect = FORBIDDEN, desc = "any other result (e.g. two upcalls, still masked, unmask failed)")
@State
public class EvtchnRaiseVsUnmask {
    static final int PORT = 1;
    final EvtchnGuest g;

    public EvtchnRaiseVsUnmask() {
        g = new EvtchnGuest(1);
        g.mask(PORT);
    }

    @Actor
    public void host() {
        g.domain.raise(PORT);
    }

    @Actor
    public void guest(IIIIII_Result r) {
        r.r1 = (int) g.unmask(PORT);
    }

    @Arbiter
    public void arbiter(IIIIII_Result r) {
        r.r2 = g.pendingBit(PORT);
        r.r3 = g.maskBit(PORT);
        r.r4 = g.selector();
        r.r5 = g.upcallPending();
        r.r6 = g.upcalls();
        g.close();
    }
}

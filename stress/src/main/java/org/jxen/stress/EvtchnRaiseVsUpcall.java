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
 * Host {@code XenDomain.raise(port)} against the guest's upcall handler, run once as Linux runs it
 * (xchg evtchn_upcall_pending to 0, xchg evtchn_pending_sel to 0, per selected word pending &amp; ~mask,
 * and-not each bit, handle it). Port 1 (word 0, bit 1) is bound, unmasked, not pending; nothing is
 * pending at the start.
 *
 * <p>The contract: after both, either the handler handled the port, or its pending bit, its
 * selector bit and evtchn_upcall_pending are all set (so the next upcall finds it); and the host
 * delivered exactly one upcall, since it found evtchn_upcall_pending clear when it set it.
 *
 * <p>r1 = the handler handled port 1; then, read by the arbiter: r2 = pending bit, r3 =
 * evtchn_pending_sel, r4 = evtchn_upcall_pending, r5 = upcalls delivered.
 */
@JCStressTest
@Outcome(id = "0, 1, 1, 1, 1", expect = ACCEPTABLE,
        desc = "the handler took the selector before the host set it: the event waits, fully flagged, for the upcall "
                + "the host delivered")
@Outcome(id = "1, 0, 0, 0, 1", expect = ACCEPTABLE,
        desc = "the host's raise finished before the handler cleared upcall_pending: the handler handled the port and "
                + "left nothing behind")
@Outcome(id = "1, 0, 0, 1, 1", expect = ACCEPTABLE,
        desc = "the handler cleared upcall_pending before the host set it, but took the selector after: it handled "
                + "the port; the upcall delivered is spurious (nothing pending), which the guest tolerates")
@Outcome(id = "0, 1, 0, ., .", expect = FORBIDDEN,
        desc = "LOST: pending, not handled, and no selector bit for the next upcall to find it")
@Outcome(id = "0, 1, 1, 0, .", expect = FORBIDDEN,
        desc = "LOST: pending and selected, but upcall_pending clear: no upcall will look for it")
@Outcome(id = "0, 0, ., ., .", expect = FORBIDDEN, desc = "LOST: neither handled nor pending")
@Outcome(id = "., ., ., ., 0", expect = FORBIDDEN, desc = "the host set upcall_pending from 0 but delivered no upcall")
@Outcome(expect = FORBIDDEN, desc = "any other result (e.g. two upcalls for one event, handled and still pending)")
@State
public class EvtchnRaiseVsUpcall {
    static final int PORT = 1;
    final EvtchnGuest g = new EvtchnGuest(1);

    @Actor
    public void host() {
        g.domain.raise(PORT);
    }

    @Actor
    public void guest(IIIII_Result r) {
        r.r1 = g.guestUpcall(PORT) ? 1 : 0;
    }

    @Arbiter
    public void arbiter(IIIII_Result r) {
        r.r2 = g.pendingBit(PORT);
        r.r3 = g.selector();
        r.r4 = g.upcallPending();
        r.r5 = g.upcalls();
        g.close();
    }
}

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
 * Host {@code XenDomain.raise(port)} (port 1, bound, unmasked) while the guest's memory map changes under shared_info: memslot 0 (which holds it) is removed and added back
 * over the same host page (as a VMM does when it rebuilds a slot). While the slot is gone the
 * shared_info cache cannot be locked, so raise (or its notifyVcpu step) defers the event.
 * A deferred event is flushed by the domain's own thread about 1 ms later; there is no public
 * flush, so the arbiter waits (at most 2 s) until the upcall was delivered and nothing is queued.
 *
 * <p>The contract: never lost. After the wait the port is pending, selected, upcall_pending is set
 * and exactly one upcall was delivered, whether or not it was deferred.
 *
 * <p>r1 = the arbiter had to wait (the event, or its selector step, was deferred); r2 = pending bit,
 * r3 = evtchn_pending_sel, r4 = evtchn_upcall_pending, r5 = upcalls delivered.
 */
@JCStressTest
@Outcome(id = "0, 1, 1, 1, 1", expect = ACCEPTABLE,
        desc = "delivered directly: raise locked shared_info before or after the change, or waited for the refresh")
@Outcome(id = "1, 1, 1, 1, 1", expect = ACCEPTABLE,
        desc = "deferred while shared_info could not be locked, then flushed by the domain's thread")
@Outcome(id = "1, ., ., ., 0", expect = FORBIDDEN, desc = "LOST: no upcall within 2 s (deferred and never flushed)")
@Outcome(id = "., 0, ., ., .", expect = FORBIDDEN, desc = "LOST: the pending bit is not set")
@Outcome(expect = FORBIDDEN, desc = "any other result (e.g. selector or upcall_pending missing, two upcalls)")
@State
public class EvtchnRaiseVsSlotRemap {
    static final int PORT = 1;
    final EvtchnGuest g = new EvtchnGuest(1);

    @Actor
    public void host() {
        g.domain.raise(PORT);
    }

    @Actor
    public void remap() {
        g.platform.memory().removeSlot(0);
        g.platform.memory().addSlot(0, 0, EvtchnGuest.PAGE, EvtchnGuest.host(), g.base, 0);
    }

    @Arbiter
    public void arbiter(IIIII_Result r) {
        r.r1 = g.awaitUpcalls(1, 2000) ? 1 : 0;
        r.r2 = g.pendingBit(PORT);
        r.r3 = g.selector();
        r.r4 = g.upcallPending();
        r.r5 = g.upcalls();
        g.close();
    }
}

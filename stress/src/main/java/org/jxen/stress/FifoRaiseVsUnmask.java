package org.jxen.stress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIIIII_Result;

/**
 * FIFO ABI: host {@code raise(1)} against the guest unmasking port 1 as Linux does
 * ({@link FifoGuest#unmask(int)}: clear MASKED with a compare-and-set while the word is not
 * PENDING; if it is PENDING, {@code EVTCHNOP_unmask}, which clears MASKED and links the port).
 * Before the race port 1 is bound, masked by the guest, not pending; the queue is empty.
 *
 * <p>Both sides change the same word with atomic read-modify-writes: the host's OR of PENDING
 * returns whether MASKED was set; the guest's compare-and-set only succeeds on a word without
 * PENDING. So either the guest cleared MASKED first and the host links, or the host set PENDING
 * first and the guest asks the hypervisor, which links. In both the port ends queued as head[7],
 * with READY bit 7, evtchn_upcall_pending and exactly one upcall.
 *
 * <p>r1 = 1 if the guest made the EVTCHNOP_unmask hypercall, 0 if it cleared MASKED itself
 * (negative: the hypercall failed); read by the arbiter: r2 = port 1's word (2 if PENDING + 1 if
 * LINKED), r3 = MASKED, r4 = head[7], r5 = READY bit 7, r6 = evtchn_upcall_pending, r7 = upcalls.
 *
 * <p>Outcomes, line by line:
 * <ul>
 * <li>{@code 0, 3, 0, 1, 1, 1, 1}: the guest cleared MASKED before the host's OR; the host saw the
 * word unmasked and linked it: queued, announced, one upcall.</li>
 * <li>{@code 1, 3, 0, 1, 1, 1, 1}: the host's OR came first and saw MASKED (so it stopped); the
 * guest then saw PENDING and made the hypercall, which cleared MASKED and linked the port.</li>
 * <li>FORBIDDEN {@code ., 2, 0, ., ., ., .}: LOST, pending and unmasked but in no queue (neither
 * side linked it).</li>
 * <li>FORBIDDEN {@code ., ., 1, ., ., ., .}: the port is still masked after the unmask.</li>
 * <li>FORBIDDEN {@code ., 3, 0, 1, 0, ., .}: LOST, queued but READY clear.</li>
 * <li>FORBIDDEN {@code ., 3, 0, 1, 1, 0, .}: LOST, READY set but evtchn_upcall_pending clear.</li>
 * <li>FORBIDDEN {@code ., ., ., ., ., 1, 0}: evtchn_upcall_pending set from 0 but no upcall.</li>
 * <li>Anything else is FORBIDDEN (two upcalls, the hypercall failing, a wrong head).</li>
 * </ul>
 */
@JCStressTest
@Outcome(id = "0, 3, 0, 1, 1, 1, 1", expect = ACCEPTABLE,
        desc = "guest cleared MASKED first; the host's raise saw it unmasked and linked it")
@Outcome(id = "1, 3, 0, 1, 1, 1, 1", expect = ACCEPTABLE,
        desc = "host set PENDING first (masked: stopped); the guest's EVTCHNOP_unmask linked it")
@Outcome(id = "., 2, 0, ., ., ., .", expect = FORBIDDEN, desc = "LOST: pending, unmasked, in no queue")
@Outcome(id = "., ., 1, ., ., ., .", expect = FORBIDDEN, desc = "still masked after the unmask")
@Outcome(id = "., 3, 0, 1, 0, ., .", expect = FORBIDDEN, desc = "LOST: queued but READY clear")
@Outcome(id = "., 3, 0, 1, 1, 0, .", expect = FORBIDDEN, desc = "LOST: READY set but evtchn_upcall_pending clear")
@Outcome(id = "., ., ., ., ., 1, 0", expect = FORBIDDEN, desc = "evtchn_upcall_pending set but no upcall delivered")
@Outcome(expect = FORBIDDEN, desc = "any other result (e.g. two upcalls, the hypercall failed)")
@State
public class FifoRaiseVsUnmask {
    final FifoGuest g;

    public FifoRaiseVsUnmask() {
        g = new FifoGuest(1);
        g.mask(1);
    }

    @Actor
    public void host() {
        g.domain.raise(1);
    }

    @Actor
    public void guest(IIIIIII_Result r) {
        r.r1 = g.unmask(1);
    }

    @Arbiter
    public void arbiter(IIIIIII_Result r) {
        r.r2 = g.pendingLinked(1);
        r.r3 = (g.wordOf(1) & FifoGuest.MASKED) != 0 ? 1 : 0;
        r.r4 = g.head();
        r.r5 = g.readyBit();
        r.r6 = g.upcallPending();
        r.r7 = g.upcalls();
        g.close();
    }
}

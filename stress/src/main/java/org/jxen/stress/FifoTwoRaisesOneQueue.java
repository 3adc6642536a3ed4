package org.jxen.stress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIIIIII_Result;

/**
 * FIFO ABI: two host threads raise ports 1 and 2 at once, both bound on vCPU 0 with priority 7,
 * into an empty queue 7 (no guest runs). The queue's lock orders the two links: the first makes its
 * port the head (head[7], READY bit 7, evtchn_upcall_pending, one upcall), the second appends
 * behind it (the first's LINK).
 *
 * <p>Read by the arbiter: r1 = head[7], r2 = LINK of the head's word, r3 = LINK of the other word,
 * r4 = port 1's word (2 if PENDING + 1 if LINKED), r5 = port 2's, r6 = READY bit 7, r7 =
 * evtchn_upcall_pending, r8 = upcalls.
 *
 * <p>Outcomes, line by line:
 * <ul>
 * <li>{@code 1, 2, 0, 3, 3, 1, 1, 1}: raise(1) linked first: 1 is the head, 2 follows it and is
 * the tail (LINK 0); both pending and linked; one READY bit, one upcall.</li>
 * <li>{@code 2, 1, 0, 3, 3, 1, 1, 1}: the same with raise(2) first.</li>
 * <li>FORBIDDEN {@code ., 0, 0, ., ., ., ., .}: LOST, the second link overwrote the head instead
 * of following the first (both took the queue for empty).</li>
 * <li>FORBIDDEN {@code ., ., ., 2, ., ., ., .} / {@code ., ., ., ., 2, ., ., .}: LOST, a pending
 * port in no queue.</li>
 * <li>FORBIDDEN {@code ., ., ., ., ., 0, ., .} and {@code ., ., ., ., ., ., 0, .}: LOST, the queue
 * is not announced.</li>
 * <li>FORBIDDEN {@code ., ., ., ., ., ., 1, 0} and {@code ., ., ., ., ., ., ., 2}: no upcall, or
 * two for one empty-to-non-empty change.</li>
 * <li>Anything else is FORBIDDEN (a cycle, a wrong head).</li>
 * </ul>
 */
@JCStressTest
@Outcome(id = "1, 2, 0, 3, 3, 1, 1, 1", expect = ACCEPTABLE, desc = "raise(1) first: 1 -> 2, one READY, one upcall")
@Outcome(id = "2, 1, 0, 3, 3, 1, 1, 1", expect = ACCEPTABLE, desc = "raise(2) first: 2 -> 1, one READY, one upcall")
@Outcome(id = "., 0, 0, ., ., ., ., .", expect = FORBIDDEN, desc = "LOST: the second link replaced the head")
@Outcome(id = "., ., ., 2, ., ., ., .", expect = FORBIDDEN, desc = "LOST: port 1 pending in no queue")
@Outcome(id = "., ., ., ., 2, ., ., .", expect = FORBIDDEN, desc = "LOST: port 2 pending in no queue")
@Outcome(id = "., ., ., ., ., 0, ., .", expect = FORBIDDEN, desc = "LOST: READY clear")
@Outcome(id = "., ., ., ., ., ., 0, .", expect = FORBIDDEN, desc = "LOST: evtchn_upcall_pending clear")
@Outcome(id = "., ., ., ., ., ., 1, 0", expect = FORBIDDEN, desc = "evtchn_upcall_pending set but no upcall")
@Outcome(id = "., ., ., ., ., ., ., 2", expect = FORBIDDEN, desc = "two upcalls for one empty queue")
@Outcome(expect = FORBIDDEN, desc = "any other result (a cycle, a wrong head)")
@State
public class FifoTwoRaisesOneQueue {
    final FifoGuest g = new FifoGuest(2);

    @Actor
    public void host1() {
        g.domain.raise(1);
    }

    @Actor
    public void host2() {
        g.domain.raise(2);
    }

    @Arbiter
    public void arbiter(IIIIIIII_Result r) {
        int head = g.head();
        int other = head == 1 ? 2 : 1;
        r.r1 = head;
        r.r2 = head == 1 || head == 2 ? g.wordOf(head) & FifoGuest.LINK_MASK : -1;
        r.r3 = g.wordOf(other) & FifoGuest.LINK_MASK;
        r.r4 = g.pendingLinked(1);
        r.r5 = g.pendingLinked(2);
        r.r6 = g.readyBit();
        r.r7 = g.upcallPending();
        r.r8 = g.upcalls();
        g.close();
    }
}

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
 * FIFO ABI: host {@code XenDomain.raise(2)} against one run of the guest's FIFO consumer
 * ({@link FifoGuest#guestUpcall()}) on the queue where the host links it. Before the race, port 1
 * was raised: it is the only event in queue 7 (head[7] = 1, its word PENDING|LINKED with LINK 0),
 * READY bit 7 and evtchn_upcall_pending are set, and the upcall counter is reset to 0. Port 2 is
 * bound on vCPU 0, priority 7, unmasked, not pending.
 *
 * <p>The race is the one the FIFO design is about: the host appends 2 behind the tail 1 with a
 * compare-and-set that needs 1 still LINKED, while the guest unlinks 1 (a compare-and-set clearing
 * LINKED and reading LINK). Either the host's write lands first (the guest reads LINK = 2 and walks
 * on), or the guest's does (the host finds the tail unlinked, so the queue empty: it writes 2 into
 * head[7], sets READY bit 7 and, READY having been clear, evtchn_upcall_pending with an upcall).
 *
 * <p>The contract: port 1 is handled; port 2 is handled by this run, or it is left PENDING and
 * LINKED as the head with READY bit 7, evtchn_upcall_pending set and one upcall delivered, so that
 * the next upcall finds it. Never lost.
 *
 * <p>r1 = the run handled port 1, r2 = it handled port 2; read by the arbiter after both: r3 = port
 * 2's word (2 if PENDING + 1 if LINKED), r4 = READY bit 7, r5 = evtchn_upcall_pending, r6 = upcalls
 * delivered during the race.
 *
 * <p>Outcomes, line by line:
 * <ul>
 * <li>{@code 1, 1, 0, 0, 0, 0}: the host linked 2 behind 1 before the guest unlinked 1; the guest
 * read LINK = 2 and handled it in the same run; the queue was never empty, so no READY and no
 * upcall were needed (and none came).</li>
 * <li>{@code 1, 1, 0, 0, 1, 1}: the guest unlinked 1 first (queue empty); the host wrote head[7] =
 * 2, set READY and evtchn_upcall_pending and delivered an upcall; the run's re-read of READY took
 * the bit and handled 2. The upcall finds nothing: spurious, which the guest tolerates.</li>
 * <li>{@code 1, 0, 3, 1, 1, 1}: the run ended (its last READY read was empty) before the host made
 * 2 the head: 2 waits PENDING and LINKED, announced by READY, evtchn_upcall_pending and the
 * upcall.</li>
 * <li>FORBIDDEN {@code ., 0, 0, ., ., .} / {@code ., 0, 1, ., ., .}: LOST, 2 was neither handled
 * nor left pending (it was consumed without being handled, or unlinked and cleared).</li>
 * <li>FORBIDDEN {@code ., 0, 2, ., ., .}: LOST, 2 is pending but in no queue (not linked).</li>
 * <li>FORBIDDEN {@code ., 0, 3, 0, ., .}: LOST, 2 is queued but READY does not announce it.</li>
 * <li>FORBIDDEN {@code ., 0, 3, 1, 0, .}: LOST, READY is set but evtchn_upcall_pending is clear:
 * no upcall will look.</li>
 * <li>FORBIDDEN {@code ., ., ., ., 1, 0}: evtchn_upcall_pending was set but no upcall delivered
 * (the guest cleared it at the start of its run, so whoever set it again found it clear).</li>
 * <li>FORBIDDEN {@code 0, ., ., ., ., .}: port 1, queued before the race, was not handled.</li>
 * <li>Anything else is FORBIDDEN (for example two upcalls, or 2 handled and still pending).</li>
 * </ul>
 */
@JCStressTest
@Outcome(id = "1, 1, 0, 0, 0, 0", expect = ACCEPTABLE,
        desc = "host linked 2 behind the tail 1 first: the guest walked on to 2; no READY or upcall needed")
@Outcome(id = "1, 1, 0, 0, 1, 1", expect = ACCEPTABLE,
        desc = "guest unlinked 1 first: host made 2 the head with READY and an upcall; the run's READY re-read took it "
                + "(the upcall is spurious)")
@Outcome(id = "1, 0, 3, 1, 1, 1", expect = ACCEPTABLE,
        desc = "the run ended before 2 became the head: 2 waits queued, announced by READY and an upcall")
@Outcome(id = "., 0, 0, ., ., .", expect = FORBIDDEN, desc = "LOST: 2 neither handled nor pending")
@Outcome(id = "., 0, 1, ., ., .", expect = FORBIDDEN, desc = "LOST: 2 linked but not pending, not handled")
@Outcome(id = "., 0, 2, ., ., .", expect = FORBIDDEN, desc = "LOST: 2 pending but in no queue")
@Outcome(id = "., 0, 3, 0, ., .", expect = FORBIDDEN, desc = "LOST: 2 queued but READY clear")
@Outcome(id = "., 0, 3, 1, 0, .", expect = FORBIDDEN, desc = "LOST: READY set but evtchn_upcall_pending clear")
@Outcome(id = "., ., ., ., 1, 0", expect = FORBIDDEN, desc = "evtchn_upcall_pending set but no upcall delivered")
@Outcome(id = "0, ., ., ., ., .", expect = FORBIDDEN, desc = "port 1, queued before the race, not handled")
@Outcome(expect = FORBIDDEN, desc = "any other result (e.g. two upcalls, 2 handled and still pending)")
@State
public class FifoRaiseVsConsumer {
    final FifoGuest g;

    public FifoRaiseVsConsumer() {
        g = new FifoGuest(2);
        g.domain.raise(1);
        if (g.head() != 1 || g.readyBit() != 1 || g.upcallPending() != 1) {
            throw new IllegalStateException("set-up: port 1 is not queued");
        }
        g.upcalls.reset();
    }

    @Actor
    public void host() {
        g.domain.raise(2);
    }

    @Actor
    public void guest(IIIIII_Result r) {
        int handled = g.guestUpcall();
        r.r1 = (handled >>> 1) & 1;
        r.r2 = (handled >>> 2) & 1;
    }

    @Arbiter
    public void arbiter(IIIIII_Result r) {
        r.r3 = g.pendingLinked(2);
        r.r4 = g.readyBit();
        r.r5 = g.upcallPending();
        r.r6 = g.upcalls();
        g.close();
    }
}

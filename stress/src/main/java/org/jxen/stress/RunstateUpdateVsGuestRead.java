package org.jxen.stress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import org.jxen.abi.Runstate;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GuestMemory;
import org.jxen.hypercalls.time.RunstateAccount;
import org.jxen.hypercalls.time.RunstateArea;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJ_Result;

/**
 * The {@code XEN_RUNSTATE_UPDATE} protocol of {@link RunstateArea#update}: a guest that reads its
 * runstate area as Linux does ({@code xen_get_runstate_snapshot}) never accepts a torn record.
 *
 * <pre>
 *   a 64-bit vcpu_runstate_info (48 bytes) in a 128-byte cell at gpa 0 of its own memslot
 *   before:  S1 = running, entry 10000, times 1000 2000 3000 4000 (written in the constructor)
 *   writer:  update(S2) = blocked, entry 12600, times 1500 2600 3700 4800     r2 = 1 if written
 *   reader:  e1 = state_entry_time (acquire); state, time[0..3]; load-load fence; e2 = entry again
 *            accepted when e1 == e2 and bit 63 is clear; r1 = 1 or 2 for a record that is all S1 or
 *            all S2, 0 when the reader must retry, -1 for an accepted record that is neither
 * </pre>
 *
 * The reader reads the host bytes the guest sees (the cell, not the cache), with a single 8-byte
 * access for the entry time, as a 64-bit guest does. Outcome review, line by line:
 * <ul>
 * <li>{@code 1, 1}: the reader ran before the writer's first store (the flag byte) became visible,
 *     or e2 was read before it and everything it read was S1: a whole old record.</li>
 * <li>{@code 2, 1}: the reader's e1 saw the writer's last store (the release that clears the flag):
 *     every store before it is visible, so the rest is all S2.</li>
 * <li>{@code 0, 1}: the reader overlapped the update: it saw the flag, or two different entry
 *     times, and retries (a guest loops). Interesting: the window exists and is detected.</li>
 * <li>{@code -1, *}: forbidden: an accepted record mixing S1 and S2, the torn read the protocol
 *     exists to prevent.</li>
 * <li>{@code *, 0}: forbidden: the update of a registered area on a valid cache with
 *     {@code mayBlock} was given up.</li>
 * <li>anything else: forbidden (catch-all).</li>
 * </ul>
 * The two records have different entry times, as two steps of the accounting always do (the
 * protocol cannot detect a change that keeps the entry time, such as a zero-sum host adjust
 * racing a read; see {@link RunstateArea}).
 */
@JCStressTest
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "the whole old record: read before the update began")
@Outcome(id = "2, 1", expect = ACCEPTABLE, desc = "the whole new record: read after the update ended")
@Outcome(id = "0, 1", expect = ACCEPTABLE_INTERESTING,
        desc = "the read overlapped the update: flag set or entry time changed, the guest retries")
@Outcome(id = "-1, .*", expect = FORBIDDEN, desc = "a torn record accepted: fields of both records")
@Outcome(id = ".*, 0", expect = FORBIDDEN, desc = "the update was given up")
@Outcome(expect = FORBIDDEN, desc = "any other result")
@State
public class RunstateUpdateVsGuestRead {
    static final RunstateAccount.Snapshot S1 = new RunstateAccount.Snapshot(Runstate.RUNNING, 10_000, 1_000, 2_000,
            3_000, 4_000);
    static final RunstateAccount.Snapshot S2 = new RunstateAccount.Snapshot(Runstate.BLOCKED, 12_600, 1_500, 2_600,
            3_700, 4_800);
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final MemorySegment SEG = Cells.HOST.segment();

    final long cell = Cells.cell();
    final GuestMemory memory = Cells.guestOverPageOf(cell);
    final RunstateArea area = new RunstateArea(memory, "jcstress");

    public RunstateUpdateVsGuestRead() {
        if (area.register(Cells.gpaOf(cell), -1, WordSize.BITS_64) != 0 || !area.update(S1, true)) {
            throw new IllegalStateException("cannot set up the area");
        }
    }

    @Actor
    public void writer(JJ_Result r) {
        r.r2 = area.update(S2, true) ? 1 : 0;
    }

    @Actor
    public void reader(JJ_Result r) {
        long e1 = (long) LONG.getAcquire(SEG, cell + 8);
        int state = SEG.get(ValueLayout.JAVA_INT, cell);
        long t0 = SEG.get(ValueLayout.JAVA_LONG, cell + 16);
        long t1 = SEG.get(ValueLayout.JAVA_LONG, cell + 24);
        long t2 = SEG.get(ValueLayout.JAVA_LONG, cell + 32);
        long t3 = SEG.get(ValueLayout.JAVA_LONG, cell + 40);
        VarHandle.loadLoadFence();
        long e2 = (long) LONG.getAcquire(SEG, cell + 8);
        r.r1 = classify(e1, e2, state, t0, t1, t2, t3);
    }

    /** 0: retry; 1 or 2: an accepted record that is all S1 or all S2; -1: an accepted mix. */
    static long classify(long e1, long e2, int state, long t0, long t1, long t2, long t3) {
        if (e1 != e2 || (e1 & Runstate.XEN_RUNSTATE_UPDATE) != 0) {
            return 0;
        }
        RunstateAccount.Snapshot seen = new RunstateAccount.Snapshot(state, e1, t0, t1, t2, t3);
        return seen.equals(S1) ? 1 : seen.equals(S2) ? 2 : -1;
    }
}

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
import org.jxen.hypercalls.time.RunstateArea;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJ_Result;

/**
 * The {@code XEN_RUNSTATE_UPDATE} protocol for an area that crosses a page whose two pages are at
 * unrelated guest-physical addresses (two caches, KVM's {@code runstate_cache} and
 * {@code runstate2_cache}), in the packed 32-bit layout: the guest never accepts a torn record.
 *
 * <pre>
 *   gpa [0, 4096) memslot 0 -> host page P      gpa [16384, 20480) memslot 1 -> host page P+1
 *   a 32-bit vcpu_runstate_info (44 bytes) at gpa 4072, its second page at gpa 16384:
 *     part 1 (24 bytes, end of P):    state 0, state_entry_time 4 (unaligned), time[0] 12, time[1] low half 20
 *     part 2 (20 bytes, start of P+1): time[1] high half, time[2], time[3]
 *   before: S1 (constructor); writer: update(S2), r2 = 1 if written
 *   reader: the guest's read over the host bytes it sees (entry time in one 8-byte access, time[1]
 *           in two halves, one per page); r1 = 1, 2, 0 or -1 as in RunstateUpdateVsGuestRead
 * </pre>
 *
 * The split is inside {@code time[1]}, not inside {@code state_entry_time}: a guest reads the entry
 * time with one access, which only a split inside it would break into two (see
 * {@link RunstateArea} on why the protocol needs that). Outcome review, line by line:
 * <ul>
 * <li>{@code 1, 1}: the reader finished before the flag byte (in part 1) was set: all S1.</li>
 * <li>{@code 2, 1}: e1 saw the flag cleared with the new entry time: the release orders both
 *     caches' stores before it, so both parts are S2.</li>
 * <li>{@code 0, 1}: the read overlapped the update and is retried (interesting).</li>
 * <li>{@code -1, *}: forbidden: accepted with fields of both records (for example part 2 of S2
 *     with part 1 of S1: the two caches' writes are not one update).</li>
 * <li>{@code *, 0}: forbidden: the update was given up on valid caches.</li>
 * <li>anything else: forbidden (catch-all).</li>
 * </ul>
 */
@JCStressTest
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "the whole old record: read before the update began")
@Outcome(id = "2, 1", expect = ACCEPTABLE, desc = "the whole new record, both parts: read after the update ended")
@Outcome(id = "0, 1", expect = ACCEPTABLE_INTERESTING,
        desc = "the read overlapped the update: flag set or entry time changed, the guest retries")
@Outcome(id = "-1, .*", expect = FORBIDDEN, desc = "a torn record accepted: fields of both records")
@Outcome(id = ".*, 0", expect = FORBIDDEN, desc = "the update was given up")
@Outcome(expect = FORBIDDEN, desc = "any other result")
@State
public class RunstateSplitUpdateVsGuestRead {
    static final long GPA = Cells.PAGE - 24;
    static final long SECOND_PAGE_GPA = 4 * Cells.PAGE;
    private static final MemorySegment SEG = Cells.HOST.segment();

    final int boundary = Cells.claimBoundary();
    final long p = Cells.boundaryPage(boundary);
    /** Host offset of record byte 0 (part 1) and of record byte 24 (part 2). */
    final long part1 = p + Cells.PAGE - 24;
    final long part2 = p + Cells.PAGE;
    final GuestMemory memory = new GuestMemory("jcstress runstate split");
    final RunstateArea area;

    public RunstateSplitUpdateVsGuestRead() {
        memory.addSlot(0, 0, Cells.PAGE, Cells.HOST, p, 0);
        memory.addSlot(1, SECOND_PAGE_GPA, Cells.PAGE, Cells.HOST, p + Cells.PAGE, 0);
        area = new RunstateArea(memory, "jcstress split");
        if (area.register(GPA, SECOND_PAGE_GPA, WordSize.BITS_32) != 0
                || !area.update(RunstateUpdateVsGuestRead.S1, true)) {
            throw new IllegalStateException("cannot set up the area");
        }
    }

    @Actor
    public void writer(JJ_Result r) {
        r.r2 = area.update(RunstateUpdateVsGuestRead.S2, true) ? 1 : 0;
    }

    @Actor
    public void reader(JJ_Result r) {
        long e1 = SEG.get(ValueLayout.JAVA_LONG_UNALIGNED, part1 + 4);
        VarHandle.loadLoadFence(); // the guest's rmb(); an x86 load is an acquire
        int state = SEG.get(ValueLayout.JAVA_INT, part1);
        long t0 = SEG.get(ValueLayout.JAVA_LONG_UNALIGNED, part1 + 12);
        long t1 = Integer.toUnsignedLong(SEG.get(ValueLayout.JAVA_INT, part1 + 20))
                | (long) SEG.get(ValueLayout.JAVA_INT, part2) << 32;
        long t2 = SEG.get(ValueLayout.JAVA_LONG_UNALIGNED, part2 + 4);
        long t3 = SEG.get(ValueLayout.JAVA_LONG_UNALIGNED, part2 + 12);
        VarHandle.loadLoadFence();
        long e2 = SEG.get(ValueLayout.JAVA_LONG_UNALIGNED, part1 + 4);
        r.r1 = RunstateUpdateVsGuestRead.classify(e1, e2, state, t0, t1, t2, t3);
    }

    @Arbiter
    public void arbiter(JJ_Result r) {
        Cells.releaseBoundary(boundary);
    }
}

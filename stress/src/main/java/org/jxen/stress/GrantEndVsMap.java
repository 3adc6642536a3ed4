package org.jxen.stress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * The guest ends a grant (Linux's v1 {@code gnttab_end_foreign_access_ref}: only while neither
 * {@code GTF_reading} nor {@code GTF_writing} is set, by a compare-and-swap of the flags to 0) while
 * a host backend maps it ({@code GrantTable.mapForeign}: checks {@code GTF_permit_access} and sets
 * {@code GTF_reading | GTF_writing} by a compare-and-swap of the same word). Exactly one wins: a
 * guest that ended its grant can reuse the page, so a backend must never hold a mapping of it.
 *
 * <p>r1 = the guest ended the grant, r2 = the host got a mapping; read by the arbiter: r3 = the
 * flags after both, r4 = the flags after the host unmapped (if it had mapped).
 */
@JCStressTest
@Outcome(id = "1, 0, 0, 0", expect = ACCEPTABLE, desc = "the guest ended the grant first; the host's map was refused")
@Outcome(id = "0, 1, 25, 1", expect = ACCEPTABLE,
        desc = "the host mapped first (permit_access|reading|writing); the guest saw it mapped and kept the grant;"
                + " unmapping cleared reading and writing")
@Outcome(id = "1, 1, .*", expect = FORBIDDEN, desc = "BOTH: the guest ended a grant that the host has mapped")
@Outcome(id = "0, 0, .*", expect = FORBIDDEN, desc = "neither: the guest gave up and the host was refused")
@Outcome(expect = FORBIDDEN, desc = "any other result (flags left behind)")
@State
public class GrantEndVsMap {
    final GrantGuest g = new GrantGuest();

    @Actor
    public void guest(IIII_Result r) {
        r.r1 = g.guestEndAccess();
    }

    @Actor
    public void host(IIII_Result r) {
        r.r2 = g.hostMap();
    }

    @Arbiter
    public void arbiter(IIII_Result r) {
        r.r3 = g.flags();
        g.unmap();
        r.r4 = g.flags();
        g.close();
    }
}

package org.jxen.kvm.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.jxen.abi.Gntst;
import org.jxen.abi.Gtf;
import org.jxen.guests.Guests;
import org.jxen.hypercalls.GrantException;
import org.jxen.hypercalls.GrantMapping;
import org.jxen.hypercalls.GrantTable;
import org.jxen.kvm.KvmRequired;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Grant tables v1 end to end (test-grant-table.c): a real guest places its grant frame with
 * XENMEM_add_to_physmap and grants two pages to domain 0; the host maps them through
 * {@link GrantTable#mapForeign}, reads the guest's pattern, writes a reply, and the guest sees the
 * reply and GTF_reading/GTF_writing while the pages are mapped, and clean flags after.
 */
class GrantTableTest {
    static final int PAGE = 4096;

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    @Test
    void hostBackendMapsTheGuestsGrantsAndTheGuestSeesTheFlagsAndTheReply() throws Exception {
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-grant-table"), SelftestVm.options().xenDomain())) {
            GrantTable table = vm.domain().grantTable();
            vm.start();

            Ucall u = vm.awaitSync(0, 1);
            int rwRef = (int) u.arg(1);
            int roRef = (int) u.arg(2);
            long rwGfn = u.arg(3);
            assertEquals(u.arg(4), table.frameGfn(0), "frame 0 where the guest placed it");
            assertEquals("grant table frame 0", vm.domain().physmap().xenFrameAt(u.arg(4)));

            GrantMapping rw = table.mapForeign(rwRef, true);
            assertEquals(rwGfn, rw.gfn());
            byte[] page = new byte[PAGE];
            assertTrue(rw.read(0, MemorySegment.ofArray(page)));
            for (int i = 0; i < PAGE; i++) {
                assertEquals((byte) (i * 7 + 3), page[i], "the guest's pattern at " + i);
            }
            GrantException refused = assertThrows(GrantException.class, () -> table.mapForeign(roRef, true));
            assertEquals(Gntst.GENERAL_ERROR, refused.status(), "a read-only grant is not mapped for writing");
            GrantMapping ro = table.mapForeign(roRef, false);
            assertTrue(ro.read(0, MemorySegment.ofArray(page)));
            for (int i = 0; i < PAGE; i++) {
                assertEquals((byte) (i * 13 + 1), page[i], "the read-only page at " + i);
            }
            byte[] reply = new byte[PAGE / 2];
            for (int i = 0; i < reply.length; i++) {
                reply[i] = (byte) (0xff - ((i + PAGE / 2) & 0xff));
            }
            assertTrue(rw.write(PAGE / 2, MemorySegment.ofArray(reply)));
            vm.resume(0);

            u = vm.awaitSync(0, 2);
            assertEquals(Gtf.PERMIT_ACCESS | Gtf.READING | Gtf.WRITING, u.arg(1), "rw flags while mapped");
            assertEquals(Gtf.PERMIT_ACCESS | Gtf.READONLY | Gtf.READING, u.arg(2), "ro flags while mapped");
            assertEquals(1, u.arg(3), "the guest saw the host's reply");
            rw.close();
            ro.close();
            vm.resume(0);

            u = vm.awaitSync(0, 3);
            assertEquals(Gtf.PERMIT_ACCESS, u.arg(1), "rw flags after unmap");
            assertEquals(Gtf.PERMIT_ACCESS | Gtf.READONLY, u.arg(2), "ro flags after unmap");
            assertEquals(2, u.arg(3), "the guest ended both grants");
            GrantException ended = assertThrows(GrantException.class, () -> table.mapForeign(rwRef, false));
            assertEquals(Gntst.GENERAL_ERROR, ended.status(), "an ended grant cannot be mapped");
            vm.resume(0);
            vm.awaitDone(0);
        }
    }
}

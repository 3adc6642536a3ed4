package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jxen.abi.EvtchnFifo;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.Hypercall;
import org.jxen.abi.XenErrno;
import org.junit.jupiter.api.Test;

/**
 * The lazily allocated port table: buckets of {@value EventChannels#BUCKET_SIZE} ports appear as
 * ports in them are first bound; the port limits are 4095 usable ports for a 64-bit guest and 1023
 * for a 32-bit one (2-level), 2^17 - 1 with FIFO.
 */
class EventChannelPortTableTest extends FifoTestBase {

    @Test
    void aNewDomainHoldsNoPortRecordsAndBucketsAppearOnFirstUse() {
        EventChannels ec = domain.eventChannels();
        assertEquals(0, ec.allocatedBuckets());
        assertEquals(EventChannels.Kind.FREE, ec.kind(4000), "a port in no bucket is free");
        assertEquals(1, bindIpi(0));
        assertEquals(1, ec.allocatedBuckets());
        for (int p = 2; p < EventChannels.BUCKET_SIZE; p++) {
            assertEquals(p, bindIpi(0));
        }
        assertEquals(1, ec.allocatedBuckets(), "the ports of the first bucket share it");
        assertEquals(EventChannels.BUCKET_SIZE, bindIpi(1));
        assertEquals(2, ec.allocatedBuckets());
        domain.raise(3000); // a port in no bucket: nothing happens, nothing is allocated
        assertEquals(2, ec.allocatedBuckets());
    }

    @Test
    void aSixtyFourBitGuestHas4095PortsAndAThirtyTwoBitGuest1023() {
        for (int p = 1; p < 4096; p++) {
            assertEquals(p, bindIpi(0));
        }
        platform.memory().putInt(ARGS, 0);
        assertEquals(-XenErrno.ENOSPC, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_IPI, ARGS, 0));
        assertEquals(0, reset());
        for (int p = 1; p < 1024; p++) {
            platform.memory().putInt(ARGS, 0);
            assertEquals(0, call32(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_IPI, ARGS, 0));
            assertEquals(p, platform.memory().getInt(ARGS + 4));
        }
        platform.memory().putInt(ARGS, 0);
        assertEquals(-XenErrno.ENOSPC, call32(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_IPI, ARGS, 0));
    }

    @Test
    void fifoBindsPortsBeyondTheTwoLevelLimit() {
        setUpFifo(5);
        int last = 0;
        for (int i = 0; i < 5000; i++) {
            last = bindIpi(0);
        }
        assertEquals(5000, last, "past 4095 with FIFO");
        assertEquals((5000 / EventChannels.BUCKET_SIZE) + 1, domain.eventChannels().allocatedBuckets());
        domain.raise(last); // page 4
        assertEquals(EventFifo.PENDING | EventFifo.LINKED, word(last));
        assertEquals(last, guest.headWord(0, EvtchnFifo.PRIORITY_DEFAULT));
    }
}

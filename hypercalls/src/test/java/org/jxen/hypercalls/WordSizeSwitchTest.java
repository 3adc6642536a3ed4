package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jxen.abi.EvtchnOp;
import org.jxen.abi.Hypercall;
import org.jxen.abi.Runstate;
import org.jxen.abi.SchedOp;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuInfo;
import org.jxen.abi.VcpuOp;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenVersion;
import org.jxen.gpc.GuestMemory;
import org.junit.jupiter.api.Test;

/**
 * Scenario 20 in-process: the guest's hypercall ABI switches between 32 and 64 bits, and the
 * shared structures follow the word size of its latest hypercall: the runstate area is written
 * again in the new layout at the same address, the wall clock moves to its offsets in the new
 * shared_info layout, event-channel words, selector and port count follow.
 */
class WordSizeSwitchTest extends DomainTestBase {
    static final byte SENTINEL = (byte) 0xa5;
    /** 46 bytes before a page boundary: the 44-byte record fits the page, the 48-byte one crosses it. */
    static final long AREA = 0x40000 - 46;

    long call32(int vcpu, int nr, long a0, long a1, long a2) {
        return domain.dispatch(new HypercallRequest(vcpu).set(nr, a0, a1, a2, 0, 0, 0, WordSize.BITS_32, 0));
    }

    long call64(int vcpu, int nr, long a0, long a1, long a2) {
        return domain.dispatch(new HypercallRequest(vcpu).set(nr, a0, a1, a2, 0, 0, 0, WordSize.BITS_64, 0));
    }

    void fill(long from, long to) {
        for (long a = from; a < to; a++) {
            platform.memory().putByte(a, SENTINEL);
        }
    }

    void assertSentinel(long from, long to, String what) {
        for (long a = from; a < to; a++) {
            assertEquals(SENTINEL, platform.memory().getByte(a), what + ": byte at 0x" + Long.toHexString(a));
        }
    }

    /** Checks the record at {@code area} in layout {@code w}: running, update flag clear, entry time = sum. */
    long[] assertRecord(long area, WordSize w) {
        GuestMemory m = platform.memory();
        long entryAt = area + (w == WordSize.BITS_64 ? 8 : 4);
        long timeAt = area + (w == WordSize.BITS_64 ? 16 : 12);
        assertEquals(Runstate.RUNNING, m.getInt(area), "state in the " + w + " layout");
        long entry = m.getLong(entryAt);
        assertEquals(0, entry >>> 63, "XEN_RUNSTATE_UPDATE clear");
        long[] t = new long[4];
        long sum = 0;
        for (int i = 0; i < 4; i++) {
            t[i] = m.getLong(timeAt + 8L * i);
            sum += t[i];
        }
        assertEquals(entry, sum, "state_entry_time is the sum of the four times in the " + w + " layout");
        return t;
    }

    /** SCHEDOP_poll on {@code port} (nothing pending) with a 10 ms timeout, in layout {@code w}. */
    void pollBriefly(int vcpu, int port, WordSize w) {
        GuestMemory m = platform.memory();
        long poll = ARGS + 0x100;
        long ports = ARGS + 0x200;
        m.putInt(ports, port);
        long deadline = domain.systemTime() + 10_000_000L;
        if (w == WordSize.BITS_64) {
            m.putLong(poll, ports);
            m.putInt(poll + 8, 1);
            m.putLong(poll + 16, deadline);
            assertEquals(0, call64(vcpu, Hypercall.SCHED_OP, SchedOp.POLL, poll, 0));
        } else {
            m.putInt(poll, (int) ports);
            m.putInt(poll + 4, 1);
            m.putLong(poll + 8, deadline);
            assertEquals(0, call32(vcpu, Hypercall.SCHED_OP, SchedOp.POLL, poll, 0));
        }
    }

    @Test
    void runstateAreaIsWrittenAgainInTheNewLayoutAtTheSameAddress() {
        mapSharedInfo();
        int port = bindIpi(0);
        fill(AREA - 16, AREA + 64);
        platform.memory().putLong(ARGS, AREA);
        assertEquals(0, call64(0, Hypercall.VCPU_OP, VcpuOp.REGISTER_RUNSTATE_MEMORY_AREA, 0, ARGS));
        pollBriefly(0, port, WordSize.BITS_64);
        long[] t64 = assertRecord(AREA, WordSize.BITS_64);
        assertSentinel(AREA - 16, AREA, "before the area");
        assertSentinel(AREA + 48, AREA + 64, "after the 48-byte area");

        // the switching hypercall itself lays the area out again: 44 bytes, entry time at 4
        fill(AREA + 44, AREA + 64);
        assertTrue(call32(0, Hypercall.XEN_VERSION, XenVersion.VERSION, 0, 0) > 0);
        assertEquals(WordSize.BITS_32, domain.wordSize());
        assertRecord(AREA, WordSize.BITS_32);
        pollBriefly(0, port, WordSize.BITS_32);
        long[] t32 = assertRecord(AREA, WordSize.BITS_32);
        assertTrue(t32[Runstate.BLOCKED] >= t64[Runstate.BLOCKED] + 10_000_000L, "blocked time kept and grown");
        assertSentinel(AREA - 16, AREA, "before the area (32-bit)");
        assertSentinel(AREA + 44, AREA + 64, "after the 44-byte area");

        // and back: 48 bytes across the page boundary again
        assertTrue(call64(0, Hypercall.XEN_VERSION, XenVersion.VERSION, 0, 0) > 0);
        assertEquals(WordSize.BITS_64, domain.wordSize());
        pollBriefly(0, port, WordSize.BITS_64);
        long[] back = assertRecord(AREA, WordSize.BITS_64);
        assertTrue(back[Runstate.BLOCKED] >= t32[Runstate.BLOCKED] + 10_000_000L);
        assertSentinel(AREA + 48, AREA + 64, "after the 48-byte area, back in 64-bit");
    }

    @Test
    void anotherVcpusAreaIsNotWrittenInTheOldLayoutAndFollowsAtItsNextHypercall() {
        long area1 = 0x50000 - 20;
        fill(area1 - 16, area1 + 64);
        platform.memory().putLong(ARGS, area1);
        assertEquals(0, call64(1, Hypercall.VCPU_OP, VcpuOp.REGISTER_RUNSTATE_MEMORY_AREA, 1, ARGS));
        assertRecord(area1, WordSize.BITS_64);
        fill(area1 + 44, area1 + 64);
        byte[] before = new byte[80];
        for (int i = 0; i < before.length; i++) {
            before[i] = platform.memory().getByte(area1 - 16 + i);
        }
        // vCPU 0 switches the domain to 32 bits; vCPU 1's thread then changes runstate outside a hypercall
        call32(0, Hypercall.XEN_VERSION, XenVersion.VERSION, 0, 0);
        domain.vcpu(1).setRunstate(Runstate.RUNNABLE, -1, true);
        for (int i = 0; i < before.length; i++) {
            assertEquals(before[i], platform.memory().getByte(area1 - 16 + i), "no write in the 64-bit layout at +" + i);
        }
        domain.vcpu(1).setRunstate(Runstate.RUNNING, -1, true);
        // vCPU 1's own next hypercall lays its area out in 32 bits
        call32(1, Hypercall.XEN_VERSION, XenVersion.VERSION, 0, 0);
        assertRecord(area1, WordSize.BITS_32);
        assertSentinel(area1 + 44, area1 + 64, "after vCPU 1's 44-byte area");
    }

    @Test
    void wallClockMovesToItsOffsetsInTheNewLayout() {
        mapSharedInfo();
        GuestMemory m = platform.memory();
        long si = sharedInfoGpa();
        int v64 = m.getInt(si + SharedInfo.offsetOfWcVersion(WordSize.BITS_64));
        long sec64 = Integer.toUnsignedLong(m.getInt(si + SharedInfo.offsetOfWcSec(WordSize.BITS_64)));
        assertTrue(v64 != 0 && v64 % 2 == 0);
        assertEquals(0, m.getInt(si + SharedInfo.offsetOfWcVersion(WordSize.BITS_32)), "nothing at 2304 yet");

        call32(0, Hypercall.XEN_VERSION, XenVersion.VERSION, 0, 0);
        int v32 = m.getInt(si + SharedInfo.offsetOfWcVersion(WordSize.BITS_32));
        long sec32 = Integer.toUnsignedLong(m.getInt(si + SharedInfo.offsetOfWcSec(WordSize.BITS_32)));
        assertTrue(v32 != 0 && v32 % 2 == 0, "32-bit wc_version even and non-zero: " + v32);
        assertTrue(Math.abs(sec32 - sec64) <= 1, "the same boot time: " + sec32 + " vs " + sec64);

        // a second 32-bit call changes nothing: the clock is written at the switch, not at every call
        call32(0, Hypercall.XEN_VERSION, XenVersion.VERSION, 0, 0);
        assertEquals(v32, m.getInt(si + SharedInfo.offsetOfWcVersion(WordSize.BITS_32)));

        call64(0, Hypercall.XEN_VERSION, XenVersion.VERSION, 0, 0);
        int again = m.getInt(si + SharedInfo.offsetOfWcVersion(WordSize.BITS_64));
        assertTrue(again > v64 && again % 2 == 0, "64-bit wall clock written again: " + v64 + " -> " + again);
    }

    @Test
    void eventChannelWordsSelectorAndPortCountFollow() {
        mapSharedInfo();
        setUpcallVector(0);
        int port = bindIpi(0); // port 1
        // allocate ports up to one beyond the 32-bit ABI's 1024
        int high = 0;
        while (high < 1024) {
            platform.memory().putShort(ARGS, (short) 0x7ff0);
            platform.memory().putShort(ARGS + 2, (short) 0x7ff0);
            assertEquals(0, call64(0, Hypercall.EVENT_CHANNEL_OP, EvtchnOp.ALLOC_UNBOUND, ARGS, 0));
            high = platform.memory().getInt(ARGS + 4);
        }
        long status = ARGS + 0x400;
        platform.memory().putInt(status + 4, high);
        platform.memory().putShort(status, (short) 0x7ff0);
        assertEquals(0, call64(0, Hypercall.EVENT_CHANNEL_OP, EvtchnOp.STATUS, status, 0));
        assertEquals(-XenErrno.EINVAL, call32(0, Hypercall.EVENT_CHANNEL_OP, EvtchnOp.STATUS, status, 0),
                "port " + high + " does not exist for a 32-bit guest (1024 ports)");
        platform.memory().putInt(status + 4, port);
        assertEquals(0, call32(0, Hypercall.EVENT_CHANNEL_OP, EvtchnOp.STATUS, status, 0));

        // a raise now sets 32-bit words: pending word 0 at 2048, selector bit 0 at vcpu_info + 4
        GuestMemory m = platform.memory();
        long si = sharedInfoGpa();
        long vi = si + SharedInfo.offsetOfVcpuInfo(WordSize.BITS_32, 0);
        domain.raise(port);
        assertEquals(1 << port, m.getInt(si + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_32)));
        assertEquals(1, m.getInt(vi + VcpuInfo.offsetOfEvtchnPendingSel(WordSize.BITS_32)));
        assertEquals(0, m.getInt(vi + 8), "nothing at the 64-bit selector's upper half");
        assertEquals(1, m.getByte(vi));
        assertEquals(1, upcalls().size());

        // the guest handles it, then masks the port in the 32-bit mask array (2176)
        m.putByte(vi, (byte) 0);
        m.putInt(vi + 4, 0);
        m.putInt(si + 2048, 0);
        m.putInt(si + SharedInfo.offsetOfEvtchnMask(WordSize.BITS_32), 1 << port);
        domain.raise(port);
        assertEquals(1 << port, m.getInt(si + 2048), "pending while masked");
        assertEquals(0, m.getByte(vi), "masked: no upcall");
        assertEquals(1, upcalls().size());
        m.putInt(ARGS + 0x300, port);
        assertEquals(0, call32(0, Hypercall.EVENT_CHANNEL_OP, EvtchnOp.UNMASK, ARGS + 0x300, 0));
        assertEquals(0, m.getInt(si + SharedInfo.offsetOfEvtchnMask(WordSize.BITS_32)));
        assertEquals(1, m.getByte(vi), "unmask re-delivers in the 32-bit layout");
        assertEquals(2, upcalls().size());

        // back in 64 bits the high port exists again
        platform.memory().putInt(status + 4, high);
        assertEquals(0, call64(0, Hypercall.EVENT_CHANNEL_OP, EvtchnOp.STATUS, status, 0));
    }
}

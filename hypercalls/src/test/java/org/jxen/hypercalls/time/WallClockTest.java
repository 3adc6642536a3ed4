package org.jxen.hypercalls.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jxen.abi.SharedInfo;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.gpc.MappedArea;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The wall clock in shared_info, both word sizes. */
class WallClockTest {
    HostMemory ram;
    GuestMemory memory;
    GfnToPfnCache si;

    @BeforeEach
    void setUp() {
        ram = HostMemory.offHeap("ram", 4 * 4096);
        memory = new GuestMemory("wc");
        memory.addSlot(0, 0, ram.size(), ram, 0, 0);
        si = memory.newCache("shared_info");
        assertEquals(GpcStatus.OK, si.activate(4096, 4096));
    }

    @AfterEach
    void tearDown() {
        si.deactivate();
        memory.removeSlot(0);
        ram.close();
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void writeLeavesAnEvenNonZeroVersionAndTheSplitSeconds(WordSize w) {
        long sec = 0x1_2345_6789L; // past 2106: needs wc_sec_hi
        MappedArea m = si.lock();
        try {
            assertEquals(2, WallClock.write(m, w, sec, 999_999_999));
            assertEquals(2, m.getInt(SharedInfo.offsetOfWcVersion(w)));
            assertEquals(0x2345_6789, m.getInt(SharedInfo.offsetOfWcSec(w)));
            assertEquals(1, m.getInt(SharedInfo.offsetOfWcSecHi(w)));
            assertEquals(999_999_999, m.getInt(SharedInfo.offsetOfWcNsec(w)));
            assertEquals(w == WordSize.BITS_64 ? 3084 : 2340, SharedInfo.offsetOfWcSecHi(w));
            assertEquals(w == WordSize.BITS_64 ? 3072 : 2304, SharedInfo.offsetOfWcVersion(w));
            assertEquals(new WallClock.Reading(2, sec, 999_999_999), WallClock.read(m, w, 10));
            // a stale odd version still ends even and larger
            m.putInt(SharedInfo.offsetOfWcVersion(w), 5);
            assertEquals(8, WallClock.write(m, w, 1_700_000_000L, 1));
            // wrap-around: never 0
            m.putInt(SharedInfo.offsetOfWcVersion(w), -2);
            int v = WallClock.write(m, w, 1_700_000_000L, 1);
            assertTrue(v != 0 && (v & 1) == 0, "version " + v);
            assertEquals(0, m.getInt(SharedInfo.offsetOfWcSecHi(w)));
            assertThrows(IllegalArgumentException.class, () -> WallClock.write(m, w, 0, 1_000_000_000));
            assertThrows(IllegalArgumentException.class, () -> WallClock.write(m, w, 0, -1));
        } finally {
            si.unlock();
        }
    }

    @ParameterizedTest
    @EnumSource(WordSize.class)
    void bootTimePlusSystemTimeIsRealTime(WordSize w) {
        long real = System.currentTimeMillis() * 1_000_000L + 123_456;
        long system = 5_000_000_123L;
        MappedArea m = si.lock();
        try {
            WallClock.writeBootTime(m, w, real, system);
            WallClock.Reading r = WallClock.read(m, w, 10);
            assertNotNull(r);
            assertEquals(real, r.epochSec() * 1_000_000_000L + r.nsec() + system);
            assertTrue(r.version() != 0 && (r.version() & 1) == 0);
            // the other layout's words are untouched (the 32-bit wc is inside the 64-bit evtchn_mask)
            WordSize other = w == WordSize.BITS_64 ? WordSize.BITS_32 : WordSize.BITS_64;
            assertEquals(0, m.getInt(SharedInfo.offsetOfWcVersion(other)));
        } finally {
            si.unlock();
        }
    }
}

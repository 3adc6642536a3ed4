package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jxen.abi.HvmOp;
import org.jxen.abi.Hypercall;
import org.jxen.abi.Runstate;
import org.jxen.abi.SchedOp;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuOp;
import org.jxen.abi.WordSize;
import org.junit.jupiter.api.Test;

/** get_time, the wall clock in shared_info, the runstate area and get_runstate_info through hypercalls. */
class TimeHypercallsTest extends DomainTestBase {

    @Test
    void getTimeIsXenSystemTime() {
        long before = domain.systemTime();
        assertEquals(0, call(Hypercall.HVM_OP, HvmOp.GET_TIME, ARGS, 0));
        long now = platform.memory().getLong(ARGS);
        assertTrue(now >= before && now <= domain.systemTime());
    }

    @Test
    void wallClockIsWrittenWhenSharedInfoIsMapped() {
        mapSharedInfo();
        long si = sharedInfoGpa();
        int version = platform.memory().getInt(si + SharedInfo.offsetOfWcVersion(WordSize.BITS_64));
        long sec = Integer.toUnsignedLong(platform.memory().getInt(si + SharedInfo.offsetOfWcSec(WordSize.BITS_64)))
                | ((long) platform.memory().getInt(si + SharedInfo.offsetOfWcSecHi(WordSize.BITS_64)) << 32);
        long bootPlusNow = sec + domain.systemTime() / 1_000_000_000L;
        assertTrue(version != 0 && version % 2 == 0, "version even and non-zero");
        assertTrue(Math.abs(bootPlusNow - System.currentTimeMillis() / 1000) <= 1, "scenario 18: within 1 s");
    }

    @Test
    void runstateAreaCrossingAPageShowsBlockedTimeAndSumsUp() {
        long area = 0x40000 - 20; // crosses a page boundary
        platform.memory().putLong(ARGS, area);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_RUNSTATE_MEMORY_AREA, 0, ARGS));
        assertEquals(Runstate.RUNNING, platform.memory().getInt(area));
        // block on a poll with a 20 ms timeout and nothing pending: blocked time grows
        mapSharedInfo();
        int port = bindIpi(0);
        platform.memory().putInt(ARGS + 0x200, port);
        platform.memory().putLong(ARGS + 0x100, ARGS + 0x200);
        platform.memory().putInt(ARGS + 0x108, 1);
        platform.memory().putLong(ARGS + 0x110, domain.systemTime() + 20_000_000L);
        assertEquals(0, call(Hypercall.SCHED_OP, SchedOp.POLL, ARGS + 0x100, 0));
        long entry = platform.memory().getLong(area + 8);
        long running = platform.memory().getLong(area + 16);
        long runnable = platform.memory().getLong(area + 24);
        long blocked = platform.memory().getLong(area + 32);
        long offline = platform.memory().getLong(area + 40);
        assertEquals(Runstate.RUNNING, platform.memory().getInt(area));
        assertTrue(blocked >= 20_000_000L, "blocked " + blocked);
        assertEquals(entry, running + runnable + blocked + offline, "scenario 2: entry time is the sum");
        assertEquals(0, entry >>> 63, "XEN_RUNSTATE_UPDATE clear");
        // get_runstate_info agrees
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.GET_RUNSTATE_INFO, 0, ARGS + 0x300));
        assertEquals(blocked, platform.memory().getLong(ARGS + 0x300 + 32));
    }
}

package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import org.jxen.abi.Hypercall;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.GuestMemory;
import org.junit.jupiter.api.Test;

/**
 * What a hostile guest puts in memory and registers must not crash the VMM: each test is one
 * finding of the security review, written to fail before its fix.
 */
class HostileGuestTest extends DomainTestBase {

    /**
     * A 64-bit multicall entry whose op has high bits set (0xffffffff_0000000d) was truncated to
     * 13 after the nested-multicall check: the entry ran the same multicall again, without end,
     * until a StackOverflowError escaped the dispatcher.
     */
    @Test
    void multicallOpWithHighBitsIsNotANestedMulticall() {
        GuestMemory m = platform.memory();
        long list = ARGS;
        m.putLong(list, 0xffff_ffff_0000_0000L | Hypercall.MULTICALL); // op
        m.putLong(list + 16, list); // args[0]: the same list
        m.putLong(list + 24, 1); // args[1]: one entry
        long rc = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> call(Hypercall.MULTICALL, list, 1, 0));
        assertEquals(0, rc);
        assertEquals(-XenErrno.ENOSYS, m.getLong(list + 8), "the entry's result");
    }

    /**
     * Events raised while shared_info is not mapped were queued one entry per raise: a guest that
     * never maps shared_info and sends an IPI in a loop grew the host's heap without bound. A port
     * is pending once however often it is raised, so at most one entry per port may wait.
     */
    @Test
    void eventsDeferredBeforeSharedInfoAreBoundedByThePorts() {
        int port = bindIpi(0);
        for (int i = 0; i < 100_000; i++) {
            assertEquals(0, send(port));
        }
        assertEquals(1, domain.eventChannels().deferredCount());
    }

    /**
     * vCPU 0 may register vCPU 1's runstate area (as Xen allows), in the other word size, while
     * vCPU 1 writes it. The registration replaces the area's cache (44 or 48 bytes) and then its
     * layout; a writer in between, or two registrations interleaved, met a 44-byte cache with the
     * 48-byte layout, and a NullPointerException escaped vCPU 1's hypercall (and every later one,
     * when two registrations left that state). The race is narrow, so the state it leaves is made
     * here directly: the write must be given up, not throw.
     */
    @Test
    void runstateAreaWhoseCacheIsShorterThanItsLayoutIsNotWritten() throws Exception {
        var area = new org.jxen.hypercalls.time.RunstateArea(platform.memory(), "raced");
        assertEquals(0, area.register(0x30000 + 4096 - 44, -1, org.jxen.abi.WordSize.BITS_32));
        var layout = area.getClass().getDeclaredField("wordSize");
        layout.setAccessible(true);
        layout.set(area, org.jxen.abi.WordSize.BITS_64); // what the other registration writes next
        var s = new org.jxen.hypercalls.time.RunstateAccount.Snapshot(0, 1, 2, 3, 4, 5);
        org.junit.jupiter.api.Assertions.assertFalse(area.update(s, true));
        area.unregister();
    }

    /**
     * With page tables that map every virtual address onto a few pages, a multicall of 2^32 - 1
     * entries (here console writes of 4 GiB each) kept its vCPU for hours, and the host's request
     * to stop the vCPU was never seen: the VM could not be stopped. Once the host stops the vCPU
     * (for good: its results no longer matter) a long multicall or console write must end.
     */
    @Test
    void hugeAliasedMulticallEndsWhenTheHostStopsTheVcpu() {
        var p = new HypercallFuzzTest.FuzzPlatform();
        p.stopAfterNanos = 200_000_000L;
        XenDomain d = new XenDomain(p, XenDomain.Config.of(1));
        try {
            MemorySegment ram = p.ram().segment();
            HypercallFuzzTest.writeAliasedPageTables(ram);
            p.setPagingState(HypercallFuzzTest.aliasedPaging());
            for (long e = HypercallFuzzTest.ARGS; e < HypercallFuzzTest.ARGS + 16 * 4096; e += 64) {
                ram.set(ValueLayout.JAVA_LONG_UNALIGNED, e, Hypercall.CONSOLE_IO); // op
                ram.set(ValueLayout.JAVA_LONG_UNALIGNED, e + 16, org.jxen.abi.ConsoleIo.WRITE);
                ram.set(ValueLayout.JAVA_LONG_UNALIGNED, e + 24, 0xffff_ffffL); // count
                ram.set(ValueLayout.JAVA_LONG_UNALIGNED, e + 32, 0x7000_0000L); // buffer
            }
            HypercallRequest r = new HypercallRequest(0).set(Hypercall.MULTICALL, 0x4000_0000L, 0xffff_ffffL, 0, 0, 0, 0,
                    org.jxen.abi.WordSize.BITS_64, 0);
            p.callStart = System.nanoTime();
            long rc = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> d.dispatch(r));
            org.junit.jupiter.api.Assertions.assertTrue(rc == 0 || rc == -XenErrno.EINTR, "rc " + rc);
            r.set(Hypercall.CONSOLE_IO, org.jxen.abi.ConsoleIo.WRITE, 0xffff_ffffL, 0x7000_0000L, 0, 0, 0,
                    org.jxen.abi.WordSize.BITS_64, 0);
            p.callStart = System.nanoTime();
            long took = System.nanoTime();
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> d.dispatch(r));
            took = System.nanoTime() - took;
            org.junit.jupiter.api.Assertions.assertTrue(took < 1_000_000_000L, "a stopped console write took " + took / 1_000_000 + " ms");
        } finally {
            d.close();
            p.close();
        }
    }

    /**
     * A guest re-arms its timers and watchdogs at will, with deadlines of its choice: each re-arm
     * cancelled the old task on the domain's scheduler, but a cancelled task stayed in the
     * scheduler's queue until its deadline (up to 2^63 ns, or 2^32 s for a watchdog), so a guest
     * loop grew the host's heap without bound.
     */
    @Test
    void rearmedTimersAndWatchdogsDoNotPileUpOnTheScheduler() {
        GuestMemory m = platform.memory();
        m.putLong(ARGS, Long.MAX_VALUE); // singleshot deadline
        m.putInt(ARGS + 8, 0);
        m.putLong(ARGS + 16, Long.MAX_VALUE); // periodic period
        m.putInt(ARGS + 32, 0); // watchdog: take one
        m.putInt(ARGS + 36, -1); // 2^32 - 1 s
        long id = call(Hypercall.SCHED_OP, org.jxen.abi.SchedOp.WATCHDOG, ARGS + 32, 0);
        assertEquals(1, id);
        m.putInt(ARGS + 32, (int) id);
        for (int i = 0; i < 20_000; i++) {
            assertEquals(0, call(Hypercall.VCPU_OP, org.jxen.abi.VcpuOp.SET_SINGLESHOT_TIMER, 0, ARGS));
            assertEquals(0, call(Hypercall.VCPU_OP, org.jxen.abi.VcpuOp.SET_PERIODIC_TIMER, 0, ARGS + 16));
            assertEquals(0, call(Hypercall.SCHED_OP, org.jxen.abi.SchedOp.WATCHDOG, ARGS + 32, 0));
        }
        int queued = domain.scheduledHostTasks();
        org.junit.jupiter.api.Assertions.assertTrue(queued < 100, queued + " tasks queued on the domain's scheduler");
    }

    /**
     * A global VIRQ (console, debug) may be moved to another vCPU with bind_vcpu; closing it then
     * cleared the binding table at the new vCPU instead of where it was bound, so the stale entry
     * kept raising whatever port reused that number (here an IPI), and the VIRQ could never be bound
     * again (-EEXIST).
     */
    @Test
    void closingAMovedGlobalVirqForgetsItsBinding() {
        GuestMemory m = platform.memory();
        m.putInt(ARGS, org.jxen.abi.Virq.CONSOLE);
        m.putInt(ARGS + 4, 0);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, org.jxen.abi.EvtchnOp.BIND_VIRQ, ARGS, 0));
        int port = m.getInt(ARGS + 8);
        m.putInt(ARGS + 32, port);
        m.putInt(ARGS + 36, 1);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, org.jxen.abi.EvtchnOp.BIND_VCPU, ARGS + 32, 0));
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, org.jxen.abi.EvtchnOp.CLOSE, ARGS + 32, 0));
        assertEquals(port, bindIpi(1), "the port number is reused");
        org.junit.jupiter.api.Assertions.assertFalse(domain.raiseVirq(0, org.jxen.abi.Virq.CONSOLE),
                "VIRQ_CONSOLE is unbound");
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, org.jxen.abi.EvtchnOp.BIND_VIRQ, ARGS, 0));
    }

    /**
     * CONSOLEIO_read into a bad buffer took bytes from the console input and put them back after
     * the copy failed; the host's producer could refill the freed slots in between, so the bytes
     * put back overlapped new ones: the ring held more than its capacity, the guest later read
     * overwritten bytes, and offer() returned a negative count to the host.
     */
    @Test
    void consoleReadIntoABadBufferRacingTheHostsInput() throws Exception {
        ConsoleInput input = domain.consoleInput();
        byte[] bytes = new byte[ConsoleInput.CAPACITY];
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<String> broken = new java.util.concurrent.atomic.AtomicReference<>();
        Thread host = new Thread(() -> {
            while (!stop.get() && broken.get() == null) {
                int n = input.offer(bytes, 0, bytes.length);
                int available = input.available();
                if (n < 0 || available > ConsoleInput.CAPACITY) {
                    broken.set("offer gave " + n + ", " + available + " bytes waiting");
                }
            }
        }, "console-input");
        host.start();
        try {
            long end = System.nanoTime() + 2_000_000_000L;
            while (broken.get() == null && System.nanoTime() < end) {
                long rc = call(Hypercall.CONSOLE_IO, org.jxen.abi.ConsoleIo.READ, 4096, 0x200000); // beyond RAM
                org.junit.jupiter.api.Assertions.assertTrue(rc == 0 || rc == -XenErrno.EFAULT, "rc " + rc);
            }
        } finally {
            stop.set(true);
            host.join(5_000);
        }
        assertEquals(null, broken.get());
    }

    /**
     * vcpu_info could be registered at any offset where its 64 bytes fit; event delivery then did
     * an atomic 64-bit OR of the selector at a misaligned address, and the IllegalArgumentException
     * escaped the sending vCPU's hypercall (or a timer's or a backend's thread). As Xen, an offset
     * not aligned for the guest's vcpu_info is -ENXIO.
     */
    @Test
    void misalignedVcpuInfoIsRefusedAndDeliveryNeverThrows() {
        mapSharedInfo();
        setUpcallVector(0);
        GuestMemory m = platform.memory();
        long gfn = 0x30;
        m.putLong(ARGS, gfn);
        m.putInt(ARGS + 8, 0x104); // 4-aligned: good for a 32-bit guest, not a 64-bit one
        assertEquals(-XenErrno.ENXIO, call(Hypercall.VCPU_OP, org.jxen.abi.VcpuOp.REGISTER_VCPU_INFO, 0, ARGS));
        m.putInt(ARGS + 8, 0x101);
        assertEquals(-XenErrno.ENXIO, call32(Hypercall.VCPU_OP, org.jxen.abi.VcpuOp.REGISTER_VCPU_INFO, 0, ARGS));
        m.putInt(ARGS + 8, 0x104);
        assertEquals(0, call32(Hypercall.VCPU_OP, org.jxen.abi.VcpuOp.REGISTER_VCPU_INFO, 0, ARGS));
        int port = bindIpi(0); // 64-bit from here on: the 4-aligned vcpu_info now has an 8-byte selector
        assertEquals(0, send(port));
        long vi = (gfn << 12) + 0x104;
        assertEquals(1, m.getByte(vi), "upcall pending");
        assertEquals(1L << (port / 64), m.getLong(vi + 8), "the selector bit");
    }
}

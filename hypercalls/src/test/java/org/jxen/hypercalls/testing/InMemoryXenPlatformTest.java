package org.jxen.hypercalls.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jxen.abi.Hypercall;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenVersion;
import org.jxen.gpc.HostMemory;
import org.jxen.gpc.Memslot;
import org.jxen.hypercalls.XenDomain;
import org.junit.jupiter.api.Test;

/** The fixture itself: what the platform owns and releases, the upcall sinks, the driver's results and errors. */
class InMemoryXenPlatformTest {
    static final long ARGS = 0x10000;

    @Test
    void closeReleasesTheMemoryItOwnsAndOnlyThat() {
        InMemoryXenPlatform p = new InMemoryXenPlatform("t", UpcallSink.ACCEPT, InMemoryXenPlatform.Console.DROP);
        try (HostMemory foreign = HostMemory.offHeap("foreign", 2 * HostMemory.PAGE_SIZE)) {
            HostMemory ram = p.addRam(0, 1 << 20);
            HostMemory rom = p.addRom(1 << 20, HostMemory.PAGE_SIZE);
            p.addSlotOver(2 << 20, HostMemory.PAGE_SIZE, foreign, HostMemory.PAGE_SIZE);
            assertEquals(List.of(0, 1, 2), p.memory().currentMap().slots().stream().map(Memslot::id).sorted().toList());
            assertTrue((p.memory().currentMap().byId(1).flags() & Memslot.READONLY) != 0, "ROM is read-only");
            assertEquals(ram, p.ram());
            p.close();
            assertTrue(p.memory().currentMap().slots().isEmpty());
            assertTrue(ram.isClosed() && rom.isClosed());
            assertFalse(foreign.isClosed(), "the caller's memory stays open");
            assertEquals(0, foreign.mappedBySlots());
            p.close();
        }
    }

    @Test
    void sinksCountAndRecordAsDocumented() {
        UpcallSink.Counter plain = new UpcallSink.Counter();
        UpcallSink.AtomicCounter one = UpcallSink.AtomicCounter.of(0, 0xf3);
        UpcallSink.AtomicCounter all = UpcallSink.AtomicCounter.all();
        UpcallSink.Recorder recorder = new UpcallSink.Recorder();
        for (UpcallSink s : List.of(plain, one, all, recorder, UpcallSink.ACCEPT)) {
            assertTrue(s.deliver(0, 0xf3));
            assertTrue(s.deliver(1, 0xf3));
            assertTrue(s.deliver(0, 0xf2));
        }
        assertEquals(3, plain.count());
        assertEquals(1, one.count(), "only vCPU 0's 0xf3");
        assertEquals(3, all.count());
        assertEquals(List.of("0:243", "1:243", "0:242"), recorder.upcalls());
        one.reset();
        recorder.clear();
        assertEquals(0, one.count());
        assertEquals(List.of(), recorder.upcalls());
    }

    @Test
    void theDriverSetsUpAGuestAndReportsResultsAndErrors() {
        UpcallSink.Recorder upcalls = new UpcallSink.Recorder();
        InMemoryXenPlatform p = new InMemoryXenPlatform("t", upcalls, InMemoryXenPlatform.Console.KEEP);
        p.addRam(0, 1 << 20);
        XenDomain domain = new XenDomain(p, XenDomain.Config.of(2));
        try {
            DomainDriver guest = new DomainDriver(domain, p.memory(), ARGS);
            guest.mapSharedInfo(0x20);
            guest.setUpcallVector(1, 0xf3);
            int port = guest.bindIpi(1);
            assertEquals(1, port);
            assertEquals(0, guest.send(port));
            assertEquals(List.of("1:243"), upcalls.upcalls());
            assertEquals(-XenErrno.EINVAL, guest.send(4000));
            assertTrue(guest.call(Hypercall.XEN_VERSION, XenVersion.VERSION, 0) > 0);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> guest.bindIpi(7));
            assertTrue(e.getMessage().startsWith("event_channel_op bind_ipi returned -"), e.getMessage());

            byte[] hello = "hi\n".getBytes(StandardCharsets.US_ASCII);
            p.consoleWrite(hello, 0, hello.length);
            assertArrayEquals(hello, p.console());
            assertEquals(-1, p.shutdownReason());
        } finally {
            domain.close();
            p.close();
        }
    }
}

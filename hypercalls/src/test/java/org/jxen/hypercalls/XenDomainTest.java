package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.HvmOp;
import org.jxen.abi.HvmParam;
import org.jxen.abi.Hypercall;
import org.jxen.abi.SchedOp;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuInfo;
import org.jxen.abi.VcpuOp;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenMapSpace;
import org.jxen.abi.XenMem;
import org.jxen.abi.XenVersion;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.mm.PagingState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The domain's hypercalls in-process: a platform in memory, paging off (gva = gpa). */
class XenDomainTest extends DomainTestBase {

    @Test
    void xenVersionAndStrings() {
        assertEquals((4 << 16) | 17, call(Hypercall.XEN_VERSION, XenVersion.VERSION, 0, 0));
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.EXTRAVERSION, ARGS, 0));
        byte[] b = new byte[16];
        platform.memory().read(ARGS, java.lang.foreign.MemorySegment.ofArray(b));
        assertEquals(".0-jxen", new String(b, StandardCharsets.US_ASCII).trim().replace("\0", ""));
        assertEquals(4096, call(Hypercall.XEN_VERSION, XenVersion.PAGESIZE, 0, 0));
        assertEquals(-XenErrno.EFAULT, call(Hypercall.XEN_VERSION, XenVersion.EXTRAVERSION, 0x7fff_0000_0000L, 0),
                "a bad pointer is -EFAULT, not an exception");
        assertEquals(-XenErrno.ENOSYS, call(47, 0, 0, 0));
    }

    @Test
    void consoleWriteGoesToThePlatform() {
        byte[] text = "hello from the guest\n".getBytes(StandardCharsets.US_ASCII);
        platform.memory().write(ARGS, java.lang.foreign.MemorySegment.ofArray(text));
        assertEquals(0, call(Hypercall.CONSOLE_IO, 0, text.length, ARGS));
        assertEquals("hello from the guest\n", new String(platform.console(), StandardCharsets.US_ASCII));
        assertEquals(-XenErrno.EFAULT, call(Hypercall.CONSOLE_IO, 0, 100, (1 << 20) - 10), "runs past the end of RAM");
    }

    @Test
    void ipiSetsPendingSelectorAndUpcallAndDeliversTheVectorOnce() {
        mapSharedInfo();
        setUpcallVector(0);
        int port = bindIpi(0);
        assertTrue(port > 0);
        assertEquals(0, send(port));
        GuestMemory m = platform.memory();
        long si = sharedInfoGpa();
        assertEquals(1L << port, m.getLong(si + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_64)));
        long vi = si + SharedInfo.offsetOfVcpuInfo(WordSize.BITS_64, 0);
        assertEquals(1, m.getByte(vi + VcpuInfo.offsetOfEvtchnUpcallPending(WordSize.BITS_64)));
        assertEquals(1L, m.getLong(vi + VcpuInfo.offsetOfEvtchnPendingSel(WordSize.BITS_64)));
        assertEquals(List.of("0:" + VECTOR), upcalls());
        assertEquals(0, send(port));
        assertEquals(1, upcalls().size(), "already pending: no second upcall");
    }

    @Test
    void maskedPortIsPendingWithoutUpcallAndUnmaskRedelivers() {
        mapSharedInfo();
        setUpcallVector(0);
        int port = bindIpi(0);
        long si = sharedInfoGpa();
        platform.memory().putLong(si + SharedInfo.offsetOfEvtchnMask(WordSize.BITS_64), 1L << port);
        assertEquals(0, send(port));
        assertEquals(1L << port, platform.memory().getLong(si + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_64)));
        assertEquals(List.of(), upcalls(), "scenario 5: masked, no upcall");
        platform.memory().putInt(ARGS + 64, port);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.UNMASK, ARGS + 64, 0));
        assertEquals(List.of("0:" + VECTOR), upcalls(), "scenario 6: unmask re-delivers");
    }

    @Test
    void eventsRaisedBeforeSharedInfoIsMappedAreDeliveredLater() {
        setUpcallVector(1);
        int port = bindIpi(1);
        domain.raise(port);
        assertEquals(1, domain.eventChannels().deferredCount());
        mapSharedInfo();
        // delivered by the mapping's flush, or by the domain thread's retry if it held the event then
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (upcalls().isEmpty() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(List.of("1:" + VECTOR), upcalls());
        assertEquals(0, domain.eventChannels().deferredCount());
    }

    @Test
    void loopbackInterdomainChannelRaisesThePeer() {
        mapSharedInfo();
        setUpcallVector(0);
        GuestMemory m = platform.memory();
        m.putShort(ARGS, (short) 0x7ff0);
        m.putShort(ARGS + 2, (short) 0x7ff0);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.ALLOC_UNBOUND, ARGS, 0));
        int unbound = m.getInt(ARGS + 4);
        m.putShort(ARGS + 32, (short) 0x7ff0);
        m.putInt(ARGS + 36, unbound);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_INTERDOMAIN, ARGS + 32, 0));
        int local = m.getInt(ARGS + 40);
        assertEquals(0, send(local));
        long pending = m.getLong(sharedInfoGpa() + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_64));
        assertEquals(1L << unbound, pending, "scenario 9: the peer port is pending, not the sender");
        // status of the local port
        m.putShort(ARGS + 96, (short) 0x7ff0);
        m.putInt(ARGS + 100, local);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.STATUS, ARGS + 96, 0));
        assertEquals(2, m.getInt(ARGS + 104), "EVTCHNSTAT_interdomain");
        assertEquals(unbound, m.getInt(ARGS + 116));
    }

    @Test
    void registeredVcpuInfoAtAnOffsetReceivesTheEvents() {
        mapSharedInfo();
        setUpcallVector(0);
        GuestMemory m = platform.memory();
        long gfn = 0x30;
        m.putLong(ARGS, gfn);
        m.putInt(ARGS + 8, 0x140);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_INFO, 0, ARGS));
        int port = bindIpi(0);
        assertEquals(0, send(port));
        long vi = (gfn << 12) + 0x140;
        assertEquals(1, m.getByte(vi));
        assertEquals(1L, m.getLong(vi + 8));
        m.putInt(ARGS + 8, 4096 - 32);
        assertEquals(-XenErrno.EINVAL, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_INFO, 1, ARGS),
                "64 bytes must fit in the page");
    }

    @Test
    void movingVcpuInfoCarriesPendingEventsAndTheMask() {
        mapSharedInfo();
        setUpcallVector(1);
        GuestMemory m = platform.memory();
        int port = bindIpi(1);
        long old = sharedInfoGpa() + SharedInfo.offsetOfVcpuInfo(WordSize.BITS_64, 1);
        m.putByte(old + 1, (byte) 1); // the guest masks upcalls
        assertEquals(0, send(port));
        assertEquals(1, m.getByte(old), "pending in the default place");
        m.putByte(old, (byte) 0); // the guest takes the upcall but not yet the selector word
        assertEquals(1, upcalls().size());
        long gfn = 0x31;
        m.putLong(ARGS, gfn);
        m.putInt(ARGS + 8, 0x80);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_INFO, 1, ARGS));
        long vi = (gfn << 12) + 0x80;
        assertEquals(1, m.getByte(vi + 1), "the mask moved");
        assertEquals(1L << (port / 64), m.getLong(vi + 8), "the selector word moved");
        assertEquals(1, m.getByte(vi), "a pending selector makes the upcall pending again");
        assertEquals(2, upcalls().size(), "and delivers it");
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_INFO, 1, ARGS) + XenErrno.EINVAL,
                "a second registration is refused");
    }

    @Test
    void registeringVcpuInfoWithNothingPendingDeliversNothing() {
        mapSharedInfo();
        setUpcallVector(0);
        GuestMemory m = platform.memory();
        m.putLong(ARGS, 0x32);
        m.putInt(ARGS + 8, 0);
        m.putLong(0x32000, -1L); // garbage in the new place is replaced by the vCPU's state
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_INFO, 0, ARGS));
        assertEquals(0, m.getByte(0x32000), "upcall_pending");
        assertEquals(0, m.getByte(0x32001), "upcall_mask");
        assertEquals(List.of(), upcalls());
    }

    @Test
    void eventsForAVcpuWithoutVcpuInfoWaitForItsRegistration() {
        domain.close();
        domain = new XenDomain(platform, XenDomain.Config.of(40)); // vCPU 35 has no slot in shared_info
        mapSharedInfo();
        GuestMemory m = platform.memory();
        m.putInt(ARGS, 35);
        m.putByte(ARGS + 4, (byte) VECTOR);
        assertEquals(0, call(Hypercall.HVM_OP, HvmOp.SET_EVTCHN_UPCALL_VECTOR, ARGS, 0));
        int port = bindIpi(35);
        byte[] before = new byte[4096];
        m.read(sharedInfoGpa(), java.lang.foreign.MemorySegment.ofArray(before));
        assertEquals(0, send(port));
        byte[] after = new byte[4096];
        m.read(sharedInfoGpa(), java.lang.foreign.MemorySegment.ofArray(after));
        long pendingWord = sharedInfoGpa() + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_64) + 8L * (port / 64);
        assertEquals(1L << (port % 64), m.getLong(pendingWord), "the port is pending");
        after[(int) (pendingWord - sharedInfoGpa()) + (port % 64) / 8] = before[(int) (pendingWord - sharedInfoGpa()) + (port % 64) / 8];
        org.junit.jupiter.api.Assertions.assertArrayEquals(before, after, "nothing else of shared_info was written");
        assertEquals(List.of(), upcalls());
        m.putLong(ARGS, 0x33);
        m.putInt(ARGS + 8, 0x40);
        assertEquals(0, call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_INFO, 35, ARGS));
        assertEquals(1, m.getByte(0x33040), "pending once it has a vcpu_info");
        assertEquals(1L << (port / 64), m.getLong(0x33048));
        assertEquals(List.of("35:" + VECTOR), upcalls());
    }

    @Test
    void thirtyTwoBitGuestsUse32BitWords() {
        GuestMemory m = platform.memory();
        m.putShort(ARGS, (short) 0x7ff0);
        m.putInt(ARGS + 4, XenMapSpace.SHARED_INFO);
        m.putInt(ARGS + 8, 0);
        m.putInt(ARGS + 12, (int) SHARED_INFO_GFN);
        assertEquals(0, call32(Hypercall.MEMORY_OP, XenMem.ADD_TO_PHYSMAP, ARGS, 0));
        m.putInt(ARGS, 0);
        m.putByte(ARGS + 4, (byte) VECTOR);
        assertEquals(0, call32(Hypercall.HVM_OP, HvmOp.SET_EVTCHN_UPCALL_VECTOR, ARGS, 0));
        int last = 0;
        for (int i = 0; i < 40; i++) {
            m.putInt(ARGS, 0);
            assertEquals(0, call32(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_IPI, ARGS, 0));
            last = m.getInt(ARGS + 4);
        }
        assertEquals(40, last);
        m.putInt(ARGS + 64, last);
        assertEquals(0, call32(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.SEND, ARGS + 64, 0));
        long si = sharedInfoGpa();
        assertEquals(1 << (40 - 32), m.getInt(si + SharedInfo.offsetOfEvtchnPending(WordSize.BITS_32) + 4),
                "port 40 is bit 8 of 32-bit word 1");
        long vi = si + SharedInfo.offsetOfVcpuInfo(WordSize.BITS_32, 0);
        assertEquals(1 << 1, m.getInt(vi + VcpuInfo.offsetOfEvtchnPendingSel(WordSize.BITS_32)));
    }

    @Test
    void hvmParamsAndShutdown() {
        GuestMemory m = platform.memory();
        m.putShort(ARGS, (short) 0x7ff0);
        m.putInt(ARGS + 4, HvmParam.CALLBACK_IRQ);
        m.putLong(ARGS + 8, (2L << 56) | 0xf0);
        assertEquals(0, call(Hypercall.HVM_OP, HvmOp.SET_PARAM, ARGS, 0));
        m.putLong(ARGS + 8, 0);
        assertEquals(0, call(Hypercall.HVM_OP, HvmOp.GET_PARAM, ARGS, 0));
        assertEquals((2L << 56) | 0xf0, m.getLong(ARGS + 8));
        m.putInt(ARGS + 4, 99);
        assertEquals(-XenErrno.EINVAL, call(Hypercall.HVM_OP, HvmOp.SET_PARAM, ARGS, 0));
        m.putInt(ARGS + 4, HvmParam.STORE_PFN);
        assertEquals(-XenErrno.EPERM, call(Hypercall.HVM_OP, HvmOp.SET_PARAM, ARGS, 0));
        // the global callback vector reaches the vCPU with the event
        mapSharedInfo();
        int port = bindIpi(1);
        assertEquals(0, send(port));
        assertEquals(List.of("1:" + 0xf0), upcalls());
        m.putInt(ARGS, 3); // SHUTDOWN_crash
        assertEquals(0, call(Hypercall.SCHED_OP, SchedOp.SHUTDOWN, ARGS, 0));
        assertEquals(3, platform.shutdownReason());
    }

    @Test
    void remappingSharedInfoKeepsPendingBitsAndUnboundPortsNeverBecomePending() {
        mapSharedInfo();
        int port = bindIpi(0);
        domain.raise(port);
        domain.raise(port + 5); // not bound: ignored, as in Xen
        long pendingOff = SharedInfo.offsetOfEvtchnPending(WordSize.BITS_64);
        assertEquals(1L << port, platform.memory().getLong(sharedInfoGpa() + pendingOff));
        GuestMemory m = platform.memory();
        m.putShort(ARGS, (short) 0x7ff0);
        m.putInt(ARGS + 4, XenMapSpace.SHARED_INFO);
        m.putLong(ARGS + 8, 0);
        m.putLong(ARGS + 16, SHARED_INFO_GFN + 1);
        assertEquals(0, call(Hypercall.MEMORY_OP, XenMem.ADD_TO_PHYSMAP, ARGS, 0));
        assertEquals(1L << port, platform.memory().getLong(((SHARED_INFO_GFN + 1) << 12) + pendingOff),
                "the pending bit moved with shared_info");
    }
}

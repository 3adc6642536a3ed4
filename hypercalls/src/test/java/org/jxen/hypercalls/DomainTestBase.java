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

/** The in-process fixture of domain tests: a platform in memory, paging off (gva = gpa). */
abstract class DomainTestBase {
    static final long ARGS = 0x10000;
    static final long SHARED_INFO_GFN = 0x20;
    static final int VECTOR = 0xf3;

    /** A platform in memory that records upcalls, console output and shutdowns. */
    static final class MemoryPlatform implements XenPlatform {
        final HostMemory ram = HostMemory.offHeap("ram", 1 << 20);
        final GuestMemory memory = new GuestMemory("test");
        final List<String> upcalls = new ArrayList<>();
        final ByteArrayOutputStream console = new ByteArrayOutputStream();
        volatile int shutdownReason = -1;

        MemoryPlatform() {
            memory.addSlot(0, 0, ram.size(), ram, 0, 0);
        }

        @Override
        public GuestMemory memory() {
            return memory;
        }

        @Override
        public PagingState pagingState(int vcpuId) {
            return PagingState.pagingOff();
        }

        @Override
        public synchronized boolean deliverVector(int vcpuId, int vector) {
            upcalls.add(vcpuId + ":" + vector);
            return true;
        }

        @Override
        public long monotonicNanos() {
            return System.nanoTime();
        }

        @Override
        public synchronized void consoleWrite(byte[] bytes, int offset, int length) {
            console.write(bytes, offset, length);
        }

        @Override
        public void shutdown(int vcpuId, int reason) {
            shutdownReason = reason;
        }

        synchronized List<String> upcalls() {
            return List.copyOf(upcalls);
        }
    }

    MemoryPlatform platform;
    XenDomain domain;
    HypercallRequest request;

    @BeforeEach
    void setUp() {
        platform = new MemoryPlatform();
        domain = new XenDomain(platform, XenDomain.Config.of(2));
        request = new HypercallRequest(0);
    }

    @AfterEach
    void tearDown() {
        domain.close();
        platform.memory.removeSlot(0);
        platform.ram.close();
    }

    long call(int nr, long a0, long a1, long a2) {
        return domain.dispatch(request.set(nr, a0, a1, a2, 0, 0, 0, WordSize.BITS_64, 0));
    }

    long call32(int nr, long a0, long a1, long a2) {
        return domain.dispatch(request.set(nr, a0, a1, a2, 0, 0, 0, WordSize.BITS_32, 0));
    }

    void mapSharedInfo() {
        GuestMemory m = platform.memory;
        m.putShort(ARGS, (short) 0x7ff0); // DOMID_SELF
        m.putInt(ARGS + 4, XenMapSpace.SHARED_INFO);
        m.putLong(ARGS + 8, 0);
        m.putLong(ARGS + 16, SHARED_INFO_GFN);
        assertEquals(0, call(Hypercall.MEMORY_OP, XenMem.ADD_TO_PHYSMAP, ARGS, 0));
    }

    void setUpcallVector(int vcpu) {
        platform.memory.putInt(ARGS, vcpu);
        platform.memory.putByte(ARGS + 4, (byte) VECTOR);
        assertEquals(0, call(Hypercall.HVM_OP, HvmOp.SET_EVTCHN_UPCALL_VECTOR, ARGS, 0));
    }

    int bindIpi(int vcpu) {
        platform.memory.putInt(ARGS, vcpu);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_IPI, ARGS, 0));
        return platform.memory.getInt(ARGS + 4);
    }

    long send(int port) {
        platform.memory.putInt(ARGS + 64, port);
        return call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.SEND, ARGS + 64, 0);
    }

    long sharedInfoGpa() {
        return SHARED_INFO_GFN << 12;
    }

}

package org.jxen.vmm.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jxen.abi.EvtchnOp;
import org.jxen.abi.HvmOp;
import org.jxen.abi.Hypercall;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenMapSpace;
import org.jxen.abi.XenMem;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.HypercallRequest;
import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.XenPlatform;
import org.jxen.hypercalls.mm.PagingState;

/**
 * A Xen domain on a platform in memory (1 MiB of RAM at gpa 0, paging off, upcalls counted), driven
 * the way a guest drives it: by hypercalls with arguments in guest memory. For the monitor's tests.
 *
 * <p>Threads: the test's thread calls the hypercalls (it plays vCPU 0); timers fire on the domain's.
 */
final class InMemoryDomain implements AutoCloseable {
    static final long ARGS = 0x10000;
    static final long SHARED_INFO_GFN = 0x20;
    static final int VECTOR = 0xf3;

    final HostMemory ram = HostMemory.offHeap("ram", 1 << 20);
    final GuestMemory memory = new GuestMemory("monitor-test");
    volatile int upcalls;
    final XenDomain domain;
    private final HypercallRequest request = new HypercallRequest(0);

    InMemoryDomain(int vcpus) {
        memory.addSlot(0, 0, ram.size(), ram, 0, 0);
        domain = new XenDomain(new XenPlatform() {
            @Override
            public GuestMemory memory() {
                return memory;
            }

            @Override
            public PagingState pagingState(int vcpuId) {
                return PagingState.pagingOff();
            }

            @Override
            public boolean deliverVector(int vcpuId, int vector) {
                synchronized (InMemoryDomain.this) {
                    upcalls++;
                }
                return true;
            }

            @Override
            public long monotonicNanos() {
                return System.nanoTime();
            }

            @Override
            public void consoleWrite(byte[] bytes, int offset, int length) {
            }

            @Override
            public void shutdown(int vcpuId, int reason) {
            }
        }, XenDomain.Config.of(vcpus));
    }

    long call(int nr, long a0, long a1) {
        return domain.dispatch(request.set(nr, a0, a1, 0, 0, 0, 0, WordSize.BITS_64, 0));
    }

    void mapSharedInfo() {
        memory.putShort(ARGS, (short) 0x7ff0); // DOMID_SELF
        memory.putInt(ARGS + 4, XenMapSpace.SHARED_INFO);
        memory.putLong(ARGS + 8, 0);
        memory.putLong(ARGS + 16, SHARED_INFO_GFN);
        assertEquals(0, call(Hypercall.MEMORY_OP, XenMem.ADD_TO_PHYSMAP, ARGS));
    }

    void setUpcallVector(int vcpu) {
        memory.putInt(ARGS, vcpu);
        memory.putByte(ARGS + 4, (byte) VECTOR);
        assertEquals(0, call(Hypercall.HVM_OP, HvmOp.SET_EVTCHN_UPCALL_VECTOR, ARGS));
    }

    int bindIpi(int vcpu) {
        memory.putInt(ARGS, vcpu);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_IPI, ARGS));
        return memory.getInt(ARGS + 4);
    }

    int bindVirq(int virq, int vcpu) {
        memory.putInt(ARGS, virq);
        memory.putInt(ARGS + 4, vcpu);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_VIRQ, ARGS));
        return memory.getInt(ARGS + 8);
    }

    long send(int port) {
        memory.putInt(ARGS + 64, port);
        return call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.SEND, ARGS + 64);
    }

    @Override
    public void close() {
        domain.close();
        memory.removeSlot(0);
        ram.close();
    }
}

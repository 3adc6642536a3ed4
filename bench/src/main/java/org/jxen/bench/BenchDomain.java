package org.jxen.bench;

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
 * A Xen domain in memory for the in-process hypercall benchmarks: 1 MiB of guest RAM at gpa 0,
 * paging off (guest-virtual = guest-physical), shared_info at gfn 0x20, upcall vector 0xf3 on
 * vCPU 0, and optionally the FIFO ABI (control block at gfn 0x30, one event-array page at 0x40).
 * The platform counts upcalls and does nothing else.
 *
 * <p>Threads: built and used by one benchmark thread.
 */
final class BenchDomain implements AutoCloseable {
    static final long ARGS = 0x10000;
    static final long SHARED_INFO_GFN = 0x20;
    static final long CONTROL_BLOCK_GFN = 0x30;
    static final long ARRAY_GFN = 0x40;
    static final int VECTOR = 0xf3;

    /** A platform that counts upcalls. */
    static final class Platform implements XenPlatform {
        final HostMemory ram = HostMemory.offHeap("bench-domain", 1 << 20);
        final GuestMemory memory = new GuestMemory("bench-domain");
        long upcalls;

        Platform() {
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
        public boolean deliverVector(int vcpuId, int vector) {
            upcalls++;
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
    }

    final Platform platform = new Platform();
    final XenDomain domain = new XenDomain(platform, XenDomain.Config.of(1));
    final HypercallRequest request = new HypercallRequest(0);

    BenchDomain(boolean fifo) {
        GuestMemory m = platform.memory;
        m.putShort(ARGS, (short) 0x7ff0);
        m.putInt(ARGS + 4, XenMapSpace.SHARED_INFO);
        m.putLong(ARGS + 8, 0);
        m.putLong(ARGS + 16, SHARED_INFO_GFN);
        check(call(Hypercall.MEMORY_OP, XenMem.ADD_TO_PHYSMAP, ARGS), "add_to_physmap");
        m.putInt(ARGS, 0);
        m.putByte(ARGS + 4, (byte) VECTOR);
        check(call(Hypercall.HVM_OP, HvmOp.SET_EVTCHN_UPCALL_VECTOR, ARGS), "set_evtchn_upcall_vector");
        if (fifo) {
            m.putLong(ARGS, CONTROL_BLOCK_GFN);
            m.putInt(ARGS + 8, 0);
            m.putInt(ARGS + 12, 0);
            check(call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.INIT_CONTROL, ARGS), "init_control");
            m.putLong(ARGS, ARRAY_GFN);
            check(call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.EXPAND_ARRAY, ARGS), "expand_array");
        }
    }

    long call(int nr, long a0, long a1) {
        return domain.dispatch(request.set(nr, a0, a1, 0, 0, 0, 0, WordSize.BITS_64, 0));
    }

    int bindIpi() {
        platform.memory.putInt(ARGS, 0);
        check(call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_IPI, ARGS), "bind_ipi");
        return platform.memory.getInt(ARGS + 4);
    }

    static void check(long rc, String what) {
        if (rc != 0) {
            throw new IllegalStateException(what + " returned " + rc);
        }
    }

    @Override
    public void close() {
        domain.close();
        platform.memory.removeSlot(0);
        platform.ram.close();
    }
}

package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.jxen.abi.EvtchnFifo;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.Hypercall;
import org.jxen.gpc.GuestMemory;

/**
 * In-process fixture for the FIFO event-channel tests: a 2-vCPU domain with shared_info mapped
 * (vcpu_info in it), an upcall vector per vCPU, control blocks in frame {@link #CB_GFN} and
 * event-array pages from frame {@link #ARRAY_GFN} on, and a {@link FifoGuestModel} over them that
 * records the ports it handles.
 */
abstract class FifoTestBase extends DomainTestBase {
    static final long FIFO_ARGS = ARGS + 0x200;
    static final long CB_GFN = 0x30;
    static final long[] CB_OFFSET = {0x40, 0x800};
    static final long ARRAY_GFN = 0x40;
    static final int MAX_PAGES_USED = 8;

    final List<Integer> handled = new ArrayList<>();
    FifoGuestModel guest;

    GuestMemory mem() {
        return platform.memory();
    }

    long initControl(int vcpu, long gfn, long offset) {
        mem().putLong(FIFO_ARGS, gfn);
        mem().putInt(FIFO_ARGS + 8, (int) offset);
        mem().putInt(FIFO_ARGS + 12, vcpu);
        mem().putByte(FIFO_ARGS + 16, (byte) 0x5a);
        return call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.INIT_CONTROL, FIFO_ARGS, 0);
    }

    int linkBitsOut() {
        return mem().getByte(FIFO_ARGS + 16) & 0xff;
    }

    long expandArray(long gfn) {
        mem().putLong(FIFO_ARGS + 32, gfn);
        return call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.EXPAND_ARRAY, FIFO_ARGS + 32, 0);
    }

    long setPriority(int port, long priority) {
        mem().putInt(FIFO_ARGS + 48, port);
        mem().putInt(FIFO_ARGS + 52, (int) priority);
        return call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.SET_PRIORITY, FIFO_ARGS + 48, 0);
    }

    long unmaskHypercall(int port) {
        mem().putInt(FIFO_ARGS + 64, port);
        return call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.UNMASK, FIFO_ARGS + 64, 0);
    }

    private final HypercallRequest[] vcpuRequests = {new HypercallRequest(0), new HypercallRequest(1)};

    /** EVTCHNOP_unmask made by vCPU {@code vcpu} (its own request and argument area: any thread may be that vCPU's). */
    long unmaskOn(int vcpu, int port) {
        long arg = FIFO_ARGS + 0x100 + 0x40L * vcpu;
        mem().putInt(arg, port);
        return domain.dispatch(vcpuRequests[vcpu].set(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.UNMASK, arg, 0, 0, 0, 0,
                org.jxen.abi.WordSize.BITS_64, 0));
    }

    long close(int port) {
        mem().putInt(FIFO_ARGS + 64, port);
        return call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.CLOSE, FIFO_ARGS + 64, 0);
    }

    long bindVcpu(int port, int vcpu) {
        mem().putInt(FIFO_ARGS + 64, port);
        mem().putInt(FIFO_ARGS + 68, vcpu);
        return call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_VCPU, FIFO_ARGS + 64, 0);
    }

    long reset() {
        mem().putShort(FIFO_ARGS + 64, (short) 0x7ff0);
        return call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.RESET, FIFO_ARGS + 64, 0);
    }

    /** A loopback interdomain pair; returns {unbound end, bound end}. Both are bound and may move vCPU. */
    int[] loopbackPair() {
        mem().putShort(FIFO_ARGS + 80, (short) 0x7ff0);
        mem().putShort(FIFO_ARGS + 82, (short) 0x7ff0);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.ALLOC_UNBOUND, FIFO_ARGS + 80, 0));
        int unbound = mem().getInt(FIFO_ARGS + 84);
        mem().putShort(FIFO_ARGS + 96, (short) 0x7ff0);
        mem().putInt(FIFO_ARGS + 100, unbound);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_INTERDOMAIN, FIFO_ARGS + 96, 0));
        return new int[] {unbound, mem().getInt(FIFO_ARGS + 104)};
    }

    long controlBlockGpa(int vcpu) {
        return (CB_GFN << 12) + CB_OFFSET[vcpu];
    }

    long arrayPageGpa(int page) {
        return (ARRAY_GFN + page) << 12;
    }

    /** shared_info, upcall vectors on both vCPUs, both control blocks, {@code pages} event-array pages. */
    void setUpFifo(int pages) {
        mapSharedInfo();
        setUpcallVector(0);
        setUpcallVector(1);
        assertEquals(0, initControl(0, CB_GFN, CB_OFFSET[0]));
        assertEquals(0, initControl(1, CB_GFN, CB_OFFSET[1]));
        for (int i = 0; i < pages; i++) {
            assertEquals(0, expandArray(ARRAY_GFN + i));
        }
        newGuestModel();
    }

    void newGuestModel() {
        long[] pages = new long[MAX_PAGES_USED];
        for (int i = 0; i < pages.length; i++) {
            pages[i] = arrayPageGpa(i);
        }
        guest = new FifoGuestModel(mem(), new FifoGuestModel.Layout(sharedInfoGpa(),
                new long[] {controlBlockGpa(0), controlBlockGpa(1)}, pages), 2, handled::add,
                (vcpu, port) -> (int) unmaskOn(vcpu, port));
    }

    int word(int port) {
        return guest.word(port);
    }

    static int link(int word) {
        return word & EvtchnFifo.LINK_MASK;
    }
}

package org.jxen.hypercalls.testing;

import org.jxen.abi.Evtchn;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.GnttabOp;
import org.jxen.abi.HvmOp;
import org.jxen.abi.Hypercall;
import org.jxen.abi.SchedOp;
import org.jxen.abi.VcpuOp;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenMapSpace;
import org.jxen.abi.XenMem;
import org.jxen.gpc.GuestMemory;
import org.jxen.hypercalls.HypercallRequest;
import org.jxen.hypercalls.XenDomain;

/**
 * The guest's side of a {@link XenDomain} in memory: hypercalls made as one vCPU makes them, with
 * their argument structures written into guest memory at an area the driver owns,
 * {@code [args, args + 128)} (paging off: the guest-virtual address is the guest-physical one).
 *
 * <p>Errors: {@link #call} returns the Xen result (negative: an errno); {@link #check} makes the same
 * call and throws {@link IllegalStateException} naming the hypercall and its result when that is
 * negative. The set-up steps ({@link #mapSharedInfo}, {@link #bindIpi}, ...) are checked: a guest
 * cannot go on without them. {@link #send} and {@link #unmask} return the result for the caller
 * to judge.
 *
 * <p>Threads: one thread at a time, the one playing the vCPU (the driver reuses one request and
 * its argument area).
 */
public final class DomainDriver {
    /** Where {@link #send} and {@link #unmask} put their port, apart from the set-up structures. */
    private static final long PORT_ARG = 64;

    private final XenDomain domain;
    private final GuestMemory memory;
    private final long args;
    private final HypercallRequest request;

    /** A driver for vCPU 0 with its argument area at guest-physical {@code args}. */
    public DomainDriver(XenDomain domain, GuestMemory memory, long args) {
        this(domain, memory, 0, args);
    }

    /** A driver for vCPU {@code vcpuId} with its argument area at guest-physical {@code args}. */
    public DomainDriver(XenDomain domain, GuestMemory memory, int vcpuId, long args) {
        this.domain = domain;
        this.memory = memory;
        this.args = args;
        this.request = new HypercallRequest(vcpuId);
    }

    // ------------------------------------------------------------------ any hypercall

    /** Hypercall {@code nr} from a 64-bit guest; returns the Xen result. */
    public long call(int nr, long a0, long a1) {
        return call(WordSize.BITS_64, nr, a0, a1, 0);
    }

    /** Hypercall {@code nr} from a 64-bit guest; returns the Xen result. */
    public long call(int nr, long a0, long a1, long a2) {
        return call(WordSize.BITS_64, nr, a0, a1, a2);
    }

    /** Hypercall {@code nr} from a guest of word size {@code w}; returns the Xen result. */
    public long call(WordSize w, int nr, long a0, long a1, long a2) {
        return domain.dispatch(request.set(nr, a0, a1, a2, 0, 0, 0, w, 0));
    }

    /** {@link #call(int, long, long, long)}, throwing when the result is negative; returns it otherwise. */
    public long check(int nr, long a0, long a1, long a2) {
        long rc = call(nr, a0, a1, a2);
        if (rc < 0) {
            throw new IllegalStateException(name(nr, a0) + " returned " + rc + " (" + XenErrno.nameOfResult(rc) + ")");
        }
        return rc;
    }

    /** A hypercall's Xen name and, for the multiplexed ones, its sub-op's: "event_channel_op bind_ipi". */
    static String name(int nr, long a0) {
        int cmd = (int) a0;
        String op = switch (nr) {
            case Hypercall.MEMORY_OP -> XenMem.name(cmd);
            case Hypercall.EVENT_CHANNEL_OP -> EvtchnOp.name(cmd);
            case Hypercall.HVM_OP -> HvmOp.name(cmd);
            case Hypercall.VCPU_OP -> VcpuOp.name(cmd);
            case Hypercall.SCHED_OP -> SchedOp.name(cmd);
            case Hypercall.GRANT_TABLE_OP -> GnttabOp.name(cmd);
            default -> null;
        };
        return op == null ? Hypercall.name(nr) : Hypercall.name(nr) + " " + op;
    }

    // ------------------------------------------------------------------ set-up steps (checked)

    /** {@code XENMEM_add_to_physmap} of {@code space}'s frame {@code idx} at {@code gfn}, for {@code DOMID_SELF}. */
    public void addToPhysmap(int space, long idx, long gfn) {
        memory.putShort(args, (short) Evtchn.DOMID_SELF);
        memory.putInt(args + 4, space);
        memory.putLong(args + 8, idx);
        memory.putLong(args + 16, gfn);
        check(Hypercall.MEMORY_OP, XenMem.ADD_TO_PHYSMAP, args, 0);
    }

    /** Places shared_info at {@code gfn}. */
    public void mapSharedInfo(long gfn) {
        addToPhysmap(XenMapSpace.SHARED_INFO, 0, gfn);
    }

    /** Places grant-table frame {@code frame} at {@code gfn}. */
    public void mapGrantFrame(long frame, long gfn) {
        addToPhysmap(XenMapSpace.GRANT_TABLE, frame, gfn);
    }

    /** {@code HVMOP_set_evtchn_upcall_vector}: vCPU {@code vcpuId}'s upcalls come as {@code vector}. */
    public void setUpcallVector(int vcpuId, int vector) {
        memory.putInt(args, vcpuId);
        memory.putByte(args + 4, (byte) vector);
        check(Hypercall.HVM_OP, HvmOp.SET_EVTCHN_UPCALL_VECTOR, args, 0);
    }

    /** {@code VCPUOP_register_vcpu_info}: vCPU {@code vcpuId}'s vcpu_info at {@code offset} in frame {@code gfn}. */
    public void registerVcpuInfo(int vcpuId, long gfn, int offset) {
        memory.putLong(args, gfn);
        memory.putInt(args + 8, offset);
        memory.putInt(args + 12, 0);
        check(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_INFO, vcpuId, args);
    }

    /** {@code EVTCHNOP_init_control}: vCPU {@code vcpuId}'s FIFO control block at {@code offset} in frame {@code gfn}. */
    public void initControl(int vcpuId, long gfn, int offset) {
        memory.putLong(args, gfn);
        memory.putInt(args + 8, offset);
        memory.putInt(args + 12, vcpuId);
        check(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.INIT_CONTROL, args, 0);
    }

    /** {@code EVTCHNOP_expand_array}: the next FIFO event-array page is frame {@code gfn}. */
    public void expandArray(long gfn) {
        memory.putLong(args, gfn);
        check(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.EXPAND_ARRAY, args, 0);
    }

    /** {@code EVTCHNOP_bind_ipi} on vCPU {@code vcpuId}; returns the port. */
    public int bindIpi(int vcpuId) {
        memory.putInt(args, vcpuId);
        check(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_IPI, args, 0);
        return memory.getInt(args + 4);
    }

    /** {@code EVTCHNOP_bind_virq} of {@code virq} on vCPU {@code vcpuId}; returns the port. */
    public int bindVirq(int virq, int vcpuId) {
        memory.putInt(args, virq);
        memory.putInt(args + 4, vcpuId);
        check(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_VIRQ, args, 0);
        return memory.getInt(args + 8);
    }

    // ------------------------------------------------------------------ calls whose result the caller judges

    /** {@code EVTCHNOP_send} on {@code port}; returns the Xen result. */
    public long send(int port) {
        memory.putInt(args + PORT_ARG, port);
        return call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.SEND, args + PORT_ARG, 0);
    }

    /** {@code EVTCHNOP_unmask} of {@code port}; returns the Xen result. */
    public long unmask(int port) {
        memory.putInt(args + PORT_ARG, port);
        return call(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.UNMASK, args + PORT_ARG, 0);
    }
}

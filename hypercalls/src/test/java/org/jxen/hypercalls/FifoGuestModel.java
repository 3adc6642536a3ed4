package org.jxen.hypercalls;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntBinaryOperator;
import java.util.function.IntConsumer;
import org.jxen.abi.EvtchnFifo;
import org.jxen.abi.EvtchnFifoControlBlock;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuInfo;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GuestMemory;

/**
 * The guest's side of the FIFO event-channel ABI, written from the consumer algorithm that Xen's
 * design (and Linux's FIFO driver) describes, over the test's guest memory:
 *
 * <ol>
 * <li>upcall: clear {@code evtchn_upcall_pending}; {@code ready = xchg(control_block.ready, 0)};</li>
 * <li>while {@code ready}: take the highest-priority queue q in it; its head is the guest's own
 * remembered next port, or, when that is 0 (the last walk reached the end), {@code head[q]} from
 * the control block;</li>
 * <li>unlink the head: a compare-and-set that clears LINKED and LINK, returning the old LINK; a 0
 * LINK means the queue is empty now: clear q from the local {@code ready};</li>
 * <li>if the word is PENDING and not MASKED: clear PENDING (the handler's acknowledge), then handle
 * the port;</li>
 * <li>remember LINK as the queue's next head; {@code ready |= xchg(control_block.ready, 0)}.</li>
 * </ol>
 *
 * Masking sets MASKED; unmasking clears MASKED itself only when the word is not PENDING and not
 * BUSY, and otherwise asks the hypervisor ({@code EVTCHNOP_unmask}), as Linux does.
 *
 * <p>The consumer is a step machine ({@link #step(int)}): one call does one guest memory access
 * (or one local decision), so a test can interleave the host's operations between any two of the
 * guest's steps. {@link #drain(int)} runs it to the end of one upcall.
 *
 * <p>Threads: one vCPU's steps on one thread at a time (the vCPU's own); different vCPUs may run
 * on different threads.
 */
final class FifoGuestModel {
    /** Where the guest's per-vCPU structures and event-array pages live. */
    record Layout(long sharedInfoGpa, long[] controlBlockGpa, long[] arrayPageGpa) {
    }

    private final GuestMemory m;
    private final Layout layout;
    private final VcpuState[] vcpus;
    /** Called with the port each time the guest handles one, after its acknowledge cleared PENDING. */
    private final IntConsumer handler;
    /** The hypervisor's EVTCHNOP_unmask (vcpu, port), for unmask with a pending word. */
    private final IntBinaryOperator unmaskHypercall;

    enum State {
        IDLE, CLEAR_UPCALL, TAKE_READY, LOOP, READ_HEAD, UNLINK, CHECK, ACK, REREAD_READY
    }

    /** One vCPU's consumer state. */
    static final class VcpuState {
        State state = State.IDLE;
        final int[] localHead = new int[EvtchnFifo.MAX_QUEUES];
        int ready;
        int queue;
        int head;
        int link;
        long upcallsRun;
    }

    FifoGuestModel(GuestMemory memory, Layout layout, int vcpuCount, IntConsumer handler,
            IntBinaryOperator unmaskHypercall) {
        this.m = memory;
        this.layout = layout;
        this.vcpus = new VcpuState[vcpuCount];
        for (int i = 0; i < vcpuCount; i++) {
            vcpus[i] = new VcpuState();
        }
        this.handler = handler;
        this.unmaskHypercall = unmaskHypercall;
    }

    // ------------------------------------------------------------------ memory

    long wordGpa(int port) {
        return layout.arrayPageGpa()[EvtchnFifo.page(port)] + EvtchnFifo.wordOffsetInPage(port);
    }

    int word(int port) {
        return m.getIntVolatile(wordGpa(port));
    }

    int readyWord(int vcpu) {
        return m.getIntVolatile(layout.controlBlockGpa()[vcpu] + EvtchnFifoControlBlock.offsetOfReady(WordSize.BITS_64));
    }

    int headWord(int vcpu, int priority) {
        return m.getIntVolatile(layout.controlBlockGpa()[vcpu] + EvtchnFifoControlBlock.offsetOfHead(WordSize.BITS_64, priority));
    }

    private long upcallPendingGpa(int vcpu) {
        return layout.sharedInfoGpa() + SharedInfo.offsetOfVcpuInfo(WordSize.BITS_64, vcpu)
                + VcpuInfo.offsetOfEvtchnUpcallPending(WordSize.BITS_64);
    }

    int upcallPending(int vcpu) {
        return m.getIntVolatile(upcallPendingGpa(vcpu)) & 0xff;
    }

    private int xchgInt(long gpa, int value) {
        while (true) {
            int old = m.getIntVolatile(gpa);
            if (m.compareAndSetInt(gpa, old, value)) {
                return old;
            }
        }
    }

    /** Clears the byte evtchn_upcall_pending with a CAS of the aligned int holding it (little-endian). */
    private void clearUpcallPending(int vcpu) {
        long at = upcallPendingGpa(vcpu);
        while (true) {
            int old = m.getIntVolatile(at);
            if (m.compareAndSetInt(at, old, old & ~0xff)) {
                return;
            }
        }
    }

    // ------------------------------------------------------------------ masking

    /** Sets MASKED. */
    void mask(int port) {
        m.getAndBitwiseOrInt(wordGpa(port), EventFifo.MASKED);
    }

    /**
     * Clears MASKED when the word is not PENDING (waiting while BUSY); a pending word is unmasked by
     * the hypervisor, which links it. Returns true when the hypercall was made.
     */
    boolean unmask(int port) {
        return unmask(0, port);
    }

    /** {@link #unmask(int)} from vCPU {@code vcpu} (whose hypercall it makes). */
    boolean unmask(int vcpu, int port) {
        long at = wordGpa(port);
        while (true) {
            int w = m.getIntVolatile(at);
            if ((w & EventFifo.PENDING) != 0) {
                int rc = unmaskHypercall.applyAsInt(vcpu, port);
                if (rc != 0) {
                    throw new AssertionError("EVTCHNOP_unmask(" + port + ") returned " + rc);
                }
                return true;
            }
            if ((w & EventFifo.BUSY) != 0) {
                Thread.onSpinWait();
                continue;
            }
            if (m.compareAndSetInt(at, w, w & ~EventFifo.MASKED)) {
                return false;
            }
        }
    }

    /** Sets every word of a new event-array page to MASKED, as a guest does before expand_array. */
    void maskPage(long pageGpa) {
        for (int i = 0; i < EvtchnFifo.EVENT_WORDS_PER_PAGE; i++) {
            m.putInt(pageGpa + 4L * i, EventFifo.MASKED);
        }
    }

    // ------------------------------------------------------------------ the consumer

    State state(int vcpu) {
        return vcpus[vcpu].state;
    }

    long upcallsRun(int vcpu) {
        return vcpus[vcpu].upcallsRun;
    }

    /** Begins an upcall on {@code vcpu} (the guest took the vector, or runs spuriously). */
    void beginUpcall(int vcpu) {
        VcpuState s = vcpus[vcpu];
        if (s.state != State.IDLE) {
            throw new IllegalStateException("vcpu " + vcpu + " is already in an upcall (" + s.state + ")");
        }
        s.state = State.CLEAR_UPCALL;
        s.upcallsRun++;
    }

    /** One step of {@code vcpu}'s upcall; returns false once it is idle. */
    boolean step(int vcpu) {
        VcpuState s = vcpus[vcpu];
        long cb = layout.controlBlockGpa()[vcpu];
        switch (s.state) {
            case IDLE -> {
                return false;
            }
            case CLEAR_UPCALL -> {
                clearUpcallPending(vcpu);
                s.state = State.TAKE_READY;
            }
            case TAKE_READY -> {
                s.ready = xchgInt(cb + EvtchnFifoControlBlock.offsetOfReady(WordSize.BITS_64), 0);
                s.state = State.LOOP;
            }
            case LOOP -> {
                if (s.ready == 0) {
                    s.state = State.IDLE;
                    return false;
                }
                s.queue = Integer.numberOfTrailingZeros(s.ready);
                s.head = s.localHead[s.queue];
                s.state = s.head == 0 ? State.READ_HEAD : State.UNLINK;
            }
            case READ_HEAD -> {
                s.head = m.getIntVolatile(cb + EvtchnFifoControlBlock.offsetOfHead(WordSize.BITS_64, s.queue));
                s.state = State.UNLINK;
            }
            case UNLINK -> {
                if (s.head == 0 || s.head >= EvtchnFifo.NR_CHANNELS) {
                    throw new AssertionError("vcpu " + vcpu + " queue " + s.queue + ": READY with head " + s.head);
                }
                long at = wordGpa(s.head);
                int w = m.getIntVolatile(at);
                if (!m.compareAndSetInt(at, w, w & ~(EventFifo.LINKED | EventFifo.LINK_MASK))) {
                    return true; // changed under us: try again next step
                }
                s.link = w & EventFifo.LINK_MASK;
                if (s.link == 0) {
                    s.ready &= ~(1 << s.queue);
                }
                s.state = State.CHECK;
            }
            case CHECK -> {
                int w = word(s.head);
                boolean handle = (w & EventFifo.PENDING) != 0 && (w & EventFifo.MASKED) == 0;
                if (!handle) {
                    s.localHead[s.queue] = s.link;
                }
                s.state = handle ? State.ACK : State.REREAD_READY;
            }
            case ACK -> {
                m.getAndBitwiseAndInt(wordGpa(s.head), ~EventFifo.PENDING); // the acknowledge
                handler.accept(s.head); // then the handler runs
                s.localHead[s.queue] = s.link;
                s.state = State.REREAD_READY;
            }
            case REREAD_READY -> {
                s.ready |= xchgInt(cb + EvtchnFifoControlBlock.offsetOfReady(WordSize.BITS_64), 0);
                s.state = State.LOOP;
            }
        }
        return true;
    }

    /** Runs one whole upcall on {@code vcpu}. */
    void runUpcall(int vcpu) {
        beginUpcall(vcpu);
        int guard = 0;
        while (step(vcpu)) {
            if (++guard > 10_000_000) {
                throw new AssertionError("vcpu " + vcpu + ": an upcall did not end (a cycle in a queue?)");
            }
        }
    }

    /** Runs upcalls on {@code vcpu} while its evtchn_upcall_pending is set; returns how many ran. */
    int drain(int vcpu) {
        int n = 0;
        while (upcallPending(vcpu) != 0) {
            runUpcall(vcpu);
            n++;
        }
        return n;
    }

    /** The ports of {@code vcpu}'s queue {@code priority} from head to tail, as the guest would walk it now. */
    List<Integer> queueFromHead(int vcpu, int priority) {
        List<Integer> out = new ArrayList<>();
        int p = vcpus[vcpu].localHead[priority];
        if (p == 0) {
            p = headWord(vcpu, priority);
        }
        while (p != 0 && (word(p) & EventFifo.LINKED) != 0 && out.size() <= EvtchnFifo.NR_CHANNELS) {
            out.add(p);
            p = word(p) & EventFifo.LINK_MASK;
        }
        return out;
    }
}

package org.jxen.stress;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import org.jxen.abi.EvtchnFifo;
import org.jxen.abi.EvtchnFifoControlBlock;
import org.jxen.abi.HvmParam;
import org.jxen.abi.VcpuInfo;
import org.jxen.abi.WordSize;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.testing.DomainDriver;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;

/**
 * One small Xen domain using the FIFO event-channel ABI, for one JCStress state: a 64-bit guest
 * with one vCPU and one guest page (gfn 0) that holds everything, so that a state costs one page:
 *
 * <pre>
 *  0x000  the event array page: event words of ports 0..511 (the tests use ports 1 and 2)
 *  0x800  vcpu_info of vCPU 0 (VCPUOP_register_vcpu_info; no shared_info is needed for FIFO)
 *  0x900  vCPU 0's FIFO control block (EVTCHNOP_init_control)
 *  0xf00  hypercall arguments
 * </pre>
 *
 * Set-up: register_vcpu_info, callback vector 0xf3 ({@code HVM_PARAM_CALLBACK_IRQ}), init_control,
 * expand_array with gfn 0, then {@code ports} IPIs on vCPU 0 (ports 1..ports, priority 7, unmasked).
 *
 * <p>The guest's side is the FIFO consumer of Xen's design (as Linux runs it), with atomics on the
 * same host bytes the host writes through its caches: {@link #guestUpcall()}.
 *
 * <p>Pages: one off-heap block shared by all states; a state claims a page and gives it back at the
 * end of its arbiter ({@link #close()}), after closing the domain (which deactivates its caches).
 *
 * <p>Threads: constructed on any thread; the guest methods on the actor playing vCPU 0; the
 * domain's raise on any thread; the readers in the arbiter.
 */
final class FifoGuest implements AutoCloseable {
    static final WordSize W = WordSize.BITS_64;
    static final long PAGE = HostMemory.PAGE_SIZE;
    static final int VECTOR = 0xf3;
    static final long VCPU_INFO = 0x800;
    static final long CONTROL_BLOCK = 0x900;
    static final long ARGS = 0xf00;
    static final int PRIORITY = EvtchnFifo.PRIORITY_DEFAULT;
    static final int PENDING = 1 << EvtchnFifo.PENDING;
    static final int MASKED = 1 << EvtchnFifo.MASKED;
    static final int LINKED = 1 << EvtchnFifo.LINKED;
    static final int BUSY = 1 << EvtchnFifo.BUSY;
    static final int LINK_MASK = EvtchnFifo.LINK_MASK;

    private static final int PAGES = 24576;
    private static final HostMemory HOST = HostMemory.offHeap("jxen-stress-fifo", PAGES * PAGE);
    private static final MemorySegment SEG = HOST.segment();
    private static final AtomicIntegerArray CLAIMED = new AtomicIntegerArray(PAGES);
    private static final AtomicLong NEXT = new AtomicLong();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    static final long READY = CONTROL_BLOCK + EvtchnFifoControlBlock.offsetOfReady(W);
    static final long UPCALL_PENDING = VCPU_INFO + VcpuInfo.offsetOfEvtchnUpcallPending(W);

    static {
        if (UPCALL_PENDING % 4 != 0 || CONTROL_BLOCK + EvtchnFifoControlBlock.sizeof(W) > ARGS) {
            throw new IllegalStateException("page layout");
        }
    }

    final int index;
    /** Host offset of this state's page. */
    final long base;
    /** Upcalls of {@link #VECTOR} to vCPU 0, counted exactly whichever thread delivers them. */
    final UpcallSink.AtomicCounter upcalls = UpcallSink.AtomicCounter.of(0, VECTOR);
    final InMemoryXenPlatform platform = new InMemoryXenPlatform("jcstress-fifo", upcalls,
            InMemoryXenPlatform.Console.DROP);
    final XenDomain domain;
    private final DomainDriver guest;
    /** The consumer's remembered next port of queue {@link #PRIORITY} (0: read head[] next time). */
    private int localHead;

    FifoGuest(int ports) {
        index = claim();
        base = index * PAGE;
        platform.addSlotOver(0, PAGE, HOST, base);
        domain = new XenDomain(platform, XenDomain.Config.of(1));
        guest = new DomainDriver(domain, platform.memory(), ARGS);
        guest.registerVcpuInfo(0, 0, (int) VCPU_INFO);
        domain.setHvmParam(HvmParam.CALLBACK_IRQ, HvmParam.callbackValue(HvmParam.CALLBACK_TYPE_VECTOR, VECTOR));
        guest.initControl(0, 0, (int) CONTROL_BLOCK);
        guest.expandArray(0);
        for (int i = 1; i <= ports; i++) {
            int port = guest.bindIpi(0);
            if (port != i) {
                throw new IllegalStateException("bind_ipi gave port " + port + ", expected " + i);
            }
        }
    }

    private static int claim() {
        long start = NEXT.getAndIncrement();
        for (int i = 0; i < PAGES; i++) {
            int k = (int) Math.floorMod(start + i, (long) PAGES);
            if (CLAIMED.compareAndSet(k, 0, 1)) {
                SEG.asSlice(k * PAGE, PAGE).fill((byte) 0);
                return k;
            }
        }
        throw new IllegalStateException("all " + PAGES + " pages are claimed: do states close()?");
    }

    // ------------------------------------------------------------------ the guest (vCPU 0's thread)

    private long word(int port) {
        return base + 4L * port;
    }

    private int xchg(long at, int value) {
        return (int) INT.getAndSet(SEG, at, value);
    }

    /** Sets MASKED on {@code port}, as the guest does. */
    void mask(int port) {
        INT.getAndBitwiseOr(SEG, word(port), MASKED);
    }

    /**
     * Unmasks {@code port} as Linux does: clear MASKED with a compare-and-set while the word is
     * neither PENDING nor BUSY; if it is PENDING, EVTCHNOP_unmask (the hypervisor links it).
     * Returns 1 if the hypercall was made (0 otherwise), or the hypercall's negative result.
     */
    int unmask(int port) {
        long at = word(port);
        while (true) {
            int w = (int) INT.getVolatile(SEG, at);
            if ((w & PENDING) != 0) {
                long rc = guest.unmask(port);
                return rc == 0 ? 1 : (int) rc;
            }
            if ((w & BUSY) != 0) {
                Thread.onSpinWait();
                continue;
            }
            if (INT.compareAndSet(SEG, at, w, w & ~MASKED)) {
                return 0;
            }
        }
    }

    /**
     * One upcall of the FIFO consumer, for the one queue in use (priority 7): clear
     * evtchn_upcall_pending; {@code ready = xchg(READY, 0)}; while the queue's bit is in
     * {@code ready}: take the head (the remembered next port, or head[7] when that is 0), unlink it
     * (compare-and-set clearing LINKED and LINK, keeping the old LINK), drop the bit from
     * {@code ready} when LINK was 0, and if the word is PENDING and not MASKED clear PENDING and
     * handle it; remember LINK; {@code ready |= xchg(READY, 0)}. Returns the ports handled as a bit
     * set (bit p for port p).
     */
    int guestUpcall() {
        // xchg of the byte evtchn_upcall_pending: a CAS of the aligned int that holds it
        while (true) {
            int old = (int) INT.getVolatile(SEG, base + UPCALL_PENDING);
            if (INT.compareAndSet(SEG, base + UPCALL_PENDING, old, old & ~0xff)) {
                break;
            }
        }
        int handled = 0;
        int ready = xchg(base + READY, 0);
        while ((ready & (1 << PRIORITY)) != 0) {
            int head = localHead;
            if (head == 0) {
                head = (int) INT.getVolatile(SEG, base + CONTROL_BLOCK + EvtchnFifoControlBlock.offsetOfHead(W, PRIORITY));
            }
            if (head <= 0 || head >= 512) {
                throw new IllegalStateException("READY with head " + head);
            }
            int w;
            do {
                w = (int) INT.getVolatile(SEG, word(head));
            } while (!INT.compareAndSet(SEG, word(head), w, w & ~(LINKED | LINK_MASK)));
            int link = w & LINK_MASK;
            if (link == 0) {
                ready &= ~(1 << PRIORITY);
            }
            w = (int) INT.getVolatile(SEG, word(head));
            if ((w & PENDING) != 0 && (w & MASKED) == 0) {
                INT.getAndBitwiseAnd(SEG, word(head), ~PENDING);
                handled |= 1 << head;
            }
            localHead = link;
            ready |= xchg(base + READY, 0);
        }
        return handled;
    }

    // ------------------------------------------------------------------ the arbiter

    int wordOf(int port) {
        return (int) INT.getVolatile(SEG, word(port));
    }

    /** 2 if PENDING, plus 1 if LINKED. */
    int pendingLinked(int port) {
        int w = wordOf(port);
        return ((w & PENDING) != 0 ? 2 : 0) | ((w & LINKED) != 0 ? 1 : 0);
    }

    int readyBit() {
        return ((int) INT.getVolatile(SEG, base + READY) >>> PRIORITY) & 1;
    }

    int head() {
        return (int) INT.getVolatile(SEG, base + CONTROL_BLOCK + EvtchnFifoControlBlock.offsetOfHead(W, PRIORITY));
    }

    int upcallPending() {
        return (int) INT.getVolatile(SEG, base + UPCALL_PENDING) & 0xff;
    }

    int upcalls() {
        return (int) upcalls.count();
    }

    /** Closes the domain and gives the page back; last in the arbiter. */
    @Override
    public void close() {
        domain.close();
        platform.close();
        CLAIMED.set(index, 0);
    }
}

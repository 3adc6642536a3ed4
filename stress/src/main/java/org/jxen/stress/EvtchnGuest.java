package org.jxen.stress;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import org.jxen.abi.HvmParam;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuInfo;
import org.jxen.abi.WordSize;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.testing.DomainDriver;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;

/**
 * One small Xen domain for one JCStress state of the event-channel bit protocol: a 64-bit guest
 * with one vCPU, whose shared_info is a page of its own (gfn 0, vcpu 0's vcpu_info inside it),
 * a callback vector, and the guest's side of the protocol done as Linux does it, with atomics on
 * the same host bytes the host side writes through its gfn-to-pfn cache.
 *
 * <p>Pages: all states share one off-heap block (like {@link Cells}); each state <em>claims</em> a
 * page and gives it back at the end of its arbiter ({@link #close()}), so that a new state never
 * zeroes a page an older, still running state uses. The domain is closed first, which deactivates
 * its shared_info cache (no host write lands after that) and stops its flush thread, if it made one.
 *
 * <p>Cost: a {@link XenDomain} is built per state. Its scheduler thread is only started by the first
 * deferred event (ScheduledThreadPoolExecutor starts threads lazily), and its port table holds one
 * bucket of 64 ports once a port is bound (about 12 KiB per domain in all; see docs/stress.md).
 *
 * <p>Threads: constructed on any thread; {@link #guestUpcall(int)} and {@link #unmask(int)} on the
 * actor playing the guest's vCPU 0; {@link #domain}'s raise on any thread; the rest in the arbiter.
 */
final class EvtchnGuest implements AutoCloseable {
    static final WordSize W = WordSize.BITS_64;
    static final long PAGE = HostMemory.PAGE_SIZE;
    static final int VECTOR = 0xf3;
    /** Hypercall arguments go here, in the page's tail past the shared_info structure. */
    static final long ARGS = 0xf00;

    private static final int PAGES = 24576;
    private static final HostMemory HOST = HostMemory.offHeap("jxen-stress-evtchn", PAGES * PAGE);
    private static final MemorySegment SEG = HOST.segment();
    private static final AtomicIntegerArray CLAIMED = new AtomicIntegerArray(PAGES);
    private static final AtomicLong NEXT = new AtomicLong();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    static final long PENDING = SharedInfo.offsetOfEvtchnPending(W);
    static final long MASK = SharedInfo.offsetOfEvtchnMask(W);
    static final long VCPU_INFO = SharedInfo.offsetOfVcpuInfo(W, 0);
    static final long UPCALL_PENDING = VCPU_INFO + VcpuInfo.offsetOfEvtchnUpcallPending(W);
    static final long SEL = VCPU_INFO + VcpuInfo.offsetOfEvtchnPendingSel(W);

    static {
        if (SharedInfo.sizeof(W) > ARGS || UPCALL_PENDING % 4 != 0) {
            throw new IllegalStateException("layout: shared_info " + SharedInfo.sizeof(W) + " bytes, upcall_pending at "
                    + UPCALL_PENDING);
        }
    }

    /** The host block that holds every state's shared_info page. */
    static HostMemory host() {
        return HOST;
    }

    final int index;
    /** Host offset of this state's shared_info page. */
    final long base;
    /** Upcalls of {@link #VECTOR} to vCPU 0, counted exactly whichever thread delivers them. */
    private final UpcallSink.AtomicCounter upcalls = UpcallSink.AtomicCounter.of(0, VECTOR);
    final InMemoryXenPlatform platform = new InMemoryXenPlatform("jcstress-evtchn", upcalls,
            InMemoryXenPlatform.Console.DROP);
    final XenDomain domain;
    private final DomainDriver guest;

    /** A domain with shared_info mapped at gfn 0, the callback vector set and {@code ipis} IPI ports bound on vCPU 0. */
    EvtchnGuest(int ipis) {
        index = claim();
        base = index * PAGE;
        platform.addSlotOver(0, PAGE, HOST, base);
        domain = new XenDomain(platform, XenDomain.Config.of(1));
        guest = new DomainDriver(domain, platform.memory(), ARGS);
        guest.mapSharedInfo(0);
        domain.setHvmParam(HvmParam.CALLBACK_IRQ, HvmParam.callbackValue(HvmParam.CALLBACK_TYPE_VECTOR, VECTOR));
        for (int i = 1; i <= ipis; i++) {
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
                return k;
            }
        }
        throw new IllegalStateException("all " + PAGES + " shared_info pages are claimed: do states close()?");
    }

    // ------------------------------------------------------------------ the guest (vCPU 0's thread)

    /**
     * The guest masks {@code port} in shared_info (as Linux does with sync_set_bit), before the race.
     */
    void mask(int port) {
        LONG.getAndBitwiseOr(SEG, base + MASK + 8L * (port / 64), 1L << (port % 64));
    }

    /** EVTCHNOP_unmask from vCPU 0; returns the hypercall's result. */
    long unmask(int port) {
        return guest.unmask(port);
    }

    /**
     * Linux's 2-level upcall handler (xen_evtchn_do_upcall / evtchn_2l_handle_events), once:
     * xchg evtchn_upcall_pending to 0, xchg evtchn_pending_sel to 0, then for each selected word
     * take pending &amp; ~mask and, per port, clear its pending bit with an atomic and-not and handle it.
     * Returns true when it handled {@code port}.
     */
    boolean guestUpcall(int port) {
        xchgUpcallPending();
        long sel = (long) LONG.getAndSet(SEG, base + SEL, 0L);
        boolean saw = false;
        while (sel != 0) {
            int word = Long.numberOfTrailingZeros(sel);
            sel &= sel - 1;
            long p = base + PENDING + 8L * word;
            long bits = (long) LONG.getVolatile(SEG, p) & ~(long) LONG.getVolatile(SEG, base + MASK + 8L * word);
            while (bits != 0) {
                int bit = Long.numberOfTrailingZeros(bits);
                bits &= bits - 1;
                LONG.getAndBitwiseAnd(SEG, p, ~(1L << bit));
                if (word * 64 + bit == port) {
                    saw = true;
                }
            }
        }
        return saw;
    }

    /** xchg on the byte evtchn_upcall_pending, as a CAS of the aligned int that holds it (little-endian). */
    private int xchgUpcallPending() {
        long at = base + UPCALL_PENDING;
        while (true) {
            int old = (int) INT.getVolatile(SEG, at);
            if (INT.compareAndSet(SEG, at, old, old & ~0xff)) {
                return old & 0xff;
            }
        }
    }

    // ------------------------------------------------------------------ the arbiter

    int pendingBit(int port) {
        return (int) (((long) LONG.getVolatile(SEG, base + PENDING + 8L * (port / 64)) >>> (port % 64)) & 1);
    }

    int maskBit(int port) {
        return (int) (((long) LONG.getVolatile(SEG, base + MASK + 8L * (port / 64)) >>> (port % 64)) & 1);
    }

    int selector() {
        return (int) (long) LONG.getVolatile(SEG, base + SEL);
    }

    int upcallPending() {
        return (int) INT.getVolatile(SEG, base + UPCALL_PENDING) & 0xff;
    }

    int upcalls() {
        return (int) upcalls.count();
    }

    /**
     * Waits (at most {@code millis}) until {@code upcalls} upcalls were delivered and no event is
     * queued: for events deferred while shared_info could not be locked, which the domain's thread
     * flushes about 1 ms later. Returns true if it had to wait.
     */
    boolean awaitUpcalls(int upcalls, long millis) {
        if (upcalls() >= upcalls && domain.eventChannels().deferredCount() == 0) {
            return false;
        }
        long end = System.nanoTime() + millis * 1_000_000;
        while ((upcalls() < upcalls || domain.eventChannels().deferredCount() != 0) && System.nanoTime() < end) {
            try {
                Thread.sleep(0, 100_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return true;
    }

    /** Closes the domain and gives the page back; last in the arbiter. */
    @Override
    public void close() {
        domain.close();
        platform.close();
        CLAIMED.set(index, 0);
    }
}

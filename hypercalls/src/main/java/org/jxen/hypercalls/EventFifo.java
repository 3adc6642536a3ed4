package org.jxen.hypercalls;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.jxen.abi.EvtchnFifo;
import org.jxen.abi.EvtchnFifoControlBlock;
import org.jxen.abi.VcpuInfo;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.MappedArea;

/**
 * The FIFO event-channel ABI of one domain: the event array (guest pages of 32-bit event words,
 * added with {@code EVTCHNOP_expand_array}) and each vCPU's control block and queues.
 *
 * <h2>Event word</h2>
 * <pre>
 *  31 PENDING | 30 MASKED | 29 LINKED | 28 BUSY | 27..17 reserved | 16..0 LINK (next port)
 * </pre>
 * Each vCPU has 16 queues, one per priority (0 highest). A queue is a singly linked list through
 * the LINK fields of its words: its head is {@code head[priority]} in the vCPU's control block
 * (written by the host only when the queue is empty), its tail is known only to the host. The
 * control block's READY word has bit {@code priority} set when that queue may be non-empty.
 *
 * <h2>Raising a port</h2>
 * Set PENDING with an atomic OR. If the word was MASKED or LINKED, stop there: that is the fast
 * path, lock-free and allocation-free (a masked port is linked by its unmask; a linked one is
 * already queued, and the guest reads PENDING after it unlinks it). Otherwise, under the lock of
 * the target queue (and of the queue the port was last linked on, if it moved, as Xen does), set
 * LINKED if the word is still pending, unmasked and unlinked; then write the port into the LINK of
 * the queue's tail word with a compare-and-set that succeeds only while the tail is still LINKED
 * (if the guest unlinked the tail meanwhile, the queue is empty); if that tail was not linked,
 * write the port into {@code head[priority]} and set the queue's READY bit; if READY was clear,
 * set {@code evtchn_upcall_pending} in the vCPU's vcpu_info and deliver the upcall when that was
 * clear. The tail write follows Xen's rules for the guest's concurrent changes: a first
 * compare-and-set, then BUSY set (the guest may not clear MASKED while BUSY is set) and at most
 * four more; the successful one clears BUSY.
 *
 * <h2>Memory</h2>
 * Every word is reached through a gfn-to-pfn cache: one per event-array page and one per control
 * block. The guest memory needed to link an event (the word's page, the tail's page, the control
 * block) is locked up front, nested (a nested lock never waits, so no lock order can deadlock); if
 * any cannot be locked now, nothing is changed beyond PENDING and the port is queued on
 * {@link EventChannels#defer}, to be raised again when it can. A vcpu_info that cannot be locked
 * keeps the upcall for later ({@link #flushDeferredUpcalls()}). A port raised while its
 * event-array page is missing keeps its pending state in its record and is raised when the page
 * is added. An event for a vCPU without a control block stays PENDING and is linked when that
 * vCPU's control block is set up, or on unmask. Nothing is lost.
 *
 * <p>The host never follows a LINK that the guest wrote: it only remembers each queue's tail, so
 * no guest-written value can make it loop or write outside the event array.
 *
 * <p>Threads: {@link #raise}, {@link #unmask}, {@link #isPending}, {@link #clearPending} and the
 * flush from any thread; set-up ({@link #initControl}, {@link #expandArray}, {@link #destroy}) under
 * the {@link EventChannels} monitor. Queue locks order the links of one queue; a queue's tail is
 * read and written only under its lock. The event-array page count is published with a volatile
 * write after its cache, so a raiser that sees the count sees the page.
 */
final class EventFifo {
    static final int PENDING = 1 << EvtchnFifo.PENDING;
    static final int MASKED = 1 << EvtchnFifo.MASKED;
    static final int LINKED = 1 << EvtchnFifo.LINKED;
    static final int BUSY = 1 << EvtchnFifo.BUSY;
    static final int LINK_MASK = EvtchnFifo.LINK_MASK;
    private static final long PAGE = 4096;
    private static final long CONTROL_BLOCK_SIZE = EvtchnFifoControlBlock.sizeof(WordSize.BITS_64);
    private static final long READY = EvtchnFifoControlBlock.offsetOfReady(WordSize.BITS_64);
    /** Compare-and-sets tried after BUSY is set, as in Xen. */
    private static final int LINK_TRIES_WHILE_BUSY = 4;

    /** One priority queue of one vCPU; {@code tail} is guarded by {@code lock}. */
    static final class Queue {
        final ReentrantLock lock = new ReentrantLock();
        final int index;
        final int vcpu;
        final int priority;
        /** The last port linked on this queue (0: none); the queue is empty when its word is not LINKED. */
        int tail;

        Queue(int vcpu, int priority) {
            this.vcpu = vcpu;
            this.priority = priority;
            this.index = vcpu * EvtchnFifo.MAX_QUEUES + priority;
        }
    }

    /** One vCPU's FIFO state. */
    static final class FifoVcpu {
        final int id;
        final GfnToPfnCache controlBlock;
        final Queue[] queues = new Queue[EvtchnFifo.MAX_QUEUES];
        /** True once EVTCHNOP_init_control mapped the control block. */
        volatile boolean initialised;
        /** An upcall is owed but vcpu_info could not be locked. */
        final AtomicBoolean upcallDeferred = new AtomicBoolean();

        FifoVcpu(GuestMemory memory, int id) {
            this.id = id;
            this.controlBlock = memory.newCache("vcpu" + id + " FIFO control block");
            for (int q = 0; q < queues.length; q++) {
                queues[q] = new Queue(id, q);
            }
        }
    }

    private final XenDomain domain;
    private final EventChannels channels;
    private final GuestMemory memory;
    private final GfnToPfnCache[] arrayPages = new GfnToPfnCache[EvtchnFifo.MAX_EVENT_ARRAY_PAGES];
    /** How many entries of {@code arrayPages} are in use; written after the entry (publication). */
    private volatile int arrayPageCount;
    private final FifoVcpu[] vcpus;
    private final AtomicInteger deferredUpcalls = new AtomicInteger();

    EventFifo(XenDomain domain, EventChannels channels, int vcpuCount) {
        this.domain = domain;
        this.channels = channels;
        this.memory = domain.memory();
        this.vcpus = new FifoVcpu[vcpuCount];
        for (int i = 0; i < vcpuCount; i++) {
            vcpus[i] = new FifoVcpu(memory, i);
        }
    }

    // ------------------------------------------------------------------ set-up (EventChannels monitor)

    /**
     * Maps vCPU {@code vcpu}'s control block at {@code offset} in frame {@code gfn}. Returns 0,
     * or -EINVAL (block not fitting the page, not 8-byte aligned, frame not writable guest RAM,
     * control block already set).
     */
    int initControl(int vcpu, long gfn, long offset) {
        if (offset < 0 || offset > PAGE - CONTROL_BLOCK_SIZE || (offset & 7) != 0) {
            return -XenErrno.EINVAL;
        }
        FifoVcpu v = vcpus[vcpu];
        if (v.initialised) {
            return -XenErrno.EINVAL;
        }
        int rc = activate(v.controlBlock, gfn, offset, CONTROL_BLOCK_SIZE);
        if (rc < 0) {
            return rc;
        }
        v.initialised = true;
        return 0;
    }

    /** Adds the event-array page at {@code gfn}: its index, or -ENOSPC (all 128 pages) or -EINVAL (not guest RAM). */
    int expandArray(long gfn) {
        int slot = arrayPageCount;
        if (slot >= arrayPages.length) {
            return -XenErrno.ENOSPC;
        }
        GfnToPfnCache c = memory.newCache("FIFO event array page " + slot);
        int rc = activate(c, gfn, 0, PAGE);
        if (rc < 0) {
            return rc;
        }
        arrayPages[slot] = c;
        arrayPageCount = slot + 1; // publishes the entry
        return slot;
    }

    /** FIFO state as plain values: control blocks (gpa per vCPU, -1 for none), event-array pages, queue tails. */
    DomainState.Fifo capture() {
        long[] blocks = new long[vcpus.length];
        int[] tails = new int[vcpus.length * EvtchnFifo.MAX_QUEUES];
        for (FifoVcpu v : vcpus) {
            blocks[v.id] = v.initialised ? v.controlBlock.gpa() : -1;
            for (Queue q : v.queues) {
                q.lock.lock();
                try {
                    tails[q.index] = q.tail;
                } finally {
                    q.lock.unlock();
                }
            }
        }
        int n = arrayPageCount;
        long[] pages = new long[n];
        for (int i = 0; i < n; i++) {
            pages[i] = arrayPages[i].gpa() >>> 12;
        }
        return new DomainState.Fifo(blocks, pages, tails);
    }

    /** Puts captured queue tails back (after the control blocks and pages were set up again). */
    void restoreTails(int[] tails) {
        for (FifoVcpu v : vcpus) {
            for (Queue q : v.queues) {
                if (q.index < tails.length) {
                    q.tail = tails[q.index];
                }
            }
        }
    }

    /** Activates {@code cache} on a frame that must be writable guest RAM now (Xen maps it at once). */
    private int activate(GfnToPfnCache cache, long gfn, long offset, long length) {
        if (gfn < 0 || gfn > (Long.MAX_VALUE >>> 12) - 1) {
            return -XenErrno.EINVAL;
        }
        long gpa = (gfn << 12) + offset;
        if (!memory.isBacked(gpa, length)) {
            return -XenErrno.EINVAL;
        }
        GpcStatus st = cache.activate(gpa, length);
        if (st != GpcStatus.OK && st != GpcStatus.BUSY) {
            cache.deactivate(); // not backed (any more), read-only, or a bad address
            return -XenErrno.EINVAL;
        }
        return 0;
    }

    /** Forgets the control blocks and the event array (EVTCHNOP_reset, domain close). */
    void destroy() {
        for (FifoVcpu v : vcpus) {
            v.initialised = false;
            v.controlBlock.deactivate();
        }
        int n = arrayPageCount;
        for (int i = 0; i < n; i++) {
            arrayPages[i].deactivate();
        }
    }

    int arrayPageCount() {
        return arrayPageCount;
    }

    boolean hasControlBlock(int vcpu) {
        return vcpu >= 0 && vcpu < vcpus.length && vcpus[vcpu].initialised;
    }

    // ------------------------------------------------------------------ events (any thread)

    /** Raises bound port {@code port} (see the class comment). */
    void raise(int port, EventChannels.Port p) {
        int page = EvtchnFifo.page(port);
        if (page >= arrayPageCount) {
            p.pendingWithoutWord = true;
            if (page >= arrayPageCount) { // re-read after the store: expand_array scans after its count store
                return;
            }
            p.pendingWithoutWord = false;
        }
        GfnToPfnCache c = arrayPages[page];
        MappedArea a = c.lock();
        if (a == null) {
            channels.defer(port);
            return;
        }
        int old;
        try {
            old = a.getAndBitwiseOrInt(EvtchnFifo.wordOffsetInPage(port), PENDING);
        } finally {
            c.unlock();
        }
        if ((old & PENDING) == 0) {
            domain.wakeWaiters(); // SCHEDOP_poll waits for PENDING, masked or not
        }
        if ((old & (MASKED | LINKED)) != 0) {
            return; // fast path: masked (its unmask links it) or already queued
        }
        link(port, p);
    }

    /** Links a pending, unmasked, unlinked port for its vCPU: after a vCPU got its control block. */
    void relinkIfPending(int port, EventChannels.Port p) {
        int page = EvtchnFifo.page(port);
        if (page >= arrayPageCount) {
            return;
        }
        GfnToPfnCache c = arrayPages[page];
        MappedArea a = c.lock();
        if (a == null) {
            channels.defer(port);
            return;
        }
        int w;
        try {
            w = a.getIntVolatile(EvtchnFifo.wordOffsetInPage(port));
        } finally {
            c.unlock();
        }
        if ((w & (PENDING | MASKED | LINKED)) == PENDING) {
            link(port, p);
        }
    }

    private static final int LINK_NOTHING = 0;
    private static final int LINK_DONE = 1;
    private static final int LINK_UPCALL = 2;
    private static final int LINK_DEFERRED = 3;

    /** Links {@code port} on its queue if it is pending, unmasked and not linked; then the upcall. */
    private void link(int port, EventChannels.Port p) {
        Queue q;
        Queue oldQ;
        FifoVcpu v;
        while (true) {
            int last = p.lastQueue;
            v = vcpu(p.notifyVcpu);
            if (v == null || !v.initialised) {
                return; // stays PENDING: linked when the vCPU's control block is set up, or on unmask
            }
            q = v.queues[p.priority];
            oldQ = queue(last);
            Queue first = q.index <= oldQ.index ? q : oldQ;
            Queue second = first == q ? oldQ : q;
            first.lock.lock();
            if (second != first) {
                second.lock.lock();
            }
            if (p.lastQueue == last && vcpu(p.notifyVcpu) == v && v.queues[p.priority] == q) {
                break;
            }
            unlock(q, oldQ);
        }
        int result;
        try {
            result = linkLocked(port, p, v, q, oldQ);
        } finally {
            unlock(q, oldQ);
        }
        if (result == LINK_DEFERRED) {
            channels.defer(port);
        } else if (result == LINK_UPCALL) {
            markEventsPending(v);
        }
    }

    private static void unlock(Queue q, Queue oldQ) {
        if (oldQ != q) {
            oldQ.lock.unlock();
        }
        q.lock.unlock();
    }

    /** The linking itself, with the queue locks held: every guest area locked first, then written. */
    private int linkLocked(int port, EventChannels.Port p, FifoVcpu v, Queue q, Queue oldQ) {
        int tail = q.tail;
        GfnToPfnCache wordCache = arrayPages[EvtchnFifo.page(port)];
        GfnToPfnCache tailCache = tail != 0 ? arrayPages[EvtchnFifo.page(tail)] : null;
        if (tailCache == wordCache) {
            tailCache = null; // same page: one lock serves both
        }
        MappedArea word = wordCache.lock();
        if (word == null) {
            return LINK_DEFERRED;
        }
        try {
            MappedArea tailArea = tailCache != null ? tailCache.lock() : word;
            if (tailArea == null) {
                return LINK_DEFERRED; // nothing of the tail's cache to unlock
            }
            try {
                MappedArea cb = v.controlBlock.lock();
                if (cb == null) {
                    return LINK_DEFERRED;
                }
                try {
                    return linkWords(port, p, q, oldQ, word, tail, tailArea, cb);
                } finally {
                    v.controlBlock.unlock();
                }
            } finally {
                if (tailCache != null) {
                    tailCache.unlock();
                }
            }
        } finally {
            wordCache.unlock();
        }
    }

    private int linkWords(int port, EventChannels.Port p, Queue q, Queue oldQ, MappedArea word, int tail,
            MappedArea tailArea, MappedArea cb) {
        long off = EvtchnFifo.wordOffsetInPage(port);
        while (true) {
            int w = word.getIntVolatile(off);
            if ((w & (PENDING | MASKED | LINKED)) != PENDING) {
                return LINK_NOTHING; // consumed, masked or linked meanwhile
            }
            if (word.compareAndSetInt(off, w, w | LINKED)) {
                break;
            }
        }
        // If the port was its old queue's tail, that queue is empty now (the port was not linked):
        // forget the tail, so that no later link writes into a word that moves to another queue.
        if (oldQ.tail == port) {
            oldQ.tail = 0;
            if (oldQ == q) {
                tail = 0; // the word locked for it is not needed
            }
        }
        if (oldQ != q) {
            p.lastQueue = q.index;
        }
        boolean linked = tail != 0 && setLink(tailArea, EvtchnFifo.wordOffsetInPage(tail), port);
        q.tail = port;
        if (linked) {
            return LINK_DONE;
        }
        int bit = 1 << q.priority;
        // head before READY: the atomic OR of READY (which the guest exchanges before it reads
        // head[]) orders the head store before it, so a release store is enough
        cb.putIntRelease(EvtchnFifoControlBlock.offsetOfHead(WordSize.BITS_64, q.priority), port);
        int ready = cb.getAndBitwiseOrInt(READY, bit);
        return (ready & bit) == 0 ? LINK_UPCALL : LINK_DONE;
    }

    /**
     * Writes {@code link} into the LINK field of the word at {@code off} if it is still LINKED.
     * Returns false when it is not (the guest unlinked it: the queue is empty). The guest may, on a
     * linked word, only set or clear MASKED, clear PENDING, and clear LINKED with LINK; BUSY stops
     * it clearing MASKED, so after BUSY is set the compare-and-set fails at most a few times. A
     * guest that breaks those rules loses this link (it is counted as done, as Xen does).
     */
    static boolean setLink(MappedArea a, long off, int link) {
        int w = a.getIntVolatile(off);
        if ((w & LINKED) == 0) {
            return false;
        }
        if (a.compareAndSetInt(off, w, (w & ~(BUSY | LINK_MASK)) | link)) {
            return true;
        }
        a.getAndBitwiseOrInt(off, BUSY);
        for (int i = 0; i < LINK_TRIES_WHILE_BUSY; i++) {
            w = a.getIntVolatile(off);
            if ((w & LINKED) == 0) {
                a.getAndBitwiseAndInt(off, ~BUSY);
                return false;
            }
            if (a.compareAndSetInt(off, w, (w & ~(BUSY | LINK_MASK)) | link)) {
                return true;
            }
        }
        a.getAndBitwiseAndInt(off, ~BUSY);
        return true;
    }

    /** Sets {@code evtchn_upcall_pending} in the vCPU's vcpu_info; delivers the upcall when it was clear. */
    private void markEventsPending(FifoVcpu fv) {
        XenVcpu v = domain.vcpu(fv.id);
        var cache = v.vcpuInfoCache();
        long base = v.vcpuInfoOffset();
        MappedArea vi = v.hasVcpuInfo() ? cache.lock() : null;
        if (vi == null) {
            if (fv.upcallDeferred.compareAndSet(false, true)) {
                deferredUpcalls.incrementAndGet();
            }
            domain.scheduleDeferredFlush();
            return;
        }
        boolean deliver;
        try {
            deliver = vi.getAndSetByte(base + VcpuInfo.offsetOfEvtchnUpcallPending(domain.wordSize()), (byte) 1) == 0;
        } finally {
            cache.unlock();
        }
        if (deliver) {
            domain.deliverUpcall(fv.id);
        }
    }

    /** Delivers the upcalls kept while vcpu_info could not be locked. */
    void flushDeferredUpcalls() {
        for (FifoVcpu v : vcpus) {
            if (v.upcallDeferred.compareAndSet(true, false)) {
                deferredUpcalls.decrementAndGet();
                markEventsPending(v);
            }
        }
    }

    int deferredUpcalls() {
        return deferredUpcalls.get();
    }

    /** EVTCHNOP_unmask: clears MASKED; a pending bound port is linked again. */
    void unmask(int port, EventChannels.Port bound) {
        int page = EvtchnFifo.page(port);
        if (page >= arrayPageCount) {
            return; // no word: nothing to unmask (Xen)
        }
        GfnToPfnCache c = arrayPages[page];
        MappedArea a = c.lock();
        if (a == null) {
            if (bound != null) {
                channels.defer(port); // raised again (and so linked, if pending and unmasked) later
            }
            return;
        }
        int old;
        try {
            old = a.getAndBitwiseAndInt(EvtchnFifo.wordOffsetInPage(port), ~MASKED);
        } finally {
            c.unlock();
        }
        if ((old & PENDING) != 0 && bound != null) {
            raise(port, bound);
        }
    }

    /** True when the port's PENDING bit is set (or it was raised while its page was missing). */
    boolean isPending(int port, EventChannels.Port p) {
        int page = EvtchnFifo.page(port);
        if (page >= arrayPageCount) {
            return p.pendingWithoutWord;
        }
        GfnToPfnCache c = arrayPages[page];
        MappedArea a = c.lock();
        if (a == null) {
            return false;
        }
        try {
            return (a.getIntVolatile(EvtchnFifo.wordOffsetInPage(port)) & PENDING) != 0;
        } finally {
            c.unlock();
        }
    }

    /** Clears PENDING (EVTCHNOP_close); a linked word stays linked: the guest unlinks and ignores it. */
    void clearPending(int port, EventChannels.Port p) {
        p.pendingWithoutWord = false;
        int page = EvtchnFifo.page(port);
        if (page >= arrayPageCount) {
            return;
        }
        GfnToPfnCache c = arrayPages[page];
        MappedArea a = c.lock();
        if (a == null) {
            return;
        }
        try {
            a.getAndBitwiseAndInt(EvtchnFifo.wordOffsetInPage(port), ~PENDING);
        } finally {
            c.unlock();
        }
    }

    private FifoVcpu vcpu(int id) {
        return id >= 0 && id < vcpus.length ? vcpus[id] : null;
    }

    private Queue queue(int index) {
        return vcpus[index / EvtchnFifo.MAX_QUEUES].queues[index % EvtchnFifo.MAX_QUEUES];
    }
}

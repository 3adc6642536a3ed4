package org.jxen.bench;

import java.util.concurrent.TimeUnit;

import org.jxen.abi.EvtchnFifo;
import org.jxen.abi.EvtchnFifoControlBlock;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.Hypercall;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.VcpuInfo;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GuestMemory;
import org.jxen.hypercalls.HandlerAccess;
import org.jxen.hypercalls.HypercallRequest;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The event-channel send fast path in-process, one thread, with the 2-level and the FIFO ABI
 * ({@code abi}):
 * <ul>
 * <li>{@code guestSendPending}: the guest's {@code EVTCHNOP_send} on an IPI port that is already
 * pending, through {@code XenDomain.dispatch} (decode, argument read by guest-virtual address,
 * send, raise);</li>
 * <li>{@code handlerSendPending}: the same through {@code event_channel_op}'s handler called
 * directly (no dispatch);</li>
 * <li>{@code hostRaisePending} / {@code hostRaiseMasked}: the host's {@code raise(port)} on a port
 * already pending (and, with FIFO, linked) / masked: the fast path that writes one atomic OR;</li>
 * <li>{@code hostRaiseFresh}: {@code raise(port)} on a port that needs delivery. Each operation
 * first does what the guest does after handling it (plain stores that clear the port's pending
 * bit or event word, the selector or READY word and evtchn_upcall_pending), so every raise sets
 * pending, links (FIFO) or selects (2-level), sets evtchn_upcall_pending and delivers an upcall to
 * the platform. Those stores are in the time.</li>
 * </ul>
 * The target of issue 5 is 20 million sends a second on one thread, i.e. at most 50 ns an
 * operation.
 *
 * <p>Threads: JMH's single benchmark thread plays vCPU 0.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class EventChannelSend {
    @Param({"2-level", "fifo"})
    public String abi;

    private BenchDomain d;
    private HandlerAccess handlers;
    private HypercallRequest sendRequest;
    private int pendingPort;
    private int maskedPort;
    private int freshPort;
    private GuestMemory m;
    private long freshWordGpa;
    private long selectorOrReadyGpa;
    private long upcallPendingGpa;
    private boolean fifo;

    @Setup(Level.Trial)
    public void setUp() {
        fifo = abi.equals("fifo");
        d = new BenchDomain(fifo);
        m = d.platform.memory();
        pendingPort = d.bindIpi();
        maskedPort = d.bindIpi();
        freshPort = d.bindIpi();
        long si = BenchDomain.SHARED_INFO_GFN << 12;
        WordSize w = WordSize.BITS_64;
        upcallPendingGpa = si + SharedInfo.offsetOfVcpuInfo(w, 0) + VcpuInfo.offsetOfEvtchnUpcallPending(w);
        if (fifo) {
            long array = BenchDomain.ARRAY_GFN << 12;
            m.putInt(array + 4L * maskedPort, 1 << EvtchnFifo.MASKED);
            freshWordGpa = array + 4L * freshPort;
            selectorOrReadyGpa = (BenchDomain.CONTROL_BLOCK_GFN << 12) + EvtchnFifoControlBlock.offsetOfReady(w);
        } else {
            m.putLong(si + SharedInfo.offsetOfEvtchnMask(w), 1L << maskedPort);
            freshWordGpa = si + SharedInfo.offsetOfEvtchnPending(w);
            selectorOrReadyGpa = si + SharedInfo.offsetOfVcpuInfo(w, 0) + VcpuInfo.offsetOfEvtchnPendingSel(w);
        }
        d.domain.raise(pendingPort);
        m.putInt(BenchDomain.ARGS + 64, pendingPort);
        sendRequest = new HypercallRequest(0).set(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.SEND, BenchDomain.ARGS + 64, 0,
                0, 0, 0, WordSize.BITS_64, 0);
        handlers = new HandlerAccess(d.domain, d.platform, 0);
        if (d.domain.eventChannels().isFifo() != fifo) {
            throw new IllegalStateException("the domain is not " + abi);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (d.upcalls.count() == 0) {
            throw new IllegalStateException("no upcall was ever delivered: the fresh path did not run");
        }
        d.close();
    }

    @Benchmark
    public long guestSendPending() {
        return d.domain.dispatch(sendRequest);
    }

    @Benchmark
    public long handlerSendPending() {
        return handlers.eventChannelOp(sendRequest);
    }

    @Benchmark
    public void hostRaisePending() {
        d.domain.raise(pendingPort);
    }

    @Benchmark
    public void hostRaiseMasked() {
        d.domain.raise(maskedPort);
    }

    @Benchmark
    public void hostRaiseFresh() {
        // the guest's part: it handled the port (word or bit cleared), its selector/READY and upcall_pending
        if (fifo) {
            m.putInt(freshWordGpa, 0);
        } else {
            m.putLong(freshWordGpa, 1L << pendingPort); // keep the pending port pending
        }
        m.putLong(selectorOrReadyGpa, 0);
        m.putByte(upcallPendingGpa, (byte) 0);
        d.domain.raise(freshPort);
    }
}

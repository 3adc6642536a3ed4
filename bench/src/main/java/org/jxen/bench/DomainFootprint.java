package org.jxen.bench;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import org.jxen.abi.EvtchnOp;
import org.jxen.abi.Hypercall;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.HypercallRequest;
import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.XenPlatform;
import org.jxen.hypercalls.mm.PagingState;

/**
 * The heap a {@link XenDomain} retains, with {@code ports} IPI ports bound: builds {@code n}
 * one-vCPU domains (each with a one-page memslot of a shared off-heap block), keeps them alive,
 * and divides the growth of the used heap after full GCs by {@code n}. A measurement program, not
 * a JMH benchmark:
 * {@code java -cp bench/target/benchmarks.jar org.jxen.bench.DomainFootprint [n] [ports]}.
 *
 * <p>Threads: the main thread only.
 */
public final class DomainFootprint {
    private DomainFootprint() {
    }

    /** A platform that does nothing. */
    static final class P implements XenPlatform {
        final GuestMemory memory = new GuestMemory("f");

        @Override
        public GuestMemory memory() {
            return memory;
        }

        @Override
        public PagingState pagingState(int v) {
            return PagingState.pagingOff();
        }

        @Override
        public boolean deliverVector(int v, int vec) {
            return true;
        }

        @Override
        public long monotonicNanos() {
            return System.nanoTime();
        }

        @Override
        public void consoleWrite(byte[] b, int o, int l) {
        }

        @Override
        public void shutdown(int v, int r) {
        }
    }

    static long used() {
        for (int i = 0; i < 4; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    public static void main(String[] a) {
        int n = a.length > 0 ? Integer.parseInt(a[0]) : 2000;
        int ports = a.length > 1 ? Integer.parseInt(a[1]) : 1;
        HostMemory host = HostMemory.offHeap("f", (long) n * 4096);
        List<Object> keep = new ArrayList<>();
        // warm-up: load classes, thread-locals
        for (int i = 0; i < 50; i++) {
            make(host, i, ports).close();
        }
        long before = used();
        for (int i = 0; i < n; i++) {
            keep.add(make(host, i, ports));
        }
        long after = used();
        System.out.printf("%d domains, %d IPI ports each: %.1f KiB retained per domain%n", n, ports,
                (after - before) / 1024.0 / n);
        if (keep.size() != n) {
            throw new AssertionError();
        }
    }

    static XenDomain make(HostMemory host, int i, int ports) {
        P p = new P();
        p.memory.addSlot(0, 0, 4096, host, (long) i * 4096, 0);
        XenDomain d = new XenDomain(p, XenDomain.Config.of(1));
        HypercallRequest r = new HypercallRequest(0);
        for (int k = 0; k < ports; k++) {
            p.memory.putInt(0x100, 0);
            long rc = d.dispatch(r.set(Hypercall.EVENT_CHANNEL_OP, EvtchnOp.BIND_IPI, 0x100, 0, 0, 0, 0,
                    WordSize.BITS_64, 0));
            if (rc != 0) {
                throw new IllegalStateException("bind_ipi " + rc);
            }
        }
        return d;
    }
}

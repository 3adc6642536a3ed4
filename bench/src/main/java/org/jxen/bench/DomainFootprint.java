package org.jxen.bench;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.testing.DomainDriver;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;

/**
 * The heap a {@link XenDomain} retains, with {@code ports} IPI ports bound: builds {@code n}
 * one-vCPU domains (each on an {@link InMemoryXenPlatform} with a one-page memslot of a shared
 * off-heap block), keeps them alive, and divides the growth of the used heap after full GCs by
 * {@code n}. A measurement program, not a JMH benchmark:
 * {@code java -cp bench/target/benchmarks.jar org.jxen.bench.DomainFootprint [n] [ports]}.
 *
 * <p>Threads: the main thread only.
 */
public final class DomainFootprint {
    private DomainFootprint() {
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
        InMemoryXenPlatform p = new InMemoryXenPlatform("f", UpcallSink.ACCEPT, InMemoryXenPlatform.Console.DROP);
        p.addSlotOver(0, 4096, host, (long) i * 4096);
        XenDomain d = new XenDomain(p, XenDomain.Config.of(1));
        DomainDriver guest = new DomainDriver(d, p.memory(), 0x100);
        for (int k = 0; k < ports; k++) {
            guest.bindIpi(0);
        }
        return d;
    }
}

package org.jxen.bench;

import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.testing.DomainDriver;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;

/**
 * A Xen domain in memory for the in-process hypercall benchmarks: 1 MiB of guest RAM at gpa 0,
 * paging off (guest-virtual = guest-physical), shared_info at gfn 0x20, upcall vector 0xf3 on
 * vCPU 0, and optionally the FIFO ABI (control block at gfn 0x30, one event-array page at 0x40).
 * The platform counts upcalls in a plain field ({@link UpcallSink.Counter}: no atomic on the
 * delivery path) and does nothing else.
 *
 * <p>Threads: built and used by one benchmark thread.
 */
final class BenchDomain implements AutoCloseable {
    static final long ARGS = 0x10000;
    static final long SHARED_INFO_GFN = 0x20;
    static final long CONTROL_BLOCK_GFN = 0x30;
    static final long ARRAY_GFN = 0x40;
    static final int VECTOR = 0xf3;

    final UpcallSink.Counter upcalls = new UpcallSink.Counter();
    final InMemoryXenPlatform platform = InMemoryXenPlatform.withRam("bench-domain", 1 << 20, upcalls);
    final XenDomain domain = new XenDomain(platform, XenDomain.Config.of(1));
    final DomainDriver guest = new DomainDriver(domain, platform.memory(), ARGS);

    BenchDomain(boolean fifo) {
        guest.mapSharedInfo(SHARED_INFO_GFN);
        guest.setUpcallVector(0, VECTOR);
        if (fifo) {
            guest.initControl(0, CONTROL_BLOCK_GFN, 0);
            guest.expandArray(ARRAY_GFN);
        }
    }

    int bindIpi() {
        return guest.bindIpi(0);
    }

    @Override
    public void close() {
        domain.close();
        platform.close();
    }
}

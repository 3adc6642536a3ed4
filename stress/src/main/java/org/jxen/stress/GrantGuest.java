package org.jxen.stress;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicIntegerArray;

import org.jxen.abi.Gtf;
import org.jxen.abi.WordSize;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.GrantException;
import org.jxen.hypercalls.GrantMapping;
import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.testing.DomainDriver;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;

/**
 * One small Xen domain for one JCStress state of the grant protocol: two pages of RAM, grant frame 0
 * placed at gfn 0 and gfn 1 granted read-write to domain 0 with reference {@link #REF}, filled in as
 * Linux does it. The guest's side (ending the grant) works with atomics on the same host bytes that
 * the host side changes through its gfn-to-pfn cache.
 *
 * <p>Pages: all states share one block of anonymous shared memory (untouched pages take no host
 * memory); each state claims the lowest free pair of pages and gives it back at the end of its
 * arbiter ({@link #close()}), after closing its domain, so a new state never writes a pair an older
 * state still uses, and only as many pairs are ever touched as states are alive at once (JCStress
 * keeps at most 40 x 256 of one test).
 *
 * <p>Threads: constructed on any thread; {@link #guestEndAccess()} on the actor playing the guest,
 * {@link #hostMap()} on the actor playing a backend, the rest in the arbiter.
 */
final class GrantGuest implements AutoCloseable {
    static final WordSize W = WordSize.BITS_64;
    static final long PAGE = HostMemory.PAGE_SIZE;
    static final int REF = 8;
    /** Hypercall arguments, in the granted page (gfn 1), before the race. */
    static final long ARGS = PAGE + 0xf00;

    private static final int PAIRS = 12288;
    private static final HostMemory HOST = HostMemory.anonymous("jxen-stress-grant", PAIRS * 2 * PAGE);
    private static final MemorySegment SEG = HOST.segment();
    private static final AtomicIntegerArray CLAIMED = new AtomicIntegerArray(PAIRS);
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    final int index;
    /** Host offset of this state's grant entry. */
    final long entry;
    final InMemoryXenPlatform platform = new InMemoryXenPlatform("jcstress-grant", UpcallSink.ACCEPT,
            InMemoryXenPlatform.Console.DROP);
    final XenDomain domain;
    private GrantMapping mapping;

    GrantGuest() {
        index = claim();
        long base = index * 2 * PAGE;
        SEG.asSlice(base, 2 * PAGE).fill((byte) 0);
        platform.addSlotOver(0, 2 * PAGE, HOST, base);
        domain = new XenDomain(platform, XenDomain.Config.of(1));
        new DomainDriver(domain, platform.memory(), ARGS).mapGrantFrame(0, 0); // frame 0 at gfn 0
        GuestMemory m = platform.memory();
        entry = base + REF * 8L;
        m.putInt(REF * 8L + 4, 1); // frame: gfn 1
        m.putShort(REF * 8L + 2, (short) 0); // domid 0
        INT.setVolatile(SEG, entry, Gtf.PERMIT_ACCESS); // flags last, domid 0 in the high half
    }

    private static int claim() {
        for (int i = 0; i < PAIRS; i++) {
            if (CLAIMED.compareAndSet(i, 0, 1)) {
                return i;
            }
        }
        throw new IllegalStateException("all " + PAIRS + " page pairs are claimed: do states close()?");
    }

    /**
     * Linux's {@code gnttab_end_foreign_access_ref} for version 1: give up unless nobody has the page
     * mapped, then compare-and-swap the flags to 0 (here the aligned word of flags and domid, the
     * domid kept), again while the flags change. Returns 1 when the grant was ended.
     */
    int guestEndAccess() {
        while (true) {
            int word = (int) INT.getVolatile(SEG, entry);
            if ((word & (Gtf.READING | Gtf.WRITING)) != 0) {
                return 0;
            }
            if (INT.compareAndSet(SEG, entry, word, word & 0xffff_0000)) {
                return 1;
            }
        }
    }

    /** A backend maps the grant for writing; returns 1 when it got the mapping. */
    int hostMap() {
        try {
            mapping = domain.grantTable().mapForeign(REF, true);
            return 1;
        } catch (GrantException e) {
            return 0;
        }
    }

    /** The entry's flags now. */
    int flags() {
        return (int) INT.getVolatile(SEG, entry) & 0xffff;
    }

    /** Closes the host's mapping, if it made one. */
    void unmap() {
        if (mapping != null) {
            mapping.close();
            mapping = null;
        }
    }

    /** Closes the domain and gives the pages back; last in the arbiter. */
    @Override
    public void close() {
        unmap();
        domain.close();
        platform.close();
        CLAIMED.set(index, 0);
    }
}

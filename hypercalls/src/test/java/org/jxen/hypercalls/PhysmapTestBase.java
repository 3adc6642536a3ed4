package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jxen.abi.Evtchn;
import org.jxen.abi.Hypercall;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenMapSpace;
import org.jxen.abi.XenMem;
import org.jxen.abi.XenMemoryReservation;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.hypercalls.testing.DomainDriver;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The in-process fixture of the memory_op and grant-table tests: a domain on memory that the host
 * can really give back (anonymous shared mappings, as a KVM VM has), paging off (gva = gpa).
 *
 * <pre>
 * [0, 8 MiB)                 RAM, slot 0       2048 pages
 * [0xfffff000, 4 GiB)        ROM, slot 1       read-only, not RAM
 * [4 GiB, 4 GiB + 1 MiB)     RAM, slot 2       256 pages
 * </pre>
 * Arguments go at {@link #ARGS} (page 16), arrays at {@link #ARRAY} (pages 32..63); the tests use
 * pages from 256 up as the guest's memory to give back.
 */
abstract class PhysmapTestBase {
    static final long PAGE = 4096;
    static final long LOW_RAM = 8L << 20;
    static final long ROM_GPA = 0xffff_f000L;
    static final long HIGH_GPA = 1L << 32;
    static final long HIGH_RAM = 1L << 20;
    static final long RAM_PAGES = (LOW_RAM + HIGH_RAM) / PAGE;
    static final long ARGS = 16 * PAGE;
    static final long ARRAY = 32 * PAGE;
    static final int SELF = Evtchn.DOMID_SELF;

    /** The in-memory platform on mmap-backed RAM, console kept, whose host can ask the vCPUs to yield. */
    static final class AnonymousPlatform extends InMemoryXenPlatform {
        final HostMemory low;
        final HostMemory high;
        volatile boolean mustYield;

        AnonymousPlatform() {
            super("physmap-test", UpcallSink.ACCEPT, Console.KEEP);
            low = addAnonymousRam(0, LOW_RAM);
            addRom(ROM_GPA, PAGE);
            high = addAnonymousRam(HIGH_GPA, HIGH_RAM);
        }

        @Override
        public boolean vcpuMustYield(int vcpuId) {
            return mustYield;
        }

        /** The host memory and offset behind a gfn of RAM. */
        HostMemory hostOf(long gfn) {
            return gfn * PAGE >= HIGH_GPA ? high : low;
        }

        long hostOffset(long gfn) {
            return gfn * PAGE >= HIGH_GPA ? gfn * PAGE - HIGH_GPA : gfn * PAGE;
        }

        long resident(long gfn, long pages) {
            return hostOf(gfn).residentPages(hostOffset(gfn), pages * PAGE);
        }
    }

    AnonymousPlatform platform;
    GuestMemory memory;
    XenDomain domain;
    DomainDriver guest;

    @BeforeEach
    void setUpDomain() {
        platform = new AnonymousPlatform();
        memory = platform.memory();
        domain = new XenDomain(platform, XenDomain.Config.of(2));
        guest = new DomainDriver(domain, memory, ARGS);
    }

    @AfterEach
    void tearDownDomain() {
        domain.close();
        platform.close();
    }

    long call(WordSize w, int nr, long a0, long a1, long a2) {
        return guest.call(w, nr, a0, a1, a2);
    }

    long memoryOp(WordSize w, long cmd, long arg) {
        return call(w, Hypercall.MEMORY_OP, cmd, arg, 0);
    }

    void putWord(WordSize w, long gpa, long value) {
        if (w == WordSize.BITS_64) {
            memory.putLong(gpa, value);
        } else {
            memory.putInt(gpa, (int) value);
        }
    }

    long getWord(WordSize w, long gpa) {
        return w == WordSize.BITS_64 ? memory.getLong(gpa) : Integer.toUnsignedLong(memory.getInt(gpa));
    }

    /** Writes a xen_memory_reservation at {@link #ARGS} and the extents at {@link #ARRAY}; makes the call. */
    long reservation(WordSize w, int op, int order, long... gfns) {
        return reservationFrom(w, op, 0, order, 0, SELF, gfns.length, gfns);
    }

    long reservationFrom(WordSize w, int op, long startExtent, int order, int memFlags, int domid, long nrExtents,
            long... gfns) {
        writeReservation(w, ARGS, ARRAY, nrExtents, order, memFlags, domid);
        for (int i = 0; i < gfns.length; i++) {
            putWord(w, ARRAY + i * (w.bits() / 8L), gfns[i]);
        }
        return memoryOp(w, op | (startExtent << XenMem.EXTENT_SHIFT), ARGS);
    }

    void writeReservation(WordSize w, long at, long extentStart, long nr, int order, int memFlags, int domid) {
        memory.write(at, java.lang.foreign.MemorySegment.ofArray(new byte[32])); // clear
        putWord(w, at + XenMemoryReservation.offsetOfExtentStart(w), extentStart);
        putWord(w, at + XenMemoryReservation.offsetOfNrExtents(w), nr);
        memory.putInt(at + XenMemoryReservation.offsetOfExtentOrder(w), order);
        memory.putInt(at + XenMemoryReservation.offsetOfMemFlags(w), memFlags);
        memory.putShort(at + XenMemoryReservation.offsetOfDomid(w), (short) domid);
    }

    /** XENMEM_add_to_physmap at {@link #ARGS} + 512. */
    long addToPhysmap(WordSize w, int domid, int space, long idx, long gpfn) {
        long at = ARGS + 512;
        memory.putShort(at, (short) domid);
        memory.putShort(at + 2, (short) 0);
        memory.putInt(at + 4, space);
        putWord(w, at + org.jxen.abi.XenAddToPhysmap.offsetOfIdx(w), idx);
        putWord(w, at + org.jxen.abi.XenAddToPhysmap.offsetOfGpfn(w), gpfn);
        return memoryOp(w, XenMem.ADD_TO_PHYSMAP, at);
    }

    void mapGrantFrame(long idx, long gfn) {
        assertEquals(0, addToPhysmap(WordSize.BITS_64, SELF, XenMapSpace.GRANT_TABLE, idx, gfn));
    }

    /** Fills a page with a pattern derived from {@code seed}. */
    void fillPage(long gfn, long seed) {
        for (long o = 0; o < PAGE; o += 8) {
            memory.putLong(gfn * PAGE + o, seed ^ (o * 0x9E3779B97F4A7C15L));
        }
    }

    boolean pageHolds(long gfn, long seed) {
        for (long o = 0; o < PAGE; o += 8) {
            if (memory.getLong(gfn * PAGE + o) != (seed ^ (o * 0x9E3779B97F4A7C15L))) {
                return false;
            }
        }
        return true;
    }

    boolean pageIsZero(long gfn) {
        for (long o = 0; o < PAGE; o += 8) {
            if (memory.getLong(gfn * PAGE + o) != 0) {
                return false;
            }
        }
        return true;
    }
}

package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct sched_poll} ({@code xen/sched.h}): the argument of {@link SchedOp#POLL}: a guest
 * handle to an array of event-channel ports, their count, and an absolute timeout.
 *
 * <pre>
 * 64-bit guest (24 bytes)          32-bit guest (16 bytes)
 *  0 ports    handle {u64 p}        0 ports    handle {u32 p}
 *  8 nr_ports u32                   4 nr_ports u32
 * 16 timeout  u64                   8 timeout  u64
 * </pre>
 *
 * <p>Stateless, safe from any thread.
 */
public final class SchedPoll {
    private SchedPoll() {
    }

    private static final StructLayout L64 = MemoryLayout.structLayout(
            guestHandle(WordSize.BITS_64).withName("ports"),
            U32.withName("nr_ports"),
            MemoryLayout.paddingLayout(4),
            U64_ALIGN8.withName("timeout")).withName("sched_poll");
    private static final StructLayout L32 = MemoryLayout.structLayout(
            guestHandle(WordSize.BITS_32).withName("ports"),
            U32.withName("nr_ports"),
            U64_ALIGN4.withName("timeout")).withName("sched_poll");

    private static final long PORTS = CTypes.offset(L64, "ports");
    private static final long NR_PORTS_64 = CTypes.offset(L64, "nr_ports"), NR_PORTS_32 = CTypes.offset(L32, "nr_ports");
    private static final long TIMEOUT_64 = CTypes.offset(L64, "timeout"), TIMEOUT_32 = CTypes.offset(L32, "timeout");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 24 for a 64-bit guest, 16 for a 32-bit one. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfPorts(WordSize w) { return PORTS; }
    public static long offsetOfNrPorts(WordSize w) { return pick(w, NR_PORTS_64, NR_PORTS_32); }
    public static long offsetOfTimeout(WordSize w) { return pick(w, TIMEOUT_64, TIMEOUT_32); }

    /** {@code ports.p}: the guest virtual address of the {@code evtchn_port_t} array. */
    public static long ports(MemorySegment seg, WordSize w) { return getWord(seg, w, PORTS); }
    public static void setPorts(MemorySegment seg, WordSize w, long value) { setWord(seg, w, PORTS, value); }
    public static int nrPorts(MemorySegment seg, WordSize w) { return getU32(seg, offsetOfNrPorts(w)); }
    public static void setNrPorts(MemorySegment seg, WordSize w, int value) { setU32(seg, offsetOfNrPorts(w), value); }
    public static long timeout(MemorySegment seg, WordSize w) { return getU64(seg, offsetOfTimeout(w)); }
    public static void setTimeout(MemorySegment seg, WordSize w, long value) { setU64(seg, offsetOfTimeout(w), value); }
}

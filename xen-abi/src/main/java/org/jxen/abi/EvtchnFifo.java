package org.jxen.abi;

/**
 * Facts of the FIFO event-channel ABI ({@code xen/event_channel.h}, "FIFO ABI"): priorities, the
 * bits of an event word, and the sizes of the event array.
 *
 * <p>An event word is a {@code uint32_t} per port in the event array (guest pages added with
 * {@link EvtchnOp#EXPAND_ARRAY}, {@link #EVENT_WORDS_PER_PAGE} words per page):
 *
 * <pre>
 *  31 PENDING  30 MASKED  29 LINKED  28 BUSY  27..17 reserved  16..0 LINK (the next port in the queue)
 * </pre>
 *
 * Each vCPU has {@link #MAX_QUEUES} queues, one per priority (0 highest, 15 lowest), whose heads are
 * in its {@link EvtchnFifoControlBlock} and whose READY bits say which are not empty.
 *
 * <p>Constants and pure functions only; immutable and safe from any thread.
 */
public final class EvtchnFifo {
    private EvtchnFifo() {
    }

    /** {@code EVTCHN_FIFO_PRIORITY_MAX}: the highest priority. */
    public static final int PRIORITY_MAX = 0;
    /** {@code EVTCHN_FIFO_PRIORITY_DEFAULT}: the priority of a newly bound port. */
    public static final int PRIORITY_DEFAULT = 7;
    /** {@code EVTCHN_FIFO_PRIORITY_MIN}: the lowest priority. */
    public static final int PRIORITY_MIN = 15;
    /** {@code EVTCHN_FIFO_MAX_QUEUES}: one queue per priority. */
    public static final int MAX_QUEUES = PRIORITY_MIN + 1;

    /** Bit number of PENDING in an event word. */
    public static final int PENDING = 31;
    /** Bit number of MASKED. */
    public static final int MASKED = 30;
    /** Bit number of LINKED: the word is in a queue. */
    public static final int LINKED = 29;
    /** Bit number of BUSY: the hypervisor is writing LINK; the guest must not clear MASKED meanwhile. */
    public static final int BUSY = 28;

    /** {@code EVTCHN_FIFO_LINK_BITS}: the width of the LINK field. */
    public static final int LINK_BITS = 17;
    /** {@code EVTCHN_FIFO_LINK_MASK}: the LINK field, bits 16..0. */
    public static final int LINK_MASK = (1 << LINK_BITS) - 1;
    /** {@code EVTCHN_FIFO_NR_CHANNELS}: 2^17 ports. */
    public static final int NR_CHANNELS = 1 << LINK_BITS;

    /** Event words in one 4 KiB event-array page (Xen's {@code EVTCHN_FIFO_EVENT_WORDS_PER_PAGE}). */
    public static final int EVENT_WORDS_PER_PAGE = 4096 / 4;
    /** Event-array pages that cover every port (Xen's {@code EVTCHN_FIFO_MAX_EVENT_ARRAY_PAGES}). */
    public static final int MAX_EVENT_ARRAY_PAGES = NR_CHANNELS / EVENT_WORDS_PER_PAGE;

    /** The bit mask of bit number {@code bit} in an event word. */
    public static int bit(int bit) {
        return 1 << bit;
    }

    /** The byte offset of {@code port}'s event word inside its event-array page. */
    public static long wordOffsetInPage(int port) {
        return 4L * (port % EVENT_WORDS_PER_PAGE);
    }

    /** The index of the event-array page that holds {@code port}'s event word. */
    public static int page(int port) {
        return port / EVENT_WORDS_PER_PAGE;
    }
}

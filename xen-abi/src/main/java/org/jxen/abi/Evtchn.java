package org.jxen.abi;

/**
 * Event-channel facts that are not operation numbers: the port count of the 2-level ABI, which is
 * one bit per port in {@link SharedInfo}'s pending and mask bitmaps and so depends on the guest
 * word size, and the {@code DOMID_SELF} domain id ({@code xen/xen.h}).
 *
 * <p>Constants and pure functions only; immutable and safe from any thread.
 */
public final class Evtchn {
    private Evtchn() {
    }

    /** {@code DOMID_SELF}: "the calling domain" wherever a domid is expected. */
    public static final int DOMID_SELF = 0x7FF0;

    /**
     * The number of ports of the 2-level event-channel ABI ({@code EVTCHN_2L_NR_CHANNELS}): a
     * guest word of selector bits, each covering a word of ports, so 64 x 64 = 4096 for a
     * 64-bit guest and 32 x 32 = 1024 for a 32-bit one.
     */
    public static int nrChannels2Level(WordSize w) {
        return w.bits() * w.bits();
    }
}

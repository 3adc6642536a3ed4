package org.jxen.hypercalls.time;

/**
 * The pvclock's TSC-to-nanoseconds scale: {@code tsc_to_system_mul} (32.32 fixed point, always in
 * [2^31, 2^32)) and {@code tsc_shift} (signed). A TSC delta converts to nanoseconds as
 * <pre>
 *   d = shift >= 0 ? delta << shift : delta >>> -shift;
 *   ns = (d * mul) >> 32              (a 64 x 32 -> 96-bit product)
 * </pre>
 * which is Xen's {@code scale_delta} and Linux's {@code pvclock_scale_delta}. {@link #forFrequency}
 * computes the pair as KVM's {@code kvm_get_time_scale(NSEC_PER_SEC, tsc_hz)} does.
 *
 * <p>Immutable; safe from any thread.
 *
 * @param mul   {@code tsc_to_system_mul}, as an unsigned 32-bit value in an {@code int}
 * @param shift {@code tsc_shift}, -31..31 in practice
 */
public record TscScale(int mul, int shift) {
    private static final long NSEC_PER_SEC = 1_000_000_000L;

    /**
     * The scale for a TSC running at {@code tscHz} (1 kHz .. 2^62 Hz): ticks to nanoseconds.
     *
     * @throws IllegalArgumentException for a frequency outside that range
     */
    public static TscScale forFrequency(long tscHz) {
        return forRatio(NSEC_PER_SEC, tscHz);
    }

    /** The scale that converts units of {@code baseHz} to units of {@code scaledHz} ({@code kvm_get_time_scale}). */
    static TscScale forRatio(long scaledHz, long baseHz) {
        if (baseHz < 1000 || baseHz > (1L << 62) || scaledHz <= 0 || scaledHz > (1L << 62)) {
            throw new IllegalArgumentException("frequency out of range: " + baseHz + " Hz");
        }
        long tps64 = baseHz;
        long scaled64 = scaledHz;
        int shift = 0;
        while (tps64 > scaled64 * 2 || (tps64 & 0xffff_ffff_0000_0000L) != 0) {
            tps64 >>>= 1;
            shift--;
        }
        long tps32 = tps64 & 0xffff_ffffL;
        while (tps32 <= scaled64 || (scaled64 & 0xffff_ffff_0000_0000L) != 0) {
            if ((scaled64 & 0xffff_ffff_0000_0000L) != 0 || (tps32 & 0x8000_0000L) != 0) {
                scaled64 >>>= 1;
            } else {
                tps32 <<= 1;
            }
            shift++;
        }
        // div_frac: (scaled64 << 32) / tps32, with scaled64 < tps32 < 2^32
        long mul = Long.divideUnsigned(scaled64 << 32, tps32);
        return new TscScale((int) mul, shift);
    }

    /** {@code tsc_to_system_mul} as an unsigned value. */
    public long mulUnsigned() {
        return mul & 0xffff_ffffL;
    }

    /** Nanoseconds in {@code delta} TSC ticks (unsigned delta), exactly as the guest computes them. */
    public long scale(long delta) {
        return scale(delta, mul, shift);
    }

    /** {@code pvclock_scale_delta(delta, mul, shift)}: the guest's formula, for any mul and shift. */
    public static long scale(long delta, int mul, int shift) {
        long d = shift >= 0 ? delta << shift : delta >>> -shift;
        long m = mul & 0xffff_ffffL;
        long lo = d * m;
        long hi = Math.unsignedMultiplyHigh(d, m);
        return (hi << 32) | (lo >>> 32);
    }
}

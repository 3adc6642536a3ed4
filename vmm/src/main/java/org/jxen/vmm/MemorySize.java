package org.jxen.vmm;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A memory size as the command line gives it: a number of bytes with an optional suffix
 * {@code K}, {@code M} or {@code G} (powers of 1024; {@code KiB}, {@code MiB}, {@code GiB} and a
 * trailing {@code B} are accepted too), such as {@code 64M} or {@code 1G}. Stateless.
 */
final class MemorySize implements ITypeConverter<Long> {
    /** The smallest guest jxen boots: 2 MiB (the kernel, its start info and a stack must fit). */
    static final long MIN = 2L << 20;
    /** The largest: 64 GiB. */
    static final long MAX = 64L << 30;

    @Override
    public Long convert(String value) {
        return parse(value);
    }

    /** Bytes, or a {@link TypeConversionException} that says what is wrong in one line. */
    static long parse(String value) {
        String s = value.strip().toUpperCase(Locale.ROOT);
        if (s.endsWith("IB")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("B")) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                default -> shift = 0;
            }
        }
        if (shift != 0) {
            s = s.substring(0, s.length() - 1);
        }
        long n;
        try {
            n = Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a memory size (examples: 64M, 512M, 2G)");
        }
        if (n <= 0 || n > (MAX >> shift)) {
            throw new TypeConversionException("'" + value + "' is out of range: give 2M to 64G");
        }
        long bytes = n << shift;
        if (bytes < MIN) {
            throw new TypeConversionException("'" + value + "' is too small: give at least 2M");
        }
        if (bytes % 4096 != 0) {
            throw new TypeConversionException("'" + value + "' is not a whole number of 4 KiB pages");
        }
        return bytes;
    }
}

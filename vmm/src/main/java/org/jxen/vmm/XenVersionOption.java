package org.jxen.vmm;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --xen-version MAJOR.MINOR}: the Xen version the guest is told (CPUID and XENVER_version). */
record XenVersionOption(int major, int minor) {

    /** The picocli converter. Stateless. */
    static final class Converter implements ITypeConverter<XenVersionOption> {
        @Override
        public XenVersionOption convert(String value) {
            return parse(value);
        }
    }

    static XenVersionOption parse(String value) {
        String[] parts = value.strip().split("\\.");
        if (parts.length != 2) {
            throw new TypeConversionException("'" + value + "' is not a Xen version MAJOR.MINOR (for example 4.17)");
        }
        try {
            int major = Integer.parseInt(parts[0]);
            int minor = Integer.parseInt(parts[1]);
            if (major < 0 || major > 0xffff || minor < 0 || minor > 0xffff) {
                throw new TypeConversionException("'" + value + "': major and minor must each be 0 to 65535");
            }
            return new XenVersionOption(major, minor);
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a Xen version MAJOR.MINOR (for example 4.17)");
        }
    }

    @Override
    public String toString() {
        return major + "." + minor;
    }
}

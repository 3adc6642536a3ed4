package org.jxen.abi;

/**
 * The Xen interface this module follows: the Xen release whose public headers it was checked
 * against (4.17), the {@code __XEN_INTERFACE_VERSION__} those headers call the latest, and the
 * value the version hypercall and CPUID report for it.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class XenAbi {
    private XenAbi() {
    }

    /** The Xen major version of the ABI. */
    public static final int XEN_VERSION_MAJOR = 4;
    /** The Xen minor version of the ABI. */
    public static final int XEN_VERSION_MINOR = 17;
    /** {@code major << 16 | minor}, as {@link XenVersion#VERSION} and CPUID base+1 return it. */
    public static final int XEN_VERSION = (XEN_VERSION_MAJOR << 16) | XEN_VERSION_MINOR;
    /** {@code __XEN_LATEST_INTERFACE_VERSION__} of the Xen 4.17 headers. */
    public static final int XEN_INTERFACE_VERSION = 0x00040e00;
}

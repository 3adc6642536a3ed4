package org.jxen.abi;

/**
 * Sub-operations of {@link Hypercall#XEN_VERSION} ({@code XENVER_*} in {@code xen/version.h}) and the
 * sizes of the buffers they fill. {@link #VERSION} returns {@code major << 16 | minor}.
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class XenVersion {
    private XenVersion() {
    }

    public static final int VERSION = 0;
    public static final int EXTRAVERSION = 1;
    public static final int COMPILE_INFO = 2;
    public static final int CAPABILITIES = 3;
    public static final int CHANGESET = 4;
    public static final int PLATFORM_PARAMETERS = 5;
    public static final int GET_FEATURES = 6;
    public static final int PAGESIZE = 7;
    public static final int GUEST_HANDLE = 8;
    public static final int COMMANDLINE = 9;
    public static final int BUILD_ID = 10;

    /** Bytes of the {@link #EXTRAVERSION} answer ({@code xen_extraversion_t}, char[16]). */
    public static final int EXTRAVERSION_LEN = 16;
    /** Bytes of the {@link #COMPILE_INFO} answer ({@link XenCompileInfo}). */
    public static final int COMPILE_INFO_LEN = 144;
    /** Bytes of the {@link #CAPABILITIES} answer ({@code xen_capabilities_info_t}, char[1024]). */
    public static final int CAPABILITIES_LEN = 1024;
    /** Bytes of the {@link #CHANGESET} answer ({@code xen_changeset_info_t}, char[64]). */
    public static final int CHANGESET_LEN = 64;

    /** The {@link #VERSION} result: {@code major << 16 | minor}. */
    public static int versionValue(int major, int minor) {
        return (major << 16) | (minor & 0xFFFF);
    }

    /** The Xen name of a value (e.g. "version"), or "xenver_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case VERSION -> "version";
            case EXTRAVERSION -> "extraversion";
            case COMPILE_INFO -> "compile_info";
            case CAPABILITIES -> "capabilities";
            case CHANGESET -> "changeset";
            case PLATFORM_PARAMETERS -> "platform_parameters";
            case GET_FEATURES -> "get_features";
            case PAGESIZE -> "pagesize";
            case GUEST_HANDLE -> "guest_handle";
            case COMMANDLINE -> "commandline";
            case BUILD_ID -> "build_id";
            default -> "xenver_" + value;
        };
    }
}

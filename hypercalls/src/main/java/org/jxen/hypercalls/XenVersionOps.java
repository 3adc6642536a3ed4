package org.jxen.hypercalls;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Properties;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenCompileInfo;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenFeature;
import org.jxen.abi.XenVersion;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code xen_version}: the version, the strings a guest may ask for, the feature bits jxen really
 * offers, and the build's identity.
 *
 * <p>Threads: {@link #handle} on vCPU threads, each with its own calls; the build facts are
 * immutable, the domain handle is read from the domain.
 */
final class XenVersionOps {
    /** Size of {@code xen_domain_handle_t}: a UUID. */
    static final int GUEST_HANDLE_LEN = 16;
    /** Size of {@code xen_commandline_t}. */
    static final int COMMANDLINE_LEN = 1024;
    /** Capabilities of an HVM guest of either word size, as Xen lists them. */
    static final String CAPABILITIES = "hvm-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p";
    /** The features jxen always offers in submap 0 (see {@link XenFeature}); hvm_safe_pvclock is added with a guest TSC. */
    static final int FEATURES = (1 << XenFeature.WRITABLE_PAGE_TABLES) | (1 << XenFeature.AUTO_TRANSLATED_PHYSMAP)
            | (1 << XenFeature.HVM_CALLBACK_VECTOR); // what Xen gives any translated (HVM) guest, less vNUMA

    /** What the build wrote into build.properties, and the build id derived from it. */
    record BuildInfo(String version, String timestamp, String java, byte[] buildId) {
        static BuildInfo load() {
            Properties p = new Properties();
            try (InputStream in = XenVersionOps.class.getResourceAsStream("build.properties")) {
                if (in != null) {
                    p.load(in);
                }
            } catch (IOException e) {
                throw new IllegalStateException("cannot read org/jxen/hypercalls/build.properties", e);
            }
            String version = p.getProperty("version", "unknown");
            String timestamp = p.getProperty("timestamp", "unknown");
            String java = p.getProperty("java", System.getProperty("java.version"));
            try {
                // a SHA-1 over what identifies this build, 20 bytes like a GNU build-id note
                byte[] id = MessageDigest.getInstance("SHA-1")
                        .digest(("jxen " + version + " " + timestamp).getBytes(StandardCharsets.UTF_8));
                return new BuildInfo(version, timestamp, java, id);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-1 is missing from this JDK", e);
            }
        }
    }

    static final BuildInfo BUILD = BuildInfo.load();

    private final XenDomain domain;

    XenVersionOps(XenDomain domain) {
        this.domain = domain;
    }

    long handle(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        int cmd = (int) r.arg(0);
        long arg = r.arg(1);
        return switch (cmd) {
            case XenVersion.VERSION -> XenVersion.versionValue(domain.config().xenMajor(), domain.config().xenMinor());
            case XenVersion.EXTRAVERSION -> writeString(g, arg, domain.config().extraversion(), XenVersion.EXTRAVERSION_LEN);
            case XenVersion.COMPILE_INFO -> compileInfo(g, arg);
            case XenVersion.CAPABILITIES -> writeString(g, arg, CAPABILITIES, XenVersion.CAPABILITIES_LEN);
            case XenVersion.CHANGESET -> writeString(g, arg, "jxen " + BUILD.version(), XenVersion.CHANGESET_LEN);
            case XenVersion.PLATFORM_PARAMETERS -> {
                // virt_start: where a PV hypervisor's hole begins; an HVM guest has none, so 0 (as
                // current Xen reports to HVM guests); xen_ulong_t follows the guest's word size
                if (r.wordSize() == WordSize.BITS_64) {
                    g.writeU64(arg, 0);
                } else {
                    g.writeU32(arg, 0);
                }
                yield 0;
            }
            case XenVersion.GET_FEATURES -> {
                long index = g.readU32(arg);
                // the pvclock bit only when the platform has a guest TSC, so that it is written
                int submap0 = FEATURES | (domain.pvclocks().available() ? 1 << XenFeature.HVM_SAFE_PVCLOCK : 0);
                g.writeU32(arg + 4, index == 0 ? submap0 : 0);
                yield 0;
            }
            case XenVersion.PAGESIZE -> 4096;
            case XenVersion.GUEST_HANDLE -> {
                byte[] handle = domain.handle();
                yield g.copyToGuest(MemorySegment.ofArray(handle), arg);
            }
            // jxen has no hypervisor command line: the guest reads an empty string
            case XenVersion.COMMANDLINE -> writeString(g, arg, "", COMMANDLINE_LEN);
            case XenVersion.BUILD_ID -> buildId(g, arg);
            default -> -XenErrno.ENOSYS;
        };
    }

    /** struct xen_compile_info: compiler[64], compile_by[16], compile_domain[32], compile_date[32]. */
    private static long compileInfo(GuestVirtualMemory g, long gva) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(XenVersion.COMPILE_INFO_LEN);
            XenCompileInfo.setCompiler(buf, "javac " + BUILD.java());
            XenCompileInfo.setCompileBy(buf, "jxen");
            XenCompileInfo.setCompileDomain(buf, "jxen.org");
            XenCompileInfo.setCompileDate(buf, BUILD.timestamp());
            return g.copyToGuest(buf, gva);
        }
    }

    /**
     * struct xen_build_id {u32 len; u8 buf[]}: a null handle asks for the size; a buffer shorter than
     * the id is {@code -ENOBUFS}; otherwise the id is written and its length returned.
     */
    private static long buildId(GuestVirtualMemory g, long gva) {
        byte[] id = BUILD.buildId();
        if (gva == 0) {
            return id.length;
        }
        long len = g.readU32(gva);
        if (len < id.length) {
            return -XenErrno.ENOBUFS;
        }
        long rc = g.copyToGuest(MemorySegment.ofArray(id), gva + 4);
        return rc != 0 ? rc : id.length;
    }

    private static void putString(MemorySegment buf, long offset, int size, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(MemorySegment.ofArray(b), 0, buf, offset, Math.min(b.length, size - 1));
    }

    /** Writes {@code s} NUL-terminated and NUL-padded into a fixed {@code size}-byte guest field. */
    private static long writeString(GuestVirtualMemory g, long gva, String s, int size) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(size);
            putString(buf, 0, size, s);
            return g.copyToGuest(buf, gva);
        }
    }
}

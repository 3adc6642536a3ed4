package org.jxen.hypercalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenFeature;
import org.jxen.abi.XenVersion;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code xen_version}: the version, strings and feature bits a guest asks for.
 *
 * <p>Threads: {@link #handle} on vCPU threads, each with its own calls; state lives in the domain.
 */
final class XenVersionOps {
    private final XenDomain domain;
    private final XenPlatform platform;

    XenVersionOps(XenDomain domain, XenPlatform platform) {
        this.domain = domain;
        this.platform = platform;
    }

    long handle(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        return xenVersion(g, (int) r.arg(0), r.arg(1));
    }

    private long xenVersion(GuestVirtualMemory g, int cmd, long arg) {
        return switch (cmd) {
            case XenVersion.VERSION -> ((long) domain.config().xenMajor() << 16) | domain.config().xenMinor();
            case XenVersion.EXTRAVERSION -> writeString(g, arg, domain.config().extraversion(), XenVersion.EXTRAVERSION_LEN);
            case XenVersion.CAPABILITIES -> writeString(g, arg, "hvm-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p",
                    XenVersion.CAPABILITIES_LEN);
            case XenVersion.CHANGESET -> writeString(g, arg, "jxen", XenVersion.CHANGESET_LEN);
            case XenVersion.PAGESIZE -> 4096;
            case XenVersion.GET_FEATURES -> {
                long idx = g.readU32(arg);
                // submap 0: the callback vector; the pvclock only when the platform has a guest
                // TSC, so that it is written
                int submap0 = (1 << XenFeature.HVM_CALLBACK_VECTOR)
                        | (domain.pvclocks().available() ? 1 << XenFeature.HVM_SAFE_PVCLOCK : 0);
                g.writeU32(arg + 4, idx == 0 ? submap0 : 0);
                yield 0;
            }
            default -> -XenErrno.ENOSYS;
        };
    }

    private static long writeString(GuestVirtualMemory g, long gva, String s, int size) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(size);
            byte[] b = s.getBytes(StandardCharsets.US_ASCII);
            MemorySegment.copy(MemorySegment.ofArray(b), 0, buf, 0, Math.min(b.length, size - 1));
            return g.copyToGuest(buf, gva);
        }
    }
}

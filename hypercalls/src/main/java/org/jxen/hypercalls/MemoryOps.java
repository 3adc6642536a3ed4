package org.jxen.hypercalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenMapSpace;
import org.jxen.abi.XenMem;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code memory_op}: where the guest places Xen frames, and its memory reservation.
 *
 * <p>Threads: {@link #handle} on vCPU threads, each with its own calls; state lives in the domain.
 */
final class MemoryOps {
    private final XenDomain domain;
    private final XenPlatform platform;

    MemoryOps(XenDomain domain, XenPlatform platform) {
        this.domain = domain;
        this.platform = platform;
    }

    long handle(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        return memoryOp(g, (int) r.arg(0), r.arg(1));
    }

    private long memoryOp(GuestVirtualMemory g, int cmd, long arg) {
        if (cmd != XenMem.ADD_TO_PHYSMAP) {
            return -XenErrno.ENOSYS;
        }
        WordSize w = domain.wordSize();
        int dom = domain.self(g.readU16(arg));
        int space = (int) g.readU32(arg + 4);
        long idx = w == WordSize.BITS_64 ? g.readU64(arg + 8) : g.readU32(arg + 8);
        long gpfn = w == WordSize.BITS_64 ? g.readU64(arg + 16) : g.readU32(arg + 12);
        if (dom != domain.config().domid()) {
            return -XenErrno.ESRCH;
        }
        if (space != XenMapSpace.SHARED_INFO) {
            return -XenErrno.ENOSYS;
        }
        if (idx != 0 || gpfn < 0 || gpfn > (Long.MAX_VALUE >>> 12) || !platform.memory().isBacked(gpfn << 12, 4096)) {
            return -XenErrno.EINVAL;
        }
        // The first mapping gives a fresh shared_info: events neither pending nor masked, as on a new
        // Xen domain. A later mapping moves it, contents and all (pending bits, masks, vcpu_info),
        // as Xen moves its page. Only the structure is written, not the rest of the frame: Xen
        // replaces the whole frame, KVM writes nothing; guests that share the frame keep the rest.
        if (domain.sharedInfoGfn() != gpfn) { // mapping the same frame again leaves it as it is
            try (Arena a = Arena.ofConfined()) {
                MemorySegment content = a.allocate(org.jxen.abi.SharedInfo.sizeof(w));
                var old = domain.sharedInfoGfn() >= 0 ? domain.sharedInfoCache().lock() : null;
                if (old != null) {
                    try {
                        old.copyTo(0, content);
                    } finally {
                        domain.sharedInfoCache().unlock();
                    }
                }
                platform.memory().write(gpfn << 12, content);
            }
        }
        domain.sharedInfoCache().activate(gpfn << 12, 4096);
        domain.setSharedInfoGfn(gpfn);
        domain.writeWallClock(w);
        domain.pvclocks().updateAllNow(); // vcpu_info.time of the vCPUs whose vcpu_info is in shared_info
        domain.eventChannels().flushDeferred();
        return 0;
    }
}

package org.jxen.hypercalls;

import java.lang.foreign.MemorySegment;
import org.jxen.abi.ConsoleIo;
import org.jxen.abi.XenErrno;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code console_io}: the guest writes to (and reads from) the Xen console.
 *
 * <p>Threads: {@link #handle} on vCPU threads, each with its own calls; state lives in the domain.
 */
final class ConsoleIoOps {
    private final XenDomain domain;
    private final XenPlatform platform;

    ConsoleIoOps(XenDomain domain, XenPlatform platform) {
        this.domain = domain;
        this.platform = platform;
    }

    long handle(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        return consoleIo(g, (int) r.arg(0), r.arg(1), r.arg(2));
    }

    private long consoleIo(GuestVirtualMemory g, int cmd, long count, long buffer) {
        if (cmd == ConsoleIo.READ) {
            return 0; // no console input yet
        }
        if (cmd != ConsoleIo.WRITE) {
            return -XenErrno.ENOSYS;
        }
        if (count < 0 || count > Integer.MAX_VALUE) {
            return -XenErrno.EINVAL;
        }
        byte[] chunk = new byte[(int) Math.min(count, 4096)];
        long done = 0;
        while (done < count) {
            int n = (int) Math.min(chunk.length, count - done);
            MemorySegment dst = MemorySegment.ofArray(chunk).asSlice(0, n);
            if (g.copyFromGuest(buffer + done, dst) != 0) {
                return -XenErrno.EFAULT;
            }
            platform.consoleWrite(chunk, 0, n);
            done += n;
        }
        return count;
    }
}

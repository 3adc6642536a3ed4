package org.jxen.hypercalls;

import java.lang.foreign.MemorySegment;
import org.jxen.abi.ConsoleIo;
import org.jxen.abi.XenErrno;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code console_io}: the guest writes to and reads from the Xen console. The count is an
 * {@code unsigned int}, so up to 4 GiB - 1: both directions copy through a 4 KiB buffer, never a
 * host allocation of the guest's size. jxen's guest is its console domain, so both operations are
 * allowed (Xen allows them to the console domain only).
 *
 * <p>Threads: {@link #handle} on vCPU threads; each call uses its own 4 KiB buffer.
 */
final class ConsoleIoOps {
    static final int CHUNK = 4096;

    private final XenDomain domain;
    private final XenPlatform platform;

    ConsoleIoOps(XenDomain domain, XenPlatform platform) {
        this.domain = domain;
        this.platform = platform;
    }

    long handle(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        int cmd = (int) r.arg(0);
        long count = r.arg(1) & 0xffffffffL;
        long buffer = r.arg(2);
        return switch (cmd) {
            case ConsoleIo.WRITE -> write(g, v.id(), count, buffer);
            case ConsoleIo.READ -> read(g, count, buffer);
            default -> -XenErrno.ENOSYS;
        };
    }

    /**
     * Copies {@code count} bytes to the console; 0 when all were written, as in Xen. Xen preempts a
     * long write and resumes it; jxen cannot, so once the host stops the vCPU for good the rest is
     * not written ({@code -EINTR}).
     */
    private long write(GuestVirtualMemory g, int vcpu, long count, long buffer) {
        byte[] chunk = new byte[(int) Math.min(count, CHUNK)];
        for (long done = 0; done < count;) {
            if (done > 0 && platform.vcpuMustStop(vcpu)) {
                return -XenErrno.EINTR;
            }
            int n = (int) Math.min(chunk.length, count - done);
            if (g.copyFromGuest(buffer + done, MemorySegment.ofArray(chunk).asSlice(0, n)) != 0) {
                return -XenErrno.EFAULT;
            }
            platform.consoleWrite(chunk, 0, n);
            done += n;
        }
        return 0;
    }

    /**
     * Copies up to {@code count} waiting input bytes to the guest; returns how many. Holds the
     * input's monitor throughout (at most {@link ConsoleInput#CAPACITY} bytes are copied), so that
     * bytes put back after a failed copy are still the oldest: no producer or other vCPU gets in
     * between.
     */
    private long read(GuestVirtualMemory g, long count, long buffer) {
        ConsoleInput input = domain.consoleInput();
        byte[] chunk = new byte[(int) Math.min(count, CHUNK)];
        long done = 0;
        synchronized (input) {
            while (done < count) {
                int n = input.take(chunk, (int) Math.min(chunk.length, count - done));
                if (n == 0) {
                    break;
                }
                if (g.copyToGuest(MemorySegment.ofArray(chunk).asSlice(0, n), buffer + done) != 0) {
                    input.untake(n); // not received: the bytes stay for the next read
                    return done > 0 ? done : -XenErrno.EFAULT;
                }
                done += n;
            }
        }
        return done;
    }
}

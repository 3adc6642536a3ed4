package org.jxen.hypercalls;

import org.jxen.abi.Hypercall;
import org.jxen.abi.MulticallEntry;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code multicall(call_list, nr_calls)}: runs each {@code multicall_entry} of the guest's array in
 * order, as if the guest had made the calls one by one, and writes each result into its entry. The
 * call itself returns 0, or {@code -EFAULT} when an entry cannot be read or its result cannot be
 * written (the entries before it have run). A multicall inside a multicall is refused with
 * {@code -EINVAL} in that entry, as Xen refuses re-entry.
 *
 * <p>Xen preempts a long multicall and resumes it later (a continuation); jxen cannot yet, and a
 * guest whose page tables alias one page at every address can pass 2^32 - 1 entries. So once the
 * host stops the vCPU for good ({@link XenPlatform#vcpuMustStop}) the call ends with
 * {@code -EINTR} before its next entry; a pause waits for the call to end (docs/hypercalls.md, "A
 * hostile guest").
 *
 * <p>Threads: {@link #handle} on vCPU threads; each vCPU has its own request object for the entries.
 */
final class MulticallOps {
    private final XenDomain domain;
    private final XenPlatform platform;
    private final HypercallRequest[] entryRequests;

    MulticallOps(XenDomain domain, XenPlatform platform, int vcpus) {
        this.domain = domain;
        this.platform = platform;
        this.entryRequests = new HypercallRequest[vcpus];
        for (int i = 0; i < vcpus; i++) {
            entryRequests[i] = new HypercallRequest(i);
        }
    }

    long handle(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        WordSize w = r.wordSize();
        long list = r.arg(0);
        long nr = r.arg(1) & 0xffffffffL;
        long size = MulticallEntry.sizeof(w);
        long wordMask = w == WordSize.BITS_64 ? -1L : 0xffffffffL;
        HypercallRequest e = entryRequests[v.id()];
        for (long i = 0; i < nr; i++) {
            if (i > 0 && platform.vcpuMustStop(v.id())) {
                return -XenErrno.EINTR; // the VM is going away: give up rather than keep its vCPU
            }
            long at = list + i * size;
            long op = read(g, w, at + MulticallEntry.offsetOfOp(w));
            long a = MulticallEntry.offsetOfArgs(w);
            // op is an unsigned long: a 64-bit value with high bits set is no hypercall (never
            // truncate it to one, or 0xffffffff_0000000d would run a nested multicall)
            boolean unknown = Long.compareUnsigned(op, Integer.MAX_VALUE) > 0;
            e.set(unknown ? -1 : (int) op,
                    read(g, w, at + a) & wordMask, read(g, w, at + a + w.bytes()) & wordMask,
                    read(g, w, at + a + 2L * w.bytes()) & wordMask, read(g, w, at + a + 3L * w.bytes()) & wordMask,
                    read(g, w, at + a + 4L * w.bytes()) & wordMask, read(g, w, at + a + 5L * w.bytes()) & wordMask,
                    w, r.cpl());
            long result;
            if (op == Hypercall.MULTICALL) {
                result = -XenErrno.EINVAL;
            } else if (unknown) {
                result = -XenErrno.ENOSYS;
            } else {
                result = domain.call(g, v, e);
            }
            long resultAt = at + MulticallEntry.offsetOfResult(w);
            if (w == WordSize.BITS_64) {
                g.writeU64(resultAt, result);
            } else {
                g.writeU32(resultAt, (int) result);
            }
        }
        return 0;
    }

    private static long read(GuestVirtualMemory g, WordSize w, long gva) {
        return w == WordSize.BITS_64 ? g.readU64(gva) : g.readU32(gva);
    }
}

package org.jxen.hypercalls;

import org.jxen.abi.WordSize;

/**
 * One hypercall as the transport decoded it from the calling vCPU's registers: the number, six
 * arguments (64-bit guests: {@code rdi rsi rdx r10 r8 r9}; 32-bit guests: {@code ebx ecx edx esi edi
 * ebp}, zero-extended), the guest's word size and its privilege level.
 *
 * <p>Threads: owned by one vCPU thread, which reuses the same object for every call it makes, so a
 * hypercall costs no allocation. A handler must not keep it past its return.
 */
public final class HypercallRequest {
    private final int vcpuId;
    private int number;
    private final long[] args = new long[6];
    private WordSize wordSize = WordSize.BITS_64;
    private int cpl;

    public HypercallRequest(int vcpuId) {
        this.vcpuId = vcpuId;
    }

    /** Fills in a call; for the transport. */
    public HypercallRequest set(int number, long a0, long a1, long a2, long a3, long a4, long a5, WordSize wordSize,
            int cpl) {
        this.number = number;
        args[0] = a0;
        args[1] = a1;
        args[2] = a2;
        args[3] = a3;
        args[4] = a4;
        args[5] = a5;
        this.wordSize = wordSize;
        this.cpl = cpl;
        return this;
    }

    public int vcpuId() {
        return vcpuId;
    }

    public int number() {
        return number;
    }

    /** Argument {@code i} (0 to 5), already zero-extended for a 32-bit guest. */
    public long arg(int i) {
        return args[i];
    }

    public WordSize wordSize() {
        return wordSize;
    }

    /** The current privilege level of the caller: 0 for a kernel. */
    public int cpl() {
        return cpl;
    }

    @Override
    public String toString() {
        return "hypercall " + number + " from vcpu " + vcpuId + " (" + wordSize + ", cpl " + cpl + ") args ["
                + Long.toHexString(args[0]) + ", " + Long.toHexString(args[1]) + ", " + Long.toHexString(args[2])
                + ", " + Long.toHexString(args[3]) + ", " + Long.toHexString(args[4]) + ", "
                + Long.toHexString(args[5]) + "]";
    }
}

package org.jxen.kvm.boot;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.jxen.gpc.GuestMemory;

/**
 * Makes a kernel that issues Xen hypercalls with {@code vmcall}/{@code vmmcall} itself, instead of
 * through a hypercall page, usable on a KVM host where those instructions cannot leave the kernel
 * (no {@code KVM_CAP_XEN_HVM}; see HOST-KVM-NOTES.md): the two hypercall instructions are rewritten
 * into jxen's port doorbell ({@code out %eax, $0xe4}, one {@code nop} of padding), which the vCPU
 * loop serves exactly as a call through jxen's hypercall page. The calling convention is unchanged
 * (number in {@code eax}, arguments in registers, result in {@code rax}).
 *
 * <p>Linux has used no hypercall page since the fixes for XSA-466 (2024, also in the stable
 * kernels): every hypercall goes through one of two tiny functions chosen by CPU vendor, each one
 * instruction and a return, the Intel one 16 to 64 bytes after the AMD one (Linux 6.1: 16; Linux
 * 6.12 with call padding and indirect branch tracking: 32, each starting with {@code endbr64}):
 * <pre>
 *   X:       [f3 0f 1e fa]    [endbr64]
 *            0f 01 d9         vmmcall        (AMD)
 *            c3 | e9 rel32    ret | jmp to the return thunk
 *   X + 16k: [f3 0f 1e fa]    [endbr64]
 *            0f 01 c1         vmcall         (Intel)
 *            c3 | e9 rel32    the same return (the same thunk)
 * </pre>
 * with X 16-byte aligned in an executable segment. {@link #find} looks for exactly that pair in
 * the image's executable {@code PT_LOAD} segments; nothing is rewritten unless exactly one pair is
 * found (none: the kernel uses the hypercall page; several: the pattern is ambiguous). Stateless.
 */
public final class VmcallRewrite {
    /** {@code vmmcall}. */
    static final byte[] VMMCALL = {0x0f, 0x01, (byte) 0xd9};
    /** {@code vmcall}. */
    static final byte[] VMCALL = {0x0f, 0x01, (byte) 0xc1};
    /** {@code out %eax, $0xe4; nop}: the doorbell of jxen's hypercall page, padded to 3 bytes. */
    static final byte[] DOORBELL = {(byte) 0xe7, (byte) 0xe4, (byte) 0x90};

    private VmcallRewrite() {
    }

    /** The guest-physical addresses of the {@code vmmcall} and {@code vmcall} instructions, or none. */
    public record Sites(List<Long> gpas, int pairsFound) {
    }

    /** Finds the hypercall instruction pair in {@code image}'s executable segments. */
    public static Sites find(ElfImage image) {
        List<Long> found = new ArrayList<>();
        int pairs = 0;
        for (LoadSegment s : image.segments()) {
            if ((s.flags() & LoadSegment.PF_X) == 0 || s.fileSize() < 32) {
                continue;
            }
            MemorySegment data = image.segmentData(s);
            long size = data.byteSize();
            // the pair's first function is 16-byte aligned in the virtual (and physical) address space
            long first = (16 - (s.virtualAddress() & 15)) & 15;
            for (long off = first; off + 16 <= size; off += 16) {
                long amd = instruction(data, off, VMMCALL);
                if (amd < 0) {
                    continue;
                }
                long ret = returnTarget(data, amd + 3, s.virtualAddress() + amd + 3);
                if (ret == Long.MIN_VALUE) {
                    continue;
                }
                for (long d = 16; d <= 64 && off + d + 16 <= size; d += 16) {
                    long intel = instruction(data, off + d, VMCALL);
                    if (intel >= 0 && returnTarget(data, intel + 3, s.virtualAddress() + intel + 3) == ret) {
                        pairs++;
                        found.add(s.physicalAddress() + amd);
                        found.add(s.physicalAddress() + intel);
                        break;
                    }
                }
            }
        }
        return pairs == 1 ? new Sites(List.copyOf(found), 1) : new Sites(List.of(), pairs);
    }

    /**
     * Rewrites the sites of {@link #find} in guest memory (the kernel is loaded already). Returns the
     * sites rewritten; none when the kernel has no such pair or several.
     */
    public static Sites apply(ElfImage image, GuestMemory memory) {
        Sites sites = find(image);
        for (long gpa : sites.gpas()) {
            if (!memory.write(gpa, MemorySegment.ofArray(DOORBELL))) {
                throw new IllegalStateException(String.format("hypercall instruction at 0x%x is not in guest RAM", gpa));
            }
        }
        return sites;
    }

    /** {@code endbr64}, which may open a function under indirect branch tracking. */
    static final byte[] ENDBR64 = {(byte) 0xf3, 0x0f, 0x1e, (byte) 0xfa};

    /** The offset of {@code insn} at the function start {@code off} (after an optional endbr64), or -1. */
    private static long instruction(MemorySegment data, long off, byte[] insn) {
        if (matches(data, off, insn)) {
            return off;
        }
        return matches(data, off, ENDBR64) && matches(data, off + 4, insn) ? off + 4 : -1;
    }

    private static boolean matches(MemorySegment data, long off, byte[] want) {
        for (int i = 0; i < want.length; i++) {
            if (data.get(ValueLayout.JAVA_BYTE, off + i) != want[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * What the instruction at {@code off} returns through: 0 for {@code ret} ({@code c3}), the target
     * of {@code jmp rel32} ({@code e9}), or {@code Long.MIN_VALUE} for anything else.
     */
    private static long returnTarget(MemorySegment data, long off, long va) {
        byte op = data.get(ValueLayout.JAVA_BYTE, off);
        if (op == (byte) 0xc3) {
            return 0;
        }
        if (op == (byte) 0xe9 && off + 5 <= data.byteSize()) {
            int rel = data.get(ValueLayout.JAVA_INT_UNALIGNED, off + 1);
            return va + 5 + rel;
        }
        return Long.MIN_VALUE;
    }
}

package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct vcpu_register_time_memory_area} ({@code xen/vcpu.h}): the argument of
 * {@link VcpuOp#REGISTER_VCPU_TIME_MEMORY_AREA}, one guest virtual address of a {@link VcpuTimeInfo}. The
 * address is a union of a guest handle {@code h}, a pointer {@code v} and a {@code uint64_t p},
 * so the structure is 8 bytes in both forms (aligned to 4 in a 32-bit guest).
 *
 * <pre>
 *  0 addr  union { h: guest handle, v: pointer, p: u64 }
 * </pre>
 *
 * <p>A 32-bit guest may set only the pointer {@code v}; its upper half is then undefined, so
 * {@link #addr(MemorySegment, WordSize)} reads just a guest word. Stateless, safe from any thread.
 */
public final class VcpuRegisterTimeMemoryArea {
    private VcpuRegisterTimeMemoryArea() {
    }

    private static final StructLayout L64 = make(WordSize.BITS_64);
    private static final StructLayout L32 = make(WordSize.BITS_32);

    private static StructLayout make(WordSize w) {
        return MemoryLayout.structLayout(
                MemoryLayout.unionLayout(
                        guestHandle(w).withName("h"),
                        ulong(w).withName("v"),
                        u64(w).withName("p")).withName("addr")).withName("vcpu_register_time_memory_area");
    }

    private static final long ADDR = CTypes.offset(L64, "addr");

    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 8 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfAddr(WordSize w) { return ADDR; }

    /** The guest virtual address: 64 bits for a 64-bit guest, the low 32 bits for a 32-bit one. */
    public static long addr(MemorySegment seg, WordSize w) { return getWord(seg, w, ADDR); }

    /** Writes the whole 8-byte union: the address, zero-extended from 32 bits for a 32-bit guest. */
    public static void setAddr(MemorySegment seg, WordSize w, long value) {
        setU64(seg, ADDR, w == WordSize.BITS_64 ? value : value & 0xFFFF_FFFFL);
    }
}

package org.jxen.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Accessors for a {@code struct kvm_sregs} in memory (the sync-regs copy in {@code kvm_run}, or a
 * buffer for {@code KVM_GET_SREGS}/{@code KVM_SET_SREGS}). Stateless; the caller owns the memory.
 */
public final class Sregs {
    public static final long SIZE = 312;
    public static final long CS = 0;
    public static final long DS = 24;
    public static final long ES = 48;
    public static final long FS = 72;
    public static final long GS = 96;
    public static final long SS = 120;
    public static final long TR = 144;
    public static final long LDT = 168;
    public static final long GDT = 192;
    public static final long IDT = 208;
    public static final long CR0 = 224;
    public static final long CR2 = 232;
    public static final long CR3 = 240;
    public static final long CR4 = 248;
    public static final long CR8 = 256;
    public static final long EFER = 264;
    public static final long APIC_BASE = 272;

    /** EFER.SCE: {@code syscall}/{@code sysret} enabled. */
    public static final long EFER_SCE = 1L;
    public static final long EFER_LME = 1L << 8;
    public static final long EFER_LMA = 1L << 10;

    private Sregs() {
    }

    /** A segment register's cached descriptor ({@code struct kvm_segment}, 24 bytes). */
    public record Segment(long base, int limit, int selector, int type, boolean present, int dpl, boolean db,
            boolean s, boolean l, boolean g) {

        /** A flat 4 GiB segment: {@code type} 0xb for 32-bit code, 0x3 for data, with {@code l} for 64-bit code. */
        public static Segment flat(int selector, int type, boolean longMode) {
            return new Segment(0, 0xffffffff, selector, type, true, 0, !longMode, true, longMode, true);
        }

        static Segment read(MemorySegment m, long at) {
            return new Segment(m.get(ValueLayout.JAVA_LONG, at), m.get(ValueLayout.JAVA_INT, at + 8),
                    Short.toUnsignedInt(m.get(ValueLayout.JAVA_SHORT, at + 12)), m.get(ValueLayout.JAVA_BYTE, at + 14),
                    m.get(ValueLayout.JAVA_BYTE, at + 15) != 0, m.get(ValueLayout.JAVA_BYTE, at + 16),
                    m.get(ValueLayout.JAVA_BYTE, at + 17) != 0, m.get(ValueLayout.JAVA_BYTE, at + 18) != 0,
                    m.get(ValueLayout.JAVA_BYTE, at + 19) != 0, m.get(ValueLayout.JAVA_BYTE, at + 20) != 0);
        }

        void write(MemorySegment m, long at) {
            m.set(ValueLayout.JAVA_LONG, at, base);
            m.set(ValueLayout.JAVA_INT, at + 8, limit);
            m.set(ValueLayout.JAVA_SHORT, at + 12, (short) selector);
            m.set(ValueLayout.JAVA_BYTE, at + 14, (byte) type);
            m.set(ValueLayout.JAVA_BYTE, at + 15, (byte) (present ? 1 : 0));
            m.set(ValueLayout.JAVA_BYTE, at + 16, (byte) dpl);
            m.set(ValueLayout.JAVA_BYTE, at + 17, (byte) (db ? 1 : 0));
            m.set(ValueLayout.JAVA_BYTE, at + 18, (byte) (s ? 1 : 0));
            m.set(ValueLayout.JAVA_BYTE, at + 19, (byte) (l ? 1 : 0));
            m.set(ValueLayout.JAVA_BYTE, at + 20, (byte) (g ? 1 : 0));
            m.set(ValueLayout.JAVA_BYTE, at + 21, (byte) 0); // avl
            m.set(ValueLayout.JAVA_BYTE, at + 22, (byte) (present ? 0 : 1)); // unusable
        }
    }

    public static Segment segment(MemorySegment sregs, long which) {
        return Segment.read(sregs, which);
    }

    public static void setSegment(MemorySegment sregs, long which, Segment s) {
        s.write(sregs, which);
    }

    public static long get(MemorySegment sregs, long field) {
        return sregs.get(ValueLayout.JAVA_LONG, field);
    }

    public static void set(MemorySegment sregs, long field, long value) {
        sregs.set(ValueLayout.JAVA_LONG, field, value);
    }

    /** Sets a descriptor table register ({@link #GDT} or {@link #IDT}). */
    public static void setTable(MemorySegment sregs, long which, long base, int limit) {
        sregs.set(ValueLayout.JAVA_LONG, which, base);
        sregs.set(ValueLayout.JAVA_SHORT, which + 8, (short) limit);
    }

    /** The CS selector's DPL field of the cached descriptor: the current privilege level. */
    public static int cpl(MemorySegment sregs) {
        return sregs.get(ValueLayout.JAVA_BYTE, CS + 16) & 3;
    }

    /** True when the vCPU executes 64-bit code (EFER.LMA and CS.L). */
    public static boolean is64BitCode(MemorySegment sregs) {
        return (get(sregs, EFER) & EFER_LMA) != 0 && sregs.get(ValueLayout.JAVA_BYTE, CS + 19) != 0;
    }
}

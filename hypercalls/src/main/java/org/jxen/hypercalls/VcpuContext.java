package org.jxen.hypercalls;

import java.lang.foreign.MemorySegment;
import org.jxen.abi.VcpuHvmContext;
import org.jxen.abi.VcpuHvmContext.Reg32;
import org.jxen.abi.VcpuHvmContext.Reg64;

/**
 * The register state a vCPU starts from after {@code VCPUOP_initialise} and {@code VCPUOP_up}:
 * a {@code vcpu_hvm_context} ({@link VcpuHvmContext}) checked by Xen's rules and made complete, so
 * that the platform only copies it into the machine's registers.
 *
 * <p>What {@link #decode} accepts, as Xen's {@code arch_set_info_hvm_guest} does: {@code pad},
 * {@code pad1} and {@code pad2} zero; mode 32: CS, SS and TR usable, DS and ES usable or null
 * (attributes 0), each usable one present, a code or data segment where one is due (CS code; SS
 * writable data; DS, ES readable; TR a busy 32-bit TSS), no attribute bits 12-15, EIP inside the CS
 * limit, SS.DPL == CS.DPL, DS and ES DPL not above CS.DPL, EFER.LMA only with EFER.LME; the
 * accessed bit of present code and data segments and the busy bit of TR are set. Mode 64: RIP
 * canonical, CR0.PG, CR4.PAE and EFER.LME set; the segments are flat (CS 64-bit code, attributes
 * 0xa9b; DS, ES, SS data 0xc93; TR a busy TSS 0x8b with limit 0x67). Both: EFER.LMA follows
 * EFER.LME; EFLAGS keeps only its architectural bits and gets bit 1. In addition to Xen (whose
 * equivalents depend on the CPU policy or on the hardware catching them), jxen refuses what no x86
 * vCPU can run: unknown CR4 or EFER bits, CR0.PG without CR0.PE, and EFER.LMA without CR0.PG and
 * CR4.PAE. The platform may refuse more (what its CPU cannot do) with {@code -EINVAL}.
 *
 * <p>Immutable; any thread.
 *
 * @param longMode true for a context given in mode 64 (the vCPU starts in 64-bit mode)
 * @param cs       hidden parts of the segment registers; selectors are 0 (the context has none)
 */
public record VcpuContext(boolean longMode, long rax, long rcx, long rdx, long rbx, long rsp, long rbp, long rsi,
        long rdi, long rip, long rflags, long cr0, long cr3, long cr4, long efer, Segment cs, Segment ds, Segment ss,
        Segment es, Segment tr) {

    /** Size of the guest's structure. */
    public static final int SIZE = 128;

    public static final long CR0_PE = 1L;
    public static final long CR0_PG = 1L << 31;
    public static final long CR4_PAE = 1L << 5;
    public static final long EFER_SCE = 1L;
    public static final long EFER_LME = 1L << 8;
    public static final long EFER_LMA = 1L << 10;
    public static final long EFER_NXE = 1L << 11;
    /** EFLAGS bits a context may set (Xen's {@code X86_EFLAGS_ALL}); bit 1 is always set. */
    public static final long RFLAGS_ARCH = 0x3f7fd5L;
    public static final long RFLAGS_MBS = 0x2L;
    /** CR4 bits that exist (0-14, 16-18, 20-24); the rest are reserved. */
    public static final long CR4_KNOWN = 0x1f77fffL;

    /** The attribute bits of a segment ({@code _ar}): present, and the type bits. */
    public static final int AR_PRESENT = 1 << 7;
    public static final int AR_S = 1 << 4;

    /**
     * One segment register's hidden part. {@code limit} is a byte limit (0xffffffff for a flat 4 GiB
     * segment), as VMX and {@code struct kvm_segment} hold it; {@code attributes} is the
     * {@code _ar} word: type 0-3, s 4, dpl 5-6, p 7, avl 8, l 9, db 10, g 11. Attributes 0 is a null
     * (unusable) segment.
     */
    public record Segment(long base, long limit, int attributes) {
        public int type() { return attributes & 0xf; }
        public boolean s() { return (attributes & AR_S) != 0; }
        public int dpl() { return (attributes >>> 5) & 3; }
        public boolean present() { return (attributes & AR_PRESENT) != 0; }
        public boolean avl() { return (attributes & (1 << 8)) != 0; }
        public boolean l() { return (attributes & (1 << 9)) != 0; }
        public boolean db() { return (attributes & (1 << 10)) != 0; }
        public boolean g() { return (attributes & (1 << 11)) != 0; }
        /** Attributes 0: a null segment (DS or ES only). */
        public boolean unusable() { return attributes == 0; }
    }

    /** Mode 64's flat 64-bit code segment. */
    public static final Segment FLAT_CODE64 = new Segment(0, 0xffff_ffffL, 0xa9b);
    /** Mode 64's flat data segment. */
    public static final Segment FLAT_DATA = new Segment(0, 0xffff_ffffL, 0xc93);
    /** Mode 64's TR: a busy TSS at 0. */
    public static final Segment TSS_BUSY = new Segment(0, 0x67, 0x8b);

    /** The result of {@link #decode}: a context, or why it was refused. */
    public sealed interface Decoded {
    }

    /** An accepted context. */
    public record Accepted(VcpuContext context) implements Decoded {
    }

    /** A refused one: the guest gets {@code -EINVAL}; {@code reason} says why (for logs and tests). */
    public record Refused(String reason) implements Decoded {
    }

    /** Checks and completes the 128-byte {@code vcpu_hvm_context} in {@code ctx}; never throws for its content. */
    public static Decoded decode(MemorySegment ctx) {
        if (ctx.byteSize() < SIZE) {
            throw new IllegalArgumentException("a vcpu_hvm_context is " + SIZE + " bytes: " + ctx.byteSize());
        }
        if (VcpuHvmContext.pad(ctx) != 0) {
            return new Refused("pad is not zero");
        }
        return switch (VcpuHvmContext.mode(ctx)) {
            case VcpuHvmContext.MODE_32B -> decode32(ctx);
            case VcpuHvmContext.MODE_64B -> decode64(ctx);
            default -> new Refused("mode " + Integer.toUnsignedString(VcpuHvmContext.mode(ctx)) + " is neither 32B nor 64B");
        };
    }

    private static Decoded decode32(MemorySegment ctx) {
        if (VcpuHvmContext.get(ctx, Reg32.PAD1) != 0 || VcpuHvmContext.pad2(ctx, 0) != 0
                || VcpuHvmContext.pad2(ctx, 1) != 0 || VcpuHvmContext.pad2(ctx, 2) != 0) {
            return new Refused("pad1 or pad2 is not zero");
        }
        Segment[] seg = new Segment[VcpuHvmContext.Segment.values().length];
        for (VcpuHvmContext.Segment which : VcpuHvmContext.Segment.values()) {
            int ar = VcpuHvmContext.ar(ctx, which);
            if ((ar & 0xf000) != 0) {
                return new Refused(which + " attribute bits 12-15 are not zero");
            }
            if ((ar & AR_PRESENT) != 0) {
                ar |= which == VcpuHvmContext.Segment.TR ? 2 : 1; // busy TSS, accessed segment
            }
            Segment s = new Segment(VcpuHvmContext.base(ctx, which), VcpuHvmContext.limit(ctx, which), ar);
            String bad = checkSegment(which, s);
            if (bad != null) {
                return new Refused(bad);
            }
            seg[which.ordinal()] = s;
        }
        Segment cs = seg[0];
        Segment ds = seg[1];
        Segment ss = seg[2];
        Segment es = seg[3];
        long eip = VcpuHvmContext.get(ctx, Reg32.EIP);
        long limit = cs.g() ? ((cs.limit() << 12) | 0xfff) & 0xffff_ffffL : cs.limit();
        if (eip > limit) {
            return new Refused(String.format("EIP 0x%x outside the CS limit 0x%x", eip, limit));
        }
        if (ss.dpl() != cs.dpl()) {
            return new Refused("SS.DPL " + ss.dpl() + " is not CS.DPL " + cs.dpl());
        }
        if ((ds.present() && ds.dpl() > cs.dpl()) || (es.present() && es.dpl() > cs.dpl())) {
            return new Refused("DS or ES DPL above CS.DPL");
        }
        long efer = VcpuHvmContext.efer32(ctx);
        if ((efer & EFER_LMA) != 0 && (efer & EFER_LME) == 0) {
            return new Refused("EFER.LMA without EFER.LME");
        }
        return common(false, VcpuHvmContext.get(ctx, Reg32.EAX), VcpuHvmContext.get(ctx, Reg32.ECX),
                VcpuHvmContext.get(ctx, Reg32.EDX), VcpuHvmContext.get(ctx, Reg32.EBX),
                VcpuHvmContext.get(ctx, Reg32.ESP), VcpuHvmContext.get(ctx, Reg32.EBP),
                VcpuHvmContext.get(ctx, Reg32.ESI), VcpuHvmContext.get(ctx, Reg32.EDI), eip,
                VcpuHvmContext.get(ctx, Reg32.EFLAGS), VcpuHvmContext.get(ctx, Reg32.CR0),
                VcpuHvmContext.get(ctx, Reg32.CR3), VcpuHvmContext.get(ctx, Reg32.CR4), efer, cs, ds, ss, es, seg[4]);
    }

    private static Decoded decode64(MemorySegment ctx) {
        long rip = VcpuHvmContext.get(ctx, Reg64.RIP);
        if ((rip << 16) >> 16 != rip) {
            return new Refused(String.format("RIP 0x%x is not canonical", rip));
        }
        long cr0 = VcpuHvmContext.get(ctx, Reg64.CR0);
        long cr4 = VcpuHvmContext.get(ctx, Reg64.CR4);
        long efer = VcpuHvmContext.get(ctx, Reg64.EFER);
        if ((cr0 & CR0_PG) == 0) {
            return new Refused("CR0.PG is clear");
        }
        if ((cr4 & CR4_PAE) == 0) {
            return new Refused("CR4.PAE is clear");
        }
        if ((efer & EFER_LME) == 0) {
            return new Refused("EFER.LME is clear");
        }
        return common(true, VcpuHvmContext.get(ctx, Reg64.RAX), VcpuHvmContext.get(ctx, Reg64.RCX),
                VcpuHvmContext.get(ctx, Reg64.RDX), VcpuHvmContext.get(ctx, Reg64.RBX),
                VcpuHvmContext.get(ctx, Reg64.RSP), VcpuHvmContext.get(ctx, Reg64.RBP),
                VcpuHvmContext.get(ctx, Reg64.RSI), VcpuHvmContext.get(ctx, Reg64.RDI), rip,
                VcpuHvmContext.get(ctx, Reg64.RFLAGS), cr0, VcpuHvmContext.get(ctx, Reg64.CR3), cr4, efer,
                FLAT_CODE64, FLAT_DATA, FLAT_DATA, FLAT_DATA, TSS_BUSY);
    }

    private static Decoded common(boolean longMode, long rax, long rcx, long rdx, long rbx, long rsp, long rbp,
            long rsi, long rdi, long rip, long rflags, long cr0, long cr3, long cr4, long efer, Segment cs,
            Segment ds, Segment ss, Segment es, Segment tr) {
        if ((efer & EFER_LME) != 0) {
            efer |= EFER_LMA;
        }
        if ((cr4 & ~CR4_KNOWN) != 0) {
            return new Refused(String.format("CR4 0x%x has reserved bits", cr4));
        }
        if ((efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) != 0) {
            return new Refused(String.format("EFER 0x%x has bits jxen does not offer", efer));
        }
        if ((cr0 >>> 32) != 0 || ((cr0 & CR0_PG) != 0 && (cr0 & CR0_PE) == 0)) {
            return new Refused(String.format("CR0 0x%x: reserved bits, or PG without PE", cr0));
        }
        if ((efer & EFER_LMA) != 0 && ((cr0 & CR0_PG) == 0 || (cr4 & CR4_PAE) == 0)) {
            return new Refused("EFER.LMA without CR0.PG and CR4.PAE");
        }
        return new Accepted(new VcpuContext(longMode, rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, rip,
                (rflags & RFLAGS_ARCH) | RFLAGS_MBS, cr0, cr3, cr4, efer, cs, ds, ss, es, tr));
    }

    /** Xen's {@code check_segment}: null if fine, else why not. */
    private static String checkSegment(VcpuHvmContext.Segment which, Segment s) {
        if (s.unusable()) {
            return which == VcpuHvmContext.Segment.DS || which == VcpuHvmContext.Segment.ES ? null
                    : "null attributes for " + which;
        }
        if (which == VcpuHvmContext.Segment.TR) {
            if (s.s()) {
                return "a code or data segment for TR";
            }
            if (s.type() != 0xb) {
                return "TR is not a busy 32-bit TSS";
            }
        } else if (!s.s()) {
            return "a system segment for " + which;
        }
        if (!s.present()) {
            return which + " is not present";
        }
        return switch (which) {
            case CS -> (s.type() & 0x8) == 0 ? "CS is not a code segment" : null;
            case SS -> (s.type() & 0x8) != 0 || (s.type() & 0x2) == 0 ? "SS is not a writable data segment" : null;
            case DS, ES -> (s.type() & 0x8) != 0 && (s.type() & 0x2) == 0 ? which + " is not readable" : null;
            case TR -> null;
        };
    }
}

package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct evtchn_status} ({@code xen/event_channel.h}): the argument of
 * {@link EvtchnOp#STATUS}. The caller fills {@code dom} and {@code port}; the host answers with an
 * {@link EvtchnStatus}, the vCPU the port notifies, and a union whose meaning depends on the
 * status. 24 bytes in both forms. (Named {@code EvtchnStatusArg} because {@link EvtchnStatus}
 * holds the status values.)
 *
 * <pre>
 *  0 dom     u16
 *  4 port    u32
 *  8 status  u32
 * 12 vcpu    u32
 * 16 u       union {
 *              unbound     { 0 dom u16 }
 *              interdomain { 0 dom u16, 4 port u32 }
 *              pirq        u32
 *              virq        u32 }
 * </pre>
 *
 * <p>Stateless, safe from any thread. 16-bit fields read as zero-extended ints.
 */
public final class EvtchnStatusArg {
    private EvtchnStatusArg() {
    }

    private static final StructLayout L64 = make();
    private static final StructLayout L32 = L64;

    private static StructLayout make() {
        return MemoryLayout.structLayout(
                U16.withName("dom"),
                MemoryLayout.paddingLayout(2),
                U32.withName("port"),
                U32.withName("status"),
                U32.withName("vcpu"),
                MemoryLayout.unionLayout(
                        MemoryLayout.structLayout(U16.withName("dom")).withName("unbound"),
                        MemoryLayout.structLayout(
                                U16.withName("dom"),
                                MemoryLayout.paddingLayout(2),
                                U32.withName("port")).withName("interdomain"),
                        U32.withName("pirq"),
                        U32.withName("virq")).withName("u")).withName("evtchn_status");
    }

    private static final long DOM = CTypes.offset(L64, "dom");
    private static final long PORT = CTypes.offset(L64, "port");
    private static final long STATUS = CTypes.offset(L64, "status");
    private static final long VCPU = CTypes.offset(L64, "vcpu");
    private static final long U = CTypes.offset(L64, "u");
    private static final long U_UNBOUND_DOM = CTypes.offset(L64, "u", "unbound", "dom");
    private static final long U_INTERDOMAIN_DOM = CTypes.offset(L64, "u", "interdomain", "dom");
    private static final long U_INTERDOMAIN_PORT = CTypes.offset(L64, "u", "interdomain", "port");
    private static final long U_PIRQ = CTypes.offset(L64, "u", "pirq");
    private static final long U_VIRQ = CTypes.offset(L64, "u", "virq");

    /** The layout; identical for both guest forms. */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 24 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfDom(WordSize w) { return DOM; }
    public static long offsetOfPort(WordSize w) { return PORT; }
    public static long offsetOfStatus(WordSize w) { return STATUS; }
    public static long offsetOfVcpu(WordSize w) { return VCPU; }
    public static long offsetOfU(WordSize w) { return U; }
    public static long offsetOfUUnboundDom(WordSize w) { return U_UNBOUND_DOM; }
    public static long offsetOfUInterdomainDom(WordSize w) { return U_INTERDOMAIN_DOM; }
    public static long offsetOfUInterdomainPort(WordSize w) { return U_INTERDOMAIN_PORT; }
    public static long offsetOfUPirq(WordSize w) { return U_PIRQ; }
    public static long offsetOfUVirq(WordSize w) { return U_VIRQ; }

    public static int dom(MemorySegment seg) { return getU16(seg, DOM); }
    public static void setDom(MemorySegment seg, int value) { setU16(seg, DOM, value); }
    public static int port(MemorySegment seg) { return getU32(seg, PORT); }
    public static void setPort(MemorySegment seg, int value) { setU32(seg, PORT, value); }
    public static int status(MemorySegment seg) { return getU32(seg, STATUS); }
    public static void setStatus(MemorySegment seg, int value) { setU32(seg, STATUS, value); }
    public static int vcpu(MemorySegment seg) { return getU32(seg, VCPU); }
    public static void setVcpu(MemorySegment seg, int value) { setU32(seg, VCPU, value); }

    /** {@code u.unbound.dom} (status {@link EvtchnStatus#UNBOUND}). */
    public static int uUnboundDom(MemorySegment seg) { return getU16(seg, U_UNBOUND_DOM); }
    public static void setUUnboundDom(MemorySegment seg, int value) { setU16(seg, U_UNBOUND_DOM, value); }
    /** {@code u.interdomain.dom} (status {@link EvtchnStatus#INTERDOMAIN}). */
    public static int uInterdomainDom(MemorySegment seg) { return getU16(seg, U_INTERDOMAIN_DOM); }
    public static void setUInterdomainDom(MemorySegment seg, int value) { setU16(seg, U_INTERDOMAIN_DOM, value); }
    /** {@code u.interdomain.port} (status {@link EvtchnStatus#INTERDOMAIN}). */
    public static int uInterdomainPort(MemorySegment seg) { return getU32(seg, U_INTERDOMAIN_PORT); }
    public static void setUInterdomainPort(MemorySegment seg, int value) { setU32(seg, U_INTERDOMAIN_PORT, value); }
    /** {@code u.pirq} (status {@link EvtchnStatus#PIRQ}). */
    public static int uPirq(MemorySegment seg) { return getU32(seg, U_PIRQ); }
    public static void setUPirq(MemorySegment seg, int value) { setU32(seg, U_PIRQ, value); }
    /** {@code u.virq} (status {@link EvtchnStatus#VIRQ}). */
    public static int uVirq(MemorySegment seg) { return getU32(seg, U_VIRQ); }
    public static void setUVirq(MemorySegment seg, int value) { setU32(seg, U_VIRQ, value); }
}

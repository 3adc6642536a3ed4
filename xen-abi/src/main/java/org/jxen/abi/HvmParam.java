package org.jxen.abi;

/**
 * HVM parameter indices ({@code HVM_PARAM_*} in {@code xen/hvm/params.h}), the {@code index} of
 * {@link XenHvmParam}, and the encoding of {@link #CALLBACK_IRQ}'s value: the callback type in
 * bits 63:56 and the type's data (a GSI, a PCI INTx, or a vector in bits 7:0) below.
 *
 * <p>Constants and pure functions only; immutable and safe from any thread.
 */
public final class HvmParam {
    private HvmParam() {
    }

    public static final int CALLBACK_IRQ = 0;
    public static final int STORE_PFN = 1;
    public static final int STORE_EVTCHN = 2;
    public static final int CONSOLE_PFN = 17;
    public static final int CONSOLE_EVTCHN = 18;
    /** {@code HVM_NR_PARAMS}: valid indices are below it. */
    public static final int HVM_NR_PARAMS = 39;

    /** Bit position of the callback type in a {@link #CALLBACK_IRQ} value. */
    public static final int CALLBACK_TYPE_SHIFT = 56;
    /** {@code HVM_PARAM_CALLBACK_TYPE_GSI}: data is a GSI number (0 disables the callback). */
    public static final int CALLBACK_TYPE_GSI = 0;
    /** {@code HVM_PARAM_CALLBACK_TYPE_PCI_INTX}: data names a PCI device's INTx line. */
    public static final int CALLBACK_TYPE_PCI_INTX = 1;
    /** {@code HVM_PARAM_CALLBACK_TYPE_VECTOR}: data bits 7:0 are an x86 interrupt vector. */
    public static final int CALLBACK_TYPE_VECTOR = 2;

    /** The callback type (bits 63:56) of a {@link #CALLBACK_IRQ} value. */
    public static int callbackType(long value) {
        return (int) (value >>> CALLBACK_TYPE_SHIFT);
    }

    /** The type-specific data (bits 55:0) of a {@link #CALLBACK_IRQ} value. */
    public static long callbackData(long value) {
        return value & ((1L << CALLBACK_TYPE_SHIFT) - 1);
    }

    /** The vector (bits 7:0) of a {@link #CALLBACK_TYPE_VECTOR} callback value. */
    public static int callbackVector(long value) {
        return (int) (value & 0xFF);
    }

    /** Builds a {@link #CALLBACK_IRQ} value from a type and its data (data is masked to 56 bits). */
    public static long callbackValue(int type, long data) {
        return ((long) (type & 0xFF) << CALLBACK_TYPE_SHIFT) | callbackData(data);
    }

    /** The Xen name of an index (e.g. "CALLBACK_IRQ"), or "param_" and the number if it has none here. */
    public static String name(int index) {
        return switch (index) {
            case CALLBACK_IRQ -> "CALLBACK_IRQ";
            case STORE_PFN -> "STORE_PFN";
            case STORE_EVTCHN -> "STORE_EVTCHN";
            case CONSOLE_PFN -> "CONSOLE_PFN";
            case CONSOLE_EVTCHN -> "CONSOLE_EVTCHN";
            default -> "param_" + index;
        };
    }
}

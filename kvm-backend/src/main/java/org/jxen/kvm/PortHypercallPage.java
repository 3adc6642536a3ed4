package org.jxen.kvm;

/**
 * The content of jxen's hypercall page: 128 entries of 32 bytes, entry {@code nr} being
 * {@code mov $nr, %eax; out %eax, $HYPERCALL_PORT; ret}, padded with {@code int3}; the {@code iret}
 * entry (23) is {@code ud2}, as on Xen, since that hypercall is for PV guests only. The same bytes
 * run in 32-bit and 64-bit mode. See docs/kvm-backend.md. Stateless.
 */
public final class PortHypercallPage {
    /** The I/O port of the doorbell. */
    public static final int HYPERCALL_PORT = 0xe4;
    public static final int ENTRIES = 128;
    public static final int ENTRY_SIZE = 32;
    public static final int IRET = 23;

    private PortHypercallPage() {
    }

    /** The 4096 bytes of the page. */
    public static byte[] bytes() {
        byte[] page = new byte[ENTRIES * ENTRY_SIZE];
        java.util.Arrays.fill(page, (byte) 0xcc);
        for (int nr = 0; nr < ENTRIES; nr++) {
            int o = nr * ENTRY_SIZE;
            if (nr == IRET) {
                page[o] = 0x0f;
                page[o + 1] = 0x0b;
                continue;
            }
            page[o] = (byte) 0xb8;
            page[o + 1] = (byte) nr;
            page[o + 2] = 0;
            page[o + 3] = 0;
            page[o + 4] = 0;
            page[o + 5] = (byte) 0xe7;
            page[o + 6] = (byte) HYPERCALL_PORT;
            page[o + 7] = (byte) 0xc3;
        }
        return page;
    }
}

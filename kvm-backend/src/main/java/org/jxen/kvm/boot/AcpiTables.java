package org.jxen.kvm.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.jxen.gpc.GuestMemory;

/**
 * The ACPI tables a PVH guest finds through {@code hvm_start_info.rsdp_paddr}, as Xen's toolstack
 * gives a PVH domain: a hardware-reduced platform with one local APIC per vCPU and nothing else. A
 * Linux guest needs the MADT: without ACPI (or MP) tables it runs its local APIC in "virtual wire,
 * no configuration" mode, disables SMP and never sets up a per-CPU clock event, so it gets no timer
 * tick at all (neither the local APIC timer nor Xen's {@code VIRQ_TIMER}).
 *
 * <pre>
 * RSDP  (36 bytes, ACPI 2.0+)   "RSD PTR ", checksum, OEM id, revision 2, RSDT 0, length 36,
 *                               XSDT address, extended checksum
 * XSDT  header + 8-byte addresses of FADT and MADT
 * FACP  (FADT, revision 6, 276 bytes) HW_REDUCED_ACPI and RESET_REG_SUP; boot flags: no VGA, no
 *       CMOS RTC; DSDT; the hardware-reduced sleep control and status registers and the reset
 *       register, all 8-bit I/O ports ({@link #SLEEP_CONTROL_PORT}, {@link #SLEEP_STATUS_PORT},
 *       {@link #RESET_PORT}, reset value {@link #RESET_VALUE})
 * DSDT  one object: {@code Name (_S5, Package (4) {5, 5, 0, 0})}, the soft-off sleep type, so that an
 *       ACPI guest powers off by writing SLP_TYP 5 with SLP_EN to the sleep control register
 * APIC  (MADT, revision 5) local APIC address 0xfee00000, flags 0 (no 8259); one Processor Local
 *       APIC entry (type 0) per vCPU: processor UID = APIC id = vCPU id, enabled
 * </pre>
 *
 * Every table starts with the standard 36-byte header (signature, length, revision, checksum, OEM
 * id "JXEN", OEM table id "JXENPVH", OEM revision 1, creator "JXEN" revision 1); each checksum
 * makes the bytes of its table sum to zero. The tables are laid out one after the other from the
 * RSDP, each 16-byte aligned. Stateless; safe from any thread.
 */
public final class AcpiTables {
    /** Where {@link #write} puts the tables: in the reserved BIOS area below 1 MiB, 16-byte aligned. */
    public static final long DEFAULT_GPA = 0xe0000;
    /** The local APICs' address, as the MADT states it. */
    public static final long LOCAL_APIC_ADDRESS = 0xfee00000L;
    /** The hardware-reduced ACPI sleep control register: an 8-bit I/O port ({@link AcpiSleepRegisters}). */
    public static final int SLEEP_CONTROL_PORT = 0xe6;
    /** The sleep status register (reads 0). */
    public static final int SLEEP_STATUS_PORT = 0xe7;
    /** The reset register; writing {@link #RESET_VALUE} resets the machine. */
    public static final int RESET_PORT = 0xe8;
    public static final int RESET_VALUE = 0x01;
    /** The sleep type {@code _S5} says: soft off. */
    public static final int S5_SLEEP_TYPE = 5;
    /** The most vCPUs the MADT describes with (8-bit APIC id) Processor Local APIC entries. */
    public static final int MAX_VCPUS = 255;

    static final int HEADER_SIZE = 36;
    static final int RSDP_SIZE = 36;
    static final int FADT_SIZE = 276;
    static final int FADT_REVISION = 6;
    static final int MADT_REVISION = 5;
    static final int MADT_LOCAL_APIC = 0;
    static final int MADT_LOCAL_APIC_SIZE = 8;
    /** FADT {@code Flags} bit 20: HW_REDUCED_ACPI. */
    static final int FADT_HW_REDUCED_ACPI = 1 << 20;
    /** FADT {@code Flags} bit 10: RESET_REG_SUP. */
    static final int FADT_RESET_REG_SUP = 1 << 10;
    /** {@code Name (_S5_, Package (0x04) {0x05, 0x05, 0x00, 0x00})} in AML. */
    static final byte[] DSDT_AML = {0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, (byte) S5_SLEEP_TYPE, 0x0a,
        (byte) S5_SLEEP_TYPE, 0x00, 0x00};
    /** FADT {@code IAPC_BOOT_ARCH} bit 2: VGA not present. */
    static final int BOOT_ARCH_NO_VGA = 1 << 2;
    /** FADT {@code IAPC_BOOT_ARCH} bit 5: CMOS RTC not present. */
    static final int BOOT_ARCH_NO_CMOS_RTC = 1 << 5;
    /** MADT Processor Local APIC flags bit 0: enabled. */
    static final int LOCAL_APIC_ENABLED = 1;

    private static final byte[] OEM_ID = ascii("JXEN  ", 6);
    private static final byte[] OEM_TABLE_ID = ascii("JXENPVH ", 8);
    private static final byte[] CREATOR_ID = ascii("JXEN", 4);

    /** Where each table went (guest-physical addresses) and the first byte after the last one. */
    public record Layout(long rsdp, long xsdt, long fadt, long dsdt, long madt, long end) {
        public long size() {
            return end - rsdp;
        }
    }

    private AcpiTables() {
    }

    /** The layout of the tables for {@code vcpus} vCPUs placed from {@code gpa} (16-byte aligned). */
    public static Layout layout(long gpa, int vcpus) {
        checkArgs(gpa, vcpus);
        long rsdp = gpa;
        long xsdt = align(rsdp + RSDP_SIZE);
        long fadt = align(xsdt + HEADER_SIZE + 2 * 8);
        long dsdt = align(fadt + FADT_SIZE);
        long madt = align(dsdt + HEADER_SIZE + DSDT_AML.length);
        long end = madt + madtSize(vcpus);
        return new Layout(rsdp, xsdt, fadt, dsdt, madt, end);
    }

    /** The bytes of the tables for {@code vcpus} vCPUs as they lie from {@code gpa}. */
    public static byte[] build(long gpa, int vcpus) {
        Layout l = layout(gpa, vcpus);
        ByteBuffer b = ByteBuffer.allocate((int) l.size()).order(ByteOrder.LITTLE_ENDIAN);

        // RSDP
        int at = 0;
        b.put(at, "RSD PTR ".getBytes(StandardCharsets.US_ASCII));
        b.put(at + 9, OEM_ID);
        b.put(at + 15, (byte) 2);
        b.putInt(at + 16, 0); // no RSDT: the XSDT is enough for ACPI 2.0+ readers
        b.putInt(at + 20, RSDP_SIZE);
        b.putLong(at + 24, l.xsdt());
        b.put(at + 8, checksum(b, at, 20));
        b.put(at + 32, checksum(b, at, RSDP_SIZE));

        // XSDT
        at = (int) (l.xsdt() - gpa);
        header(b, at, "XSDT", HEADER_SIZE + 16, 1);
        b.putLong(at + HEADER_SIZE, l.fadt());
        b.putLong(at + HEADER_SIZE + 8, l.madt());
        b.put(at + 9, checksum(b, at, HEADER_SIZE + 16));

        // FADT
        at = (int) (l.fadt() - gpa);
        header(b, at, "FACP", FADT_SIZE, FADT_REVISION);
        b.putInt(at + 40, (int) l.dsdt()); // DSDT (32-bit), also X_DSDT below
        b.putShort(at + 109, (short) (BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC)); // IAPC_BOOT_ARCH
        b.putInt(at + 112, FADT_HW_REDUCED_ACPI | FADT_RESET_REG_SUP); // Flags
        gas(b, at + 116, RESET_PORT); // RESET_REG
        b.put(at + 128, (byte) RESET_VALUE);
        b.put(at + 131, (byte) 0); // FADT minor version: ACPI 6.0
        b.putLong(at + 140, l.dsdt()); // X_DSDT
        gas(b, at + 244, SLEEP_CONTROL_PORT); // SLEEP_CONTROL_REG
        gas(b, at + 256, SLEEP_STATUS_PORT); // SLEEP_STATUS_REG
        b.put(at + 268, ascii("JXEN", 8)); // hypervisor vendor identity
        b.put(at + 9, checksum(b, at, FADT_SIZE));

        // DSDT: _S5
        at = (int) (l.dsdt() - gpa);
        header(b, at, "DSDT", HEADER_SIZE + DSDT_AML.length, 2);
        b.put(at + HEADER_SIZE, DSDT_AML);
        b.put(at + 9, checksum(b, at, HEADER_SIZE + DSDT_AML.length));

        // MADT
        at = (int) (l.madt() - gpa);
        int madtSize = madtSize(vcpus);
        header(b, at, "APIC", madtSize, MADT_REVISION);
        b.putInt(at + HEADER_SIZE, (int) LOCAL_APIC_ADDRESS);
        b.putInt(at + HEADER_SIZE + 4, 0); // no PC-AT 8259 pair
        for (int i = 0; i < vcpus; i++) {
            int e = at + HEADER_SIZE + 8 + i * MADT_LOCAL_APIC_SIZE;
            b.put(e, (byte) MADT_LOCAL_APIC);
            b.put(e + 1, (byte) MADT_LOCAL_APIC_SIZE);
            b.put(e + 2, (byte) i); // ACPI processor UID
            b.put(e + 3, (byte) i); // APIC id: jxen's vCPU i has APIC id i
            b.putInt(e + 4, LOCAL_APIC_ENABLED);
        }
        b.put(at + 9, checksum(b, at, madtSize));
        return b.array();
    }

    /**
     * Writes the tables for {@code vcpus} vCPUs at {@code gpa}; returns where each went.
     *
     * @throws IllegalArgumentException when {@code gpa} is not 16-byte aligned, the tables would not
     *     lie below 4 GiB (the FADT's 32-bit DSDT field), {@code vcpus} is not 1 to {@value #MAX_VCPUS},
     *     or the range is not backed by writable guest memory
     */
    public static Layout write(GuestMemory m, long gpa, int vcpus) {
        Layout l = layout(gpa, vcpus);
        if (ElfLoader.firstNotWritable(m.currentMap(), gpa, l.size()) != -1) {
            throw new IllegalArgumentException(String.format("ACPI tables at 0x%x (+0x%x bytes) are not backed by"
                    + " writable guest memory", gpa, l.size()));
        }
        if (!m.write(gpa, java.lang.foreign.MemorySegment.ofArray(build(gpa, vcpus)))) {
            throw new IllegalArgumentException(String.format("ACPI tables at 0x%x: the guest memory map changed during"
                    + " the write", gpa));
        }
        return l;
    }

    private static void checkArgs(long gpa, int vcpus) {
        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw new IllegalArgumentException("ACPI tables describe 1 to " + MAX_VCPUS + " vCPUs: " + vcpus);
        }
        if (gpa < 0 || (gpa & 15) != 0) {
            throw new IllegalArgumentException(String.format("ACPI tables address 0x%x is not 16-byte aligned", gpa));
        }
        if (gpa + 4096 + (long) vcpus * MADT_LOCAL_APIC_SIZE > (1L << 32)) {
            throw new IllegalArgumentException(String.format("ACPI tables at 0x%x do not lie below 4 GiB", gpa));
        }
    }

    /** A Generic Address Structure for an 8-bit, byte-accessed register at I/O port {@code port}. */
    private static void gas(ByteBuffer b, int at, int port) {
        b.put(at, (byte) 1); // system I/O space
        b.put(at + 1, (byte) 8); // register bit width
        b.put(at + 2, (byte) 0); // bit offset
        b.put(at + 3, (byte) 1); // access size: byte
        b.putLong(at + 4, port);
    }

    private static int madtSize(int vcpus) {
        return HEADER_SIZE + 8 + vcpus * MADT_LOCAL_APIC_SIZE;
    }

    private static long align(long v) {
        return (v + 15) & ~15L;
    }

    private static void header(ByteBuffer b, int at, String signature, int length, int revision) {
        b.put(at, signature.getBytes(StandardCharsets.US_ASCII));
        b.putInt(at + 4, length);
        b.put(at + 8, (byte) revision);
        b.put(at + 9, (byte) 0); // checksum, filled in last
        b.put(at + 10, OEM_ID);
        b.put(at + 16, OEM_TABLE_ID);
        b.putInt(at + 24, 1); // OEM revision
        b.put(at + 28, CREATOR_ID);
        b.putInt(at + 32, 1); // creator revision
    }

    /** The byte that makes {@code [at, at + length)} sum to zero, given that it is now 0 there. */
    static byte checksum(ByteBuffer b, int at, int length) {
        int sum = 0;
        for (int i = 0; i < length; i++) {
            sum += b.get(at + i);
        }
        return (byte) -sum;
    }

    private static byte[] ascii(String s, int length) {
        byte[] out = new byte[length];
        java.util.Arrays.fill(out, (byte) ' ');
        byte[] in = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(in, 0, out, 0, Math.min(in.length, length));
        return out;
    }
}

package org.jxen.kvm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AcpiTablesTest {
    private static final boolean CI = "true".equals(System.getenv("CI"));
    private static final long GPA = AcpiTables.DEFAULT_GPA;

    @Test
    void layoutIsPinned() {
        AcpiTables.Layout l = AcpiTables.layout(GPA, 2);
        assertEquals(0xe0000, l.rsdp());
        assertEquals(0xe0030, l.xsdt()); // 36 -> 48
        assertEquals(0xe0070, l.fadt()); // 48 + 52 = 100 -> 112
        assertEquals(0xe0190, l.dsdt()); // 112 + 276 = 388 -> 400
        assertEquals(0xe01d0, l.madt()); // 400 + 36 + 14 (_S5) = 450 -> 464
        assertEquals(0xe01d0 + 44 + 2 * 8, l.end());
        for (long a : List.of(l.rsdp(), l.xsdt(), l.fadt(), l.dsdt(), l.madt())) {
            assertEquals(0, a & 15, "16-byte aligned");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4, 255})
    void everyTableChecksumsToZeroAndPointsAtTheNext(int vcpus) {
        byte[] bytes = AcpiTables.build(GPA, vcpus);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        AcpiTables.Layout l = AcpiTables.layout(GPA, vcpus);
        assertEquals(l.size(), bytes.length);

        assertEquals("RSD PTR ", ascii(bytes, 0, 8));
        assertEquals(0, sum(bytes, 0, 20), "RSDP checksum of the first 20 bytes");
        assertEquals(0, sum(bytes, 0, 36), "RSDP extended checksum");
        assertEquals(2, bytes[15], "RSDP revision 2 (ACPI 2.0+)");
        assertEquals(36, b.getInt(20));
        assertEquals(l.xsdt(), b.getLong(24));
        assertEquals("JXEN  ", ascii(bytes, 9, 6));

        int xsdt = at(l.xsdt());
        assertTable(bytes, xsdt, "XSDT", 36 + 16);
        assertEquals(l.fadt(), b.getLong(xsdt + 36));
        assertEquals(l.madt(), b.getLong(xsdt + 44));

        int fadt = at(l.fadt());
        assertTable(bytes, fadt, "FACP", 276);
        assertEquals(6, bytes[fadt + 8], "FADT revision 6");
        assertEquals(l.dsdt(), Integer.toUnsignedLong(b.getInt(fadt + 40)));
        assertEquals(l.dsdt(), b.getLong(fadt + 140), "X_DSDT");
        assertEquals((1 << 20) | (1 << 10), b.getInt(fadt + 112), "Flags: HW_REDUCED_ACPI, RESET_REG_SUP");
        assertGas(b, fadt + 116, 0xe8, "RESET_REG");
        assertEquals(1, bytes[fadt + 128], "RESET_VALUE");
        assertGas(b, fadt + 244, 0xe6, "SLEEP_CONTROL_REG");
        assertGas(b, fadt + 256, 0xe7, "SLEEP_STATUS_REG");
        assertEquals((1 << 2) | (1 << 5), b.getShort(fadt + 109), "IAPC_BOOT_ARCH: no VGA, no CMOS RTC");
        assertEquals(0, b.getInt(fadt + 76), "no PM timer");
        assertEquals(0, b.getShort(fadt + 46), "no SCI");

        int dsdt = at(l.dsdt());
        assertTable(bytes, dsdt, "DSDT", 36 + 14);
        assertEquals("08 5f 53 35 5f 12 08 04 0a 05 0a 05 00 00", org.jxen.kvm.X86Instruction.hex(
                java.util.Arrays.copyOfRange(bytes, dsdt + 36, dsdt + 50), 14), "Name (_S5_, Package (4) {5, 5, 0, 0})");

        int madt = at(l.madt());
        assertTable(bytes, madt, "APIC", 44 + 8 * vcpus);
        assertEquals(5, bytes[madt + 8], "MADT revision 5");
        assertEquals(0xfee00000L, Integer.toUnsignedLong(b.getInt(madt + 36)));
        assertEquals(0, b.getInt(madt + 40), "no 8259");
        for (int i = 0; i < vcpus; i++) {
            int e = madt + 44 + 8 * i;
            assertEquals(0, bytes[e], "Processor Local APIC");
            assertEquals(8, bytes[e + 1]);
            assertEquals(i, Byte.toUnsignedInt(bytes[e + 2]), "processor UID");
            assertEquals(i, Byte.toUnsignedInt(bytes[e + 3]), "APIC id");
            assertEquals(1, b.getInt(e + 4), "enabled");
        }
    }

    @Test
    void refusesWhatItCannotDescribe() {
        assertThrows(IllegalArgumentException.class, () -> AcpiTables.build(GPA, 0));
        assertThrows(IllegalArgumentException.class, () -> AcpiTables.build(GPA, 256));
        assertThrows(IllegalArgumentException.class, () -> AcpiTables.build(GPA + 8, 1));
        assertThrows(IllegalArgumentException.class, () -> AcpiTables.build(-16, 1));
        assertThrows(IllegalArgumentException.class, () -> AcpiTables.build((1L << 32) - 16, 1));
    }

    @Test
    void writesIntoGuestMemoryOrRefusesUnbackedMemory() {
        try (TestGuest g = new TestGuest().slot(0, 0x100000)) {
            AcpiTables.Layout l = AcpiTables.write(g.memory, GPA, 3);
            byte[] want = AcpiTables.build(GPA, 3);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], g.get(GPA + i));
            }
            assertEquals(GPA, l.rsdp());
            assertThrows(IllegalArgumentException.class, () -> AcpiTables.write(g.memory, 0xffff0, 3));
        }
    }

    /** ACPICA's own disassembler (iasl, from acpica-tools) reads every table without an error. */
    @Test
    void acpicaDisassemblesEveryTable(@TempDir Path dir) throws IOException, InterruptedException {
        boolean haveIasl = Files.isExecutable(Path.of("/usr/bin/iasl"));
        if (!haveIasl) {
            String why = "iasl (Debian package acpica-tools) is not installed";
            if (CI) {
                throw new AssertionError(why + "; .ci/run installs it");
            }
            System.err.println("SKIPPED: AcpiTablesTest.acpicaDisassemblesEveryTable: " + why);
            Assumptions.assumeTrue(false, why);
        }
        byte[] bytes = AcpiTables.build(GPA, 2);
        AcpiTables.Layout l = AcpiTables.layout(GPA, 2);
        record Table(String name, long gpa, int length) {
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        List<Table> tables = List.of(new Table("xsdt", l.xsdt(), b.getInt(at(l.xsdt()) + 4)),
                new Table("facp", l.fadt(), b.getInt(at(l.fadt()) + 4)),
                new Table("dsdt", l.dsdt(), b.getInt(at(l.dsdt()) + 4)),
                new Table("apic", l.madt(), b.getInt(at(l.madt()) + 4)));
        for (Table t : tables) {
            Path f = dir.resolve(t.name() + ".dat");
            Files.write(f, java.util.Arrays.copyOfRange(bytes, at(t.gpa()), at(t.gpa()) + t.length()));
            Process p = new ProcessBuilder("iasl", "-d", f.toString()).directory(dir.toFile()).redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            String dsl = Files.readString(dir.resolve(t.name() + ".dsl"));
            assertTrue(!dsl.contains("Invalid") && !dsl.contains("Incorrect"), dsl);
            if (t.name().equals("apic")) {
                assertTrue(dsl.contains("Local Apic Address : FEE00000"), dsl);
                assertEquals(2, dsl.split("Processor Local APIC", -1).length - 1, dsl);
            }
            if (t.name().equals("facp")) {
                assertTrue(dsl.matches("(?s).*Hardware Reduced \\(V5\\) : 1.*"), dsl);
                assertTrue(dsl.matches("(?s).*Reset Register Supported \\(V2\\) : 1.*"), dsl);
            }
            if (t.name().equals("dsdt")) {
                assertTrue(dsl.matches("(?s).*Name \\(_S5, Package \\(0x04\\).*0x05,\\s*0x05,\\s*Zero,\\s*Zero.*"),
                        dsl);
            }
        }
    }

    private static void assertGas(ByteBuffer b, int at, long port, String what) {
        assertEquals(1, b.get(at), what + ": system I/O");
        assertEquals(8, b.get(at + 1), what + ": 8 bits");
        assertEquals(0, b.get(at + 2), what + ": bit offset");
        assertEquals(1, b.get(at + 3), what + ": byte access");
        assertEquals(port, b.getLong(at + 4), what + ": port");
    }

    private static void assertTable(byte[] bytes, int at, String signature, int length) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(signature, ascii(bytes, at, 4));
        assertEquals(length, b.getInt(at + 4), signature + " length");
        assertEquals(0, sum(bytes, at, length), signature + " checksum");
        assertEquals("JXEN  ", ascii(bytes, at + 10, 6));
        assertEquals("JXENPVH ", ascii(bytes, at + 16, 8));
        assertEquals("JXEN", ascii(bytes, at + 28, 4));
    }

    private static int at(long gpa) {
        return (int) (gpa - GPA);
    }

    private static int sum(byte[] bytes, int at, int length) {
        int s = 0;
        for (int i = 0; i < length; i++) {
            s += bytes[at + i];
        }
        return s & 0xff;
    }

    private static String ascii(byte[] bytes, int at, int length) {
        return new String(bytes, at, length, StandardCharsets.US_ASCII);
    }
}

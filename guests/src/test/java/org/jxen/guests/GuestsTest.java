package org.jxen.guests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class GuestsTest {

    static final List<String> EXPECTED = List.of(
            "test-cpuid", "test-hypercall-page", "test-hypercall-args", "test-hypercall-enosys",
            "test-upcall", "test-smp", "test-memslot", "pvh-hello", "test-pvh-hypercall", "test-pvh-console", "demo");

    static List<String> expected() {
        return EXPECTED;
    }

    @Test
    void indexListsEveryExpectedGuest() {
        assertTrue(Guests.names().containsAll(EXPECTED), () -> "index: " + Guests.names());
    }

    @ParameterizedTest
    @MethodSource("expected")
    void everyGuestIsA64BitX86Executable(String name) {
        ByteBuffer elf = ByteBuffer.wrap(Guests.image(name)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[4];
        elf.get(0, magic);
        assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F'}, magic, name + ": ELF magic");
        assertEquals(2, elf.get(4), name + ": ELFCLASS64");
        assertEquals(1, elf.get(5), name + ": little-endian");
        assertEquals(2, elf.getShort(16), name + ": ET_EXEC");
        assertEquals(62, elf.getShort(18), name + ": EM_X86_64");
        long entry = elf.getLong(24);
        if (name.startsWith("pvh-") || name.startsWith("test-pvh-") || name.equals("demo")) {
            assertTrue(entry > 0 && entry < (1L << 32), name + ": 32-bit physical entry");
        } else {
            assertEquals(0xffffffff80000000L, entry, name + ": harness entry at the image start");
        }
    }

    @Test
    void unknownNameListsTheAvailableGuests() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Guests.image("no-such-guest"));
        assertTrue(e.getMessage().contains("test-cpuid"), e.getMessage());
    }
}

package org.jxen.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MainTest {

    private static String stdout(Runnable r) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            r.run();
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void abiTableListsSharedInfoWithBothSizes() {
        String out = stdout(() -> assertEquals(0, Main.execute("abi")));
        assertTrue(out.contains("Xen guest ABI 4.17"), out);
        assertTrue(out.matches("(?s).*\\nshared_info\\s+\\S+\\s+3136\\s+2344\\n.*"), out);
        assertTrue(out.matches("(?s).*\\nvcpu_runstate_info\\s+\\S+\\s+48\\s+44\\n.*"), out);
    }

    @Test
    void runWithoutKernelSaysWhatIsMissing() {
        String out = stdout(() -> assertEquals(0, Main.execute("run")));
        assertTrue(out.contains("no guest support yet"), out);
    }

    @Test
    void runWithKernelFailsWithNonZeroStatus() {
        stdout(() -> assertEquals(2, Main.execute("run", "/nonexistent/kernel.elf")));
    }

    @Test
    void badOptionIsAUsageError() {
        stdout(() -> assertEquals(2, Main.execute("run", "--no-such-option")));
    }
}

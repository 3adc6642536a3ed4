package org.jxen.vmm;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.jxen.guests.Guests;
import org.jxen.kvm.Kvm;

/** Runs {@code jxen} in-process with captured streams, for tests. */
final class Jxen {
    private Jxen() {
    }

    /** What a run printed and returned. */
    record Result(int status, String out, String err) {
        /** Standard error is exactly one line starting with "jxen: ". */
        boolean oneErrorLine() {
            return err.startsWith("jxen: ") && err.endsWith("\n") && err.lines().count() == 1;
        }

        @Override
        public String toString() {
            return "status " + status + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Result run(String... args) {
        return run(Kvm::unavailabilityCause, args);
    }

    static Result run(Supplier<String> kvmUnavailability, String... args) {
        return run(new byte[0], kvmUnavailability, args);
    }

    /** With {@code input} as standard input. */
    static Result runWithInput(byte[] input, String... args) {
        return run(input, Kvm::unavailabilityCause, args);
    }

    static Result run(byte[] input, Supplier<String> kvmUnavailability, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        int status = Main.execute(new Main.Io(new ByteArrayInputStream(input), o, e, false, kvmUnavailability),
                args);
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Writes a guest built into the jar to a file, as a user's kernel would be. */
    static Path guestFile(Path dir, String name) throws IOException {
        Path p = dir.resolve(name + ".elf");
        Files.write(p, Guests.image(name));
        return p;
    }
}

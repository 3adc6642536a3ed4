package org.jxen.kvm.harness;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.jxen.gpc.GuestMemory;

/**
 * A message from a test guest to the host, read from the vCPU's 256-byte ucall slot (layout in
 * docs/kvm-backend.md): a command, six arguments, and for asserts the file, line and expression.
 * Immutable.
 */
public record Ucall(int vcpuId, Command command, long[] args, String file, int line, String text) {
    /** The size of one slot. */
    public static final int SLOT_SIZE = 256;

    /** What the guest says. */
    public enum Command {
        DONE(1), SYNC(2), ASSERT(3), PRINT(4), UNKNOWN(-1);

        final int code;

        Command(int code) {
            this.code = code;
        }

        static Command of(long code) {
            for (Command c : values()) {
                if (c.code == code) {
                    return c;
                }
            }
            return UNKNOWN;
        }
    }

    public long arg(int i) {
        return args[i];
    }

    /** Reads the slot at {@code slotGpa}; a slot the guest cannot have (not backed) reads as UNKNOWN. */
    static Ucall read(GuestMemory memory, int vcpuId, long slotGpa) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(SLOT_SIZE);
            if (!memory.read(slotGpa, s)) {
                return new Ucall(vcpuId, Command.UNKNOWN, new long[6], "", 0,
                        "ucall slot gpa 0x" + Long.toHexString(slotGpa) + " is not guest RAM");
            }
            long cmd = s.get(ValueLayout.JAVA_LONG, 0);
            long[] args = new long[6];
            for (int i = 0; i < 6; i++) {
                args[i] = s.get(ValueLayout.JAVA_LONG, 8 + 8L * i);
            }
            int line = s.get(ValueLayout.JAVA_INT, 56);
            return new Ucall(vcpuId, Command.of(cmd), args, string(s, 64, 64), line, string(s, 128, 128));
        }
    }

    private static String string(MemorySegment s, long offset, int max) {
        byte[] b = s.asSlice(offset, max).toArray(ValueLayout.JAVA_BYTE);
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return switch (command) {
            case ASSERT -> String.format("guest assert failed on vcpu %d at %s:%d: %s (values 0x%x, 0x%x)", vcpuId, file,
                    line, text, args[0], args[1]);
            case PRINT -> "vcpu " + vcpuId + " says: " + text;
            default -> "ucall " + command + " from vcpu " + vcpuId + " args " + Arrays.toString(
                    Arrays.stream(args).mapToObj(Long::toHexString).toArray());
        };
    }
}

package org.jxen.kvm;

import java.util.Optional;
import java.util.function.IntToLongFunction;

/**
 * The shape of one x86 instruction, decoded from its bytes far enough to name it in a report and to
 * find its memory operand: legacy prefixes, REX, VEX, the opcode (one-byte map, {@code 0F},
 * {@code 0F 38}, {@code 0F 3A}), ModRM, SIB, displacement and the immediate's size, hence the
 * length. It does not say what the instruction does. Used on an emulation failure, to say which
 * guest address the instruction KVM could not emulate touches. Immutable.
 *
 * @param length        the instruction's length in bytes
 * @param lock          a {@code F0} prefix
 * @param repPrefix     {@code F2} or {@code F3}, or 0
 * @param operandSize16 a {@code 66} prefix
 * @param addressSize32 a {@code 67} prefix in 64-bit mode (or none in 32-bit mode)
 * @param segment       a segment-override prefix ({@link #ES} to {@link #GS}), or -1
 * @param rex           the REX byte (0x40 to 0x4f), or 0
 * @param map           1: one-byte opcodes, 2: {@code 0F}, 3: {@code 0F 38}, 4: {@code 0F 3A}
 * @param vex           true when the opcode came in a VEX prefix
 * @param opcode        the opcode byte in its map
 * @param memory        the memory operand, or null (no ModRM, or a register operand)
 * @param modrmReg      ModRM's reg field (with REX.R), or -1 without ModRM
 */
public record X86Instruction(int length, boolean lock, int repPrefix, boolean operandSize16, boolean addressSize32,
        int segment, int rex, int map, boolean vex, int opcode, MemoryOperand memory, int modrmReg) {
    public static final int ES = 0;
    public static final int CS = 1;
    public static final int SS = 2;
    public static final int DS = 3;
    public static final int FS = 4;
    public static final int GS = 5;
    /** {@link MemoryOperand#base()} of a RIP-relative operand. */
    public static final int RIP = 16;

    private static final String[] REG64 = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10",
        "r11", "r12", "r13", "r14", "r15", "rip"};
    private static final String[] SEGMENTS = {"es", "cs", "ss", "ds", "fs", "gs"};

    /**
     * A memory operand {@code segment:[base + index * scale + displacement]}; base and index are
     * register numbers in ModRM order (0 rax, 1 rcx, 2 rdx, 3 rbx, 4 rsp, 5 rbp, 6 rsi, 7 rdi, 8-15
     * r8-r15, {@link #RIP}), or -1 when absent.
     */
    public record MemoryOperand(int base, int index, int scale, long displacement, int segment,
            boolean addressSize32) {
        /**
         * The guest-virtual address: {@code registers} gives a general register's value by number,
         * {@code nextRip} is the address of the next instruction, {@code segmentBase} the base of a
         * segment ({@link #FS}, {@link #GS}: their bases; others are 0 in 64-bit mode).
         */
        public long address(IntToLongFunction registers, long nextRip, IntToLongFunction segmentBase) {
            long a = displacement;
            if (base == RIP) {
                a += nextRip;
            } else if (base >= 0) {
                a += registers.applyAsLong(base);
            }
            if (index >= 0) {
                a += registers.applyAsLong(index) * scale;
            }
            if (addressSize32) {
                a &= 0xffff_ffffL;
            }
            return a + (segment >= 0 ? segmentBase.applyAsLong(segment) : 0);
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder();
            if (segment >= 0) {
                s.append(SEGMENTS[segment]).append(':');
            }
            s.append('[');
            String sep = "";
            if (base >= 0) {
                s.append(REG64[base]);
                sep = " + ";
            }
            if (index >= 0) {
                s.append(sep).append(REG64[index]).append('*').append(scale);
                sep = " + ";
            }
            if (displacement != 0 || sep.isEmpty()) {
                s.append(displacement < 0 && !sep.isEmpty() ? " - " : sep)
                        .append("0x").append(Long.toHexString(displacement < 0 && !sep.isEmpty() ? -displacement
                                : displacement));
            }
            return s.append(']').toString();
        }
    }

    /** One-byte opcodes that have a ModRM byte (64-bit mode), as a 256-bit set. */
    private static final long[] ONE_BYTE_MODRM = bits(
            0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x18, 0x19, 0x1a, 0x1b,
            0x20, 0x21, 0x22, 0x23, 0x28, 0x29, 0x2a, 0x2b, 0x30, 0x31, 0x32, 0x33, 0x38, 0x39, 0x3a, 0x3b,
            0x62, 0x63, 0x69, 0x6b, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d,
            0x8e, 0x8f, 0xc0, 0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xd0, 0xd1, 0xd2, 0xd3, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd,
            0xde, 0xdf, 0xf6, 0xf7, 0xfe, 0xff);
    /** {@code 0F xx} opcodes without a ModRM byte. */
    private static final long[] TWO_BYTE_NO_MODRM = bits(
            0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0e, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x77, 0x80, 0x81, 0x82,
            0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0xa0, 0xa1, 0xa2, 0xa8, 0xa9,
            0xaa, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf);

    /**
     * Decodes the instruction at the start of {@code bytes} ({@code count} of them valid) in 64-bit
     * mode ({@code longMode}) or 32-bit protected mode; empty when the bytes end before the
     * instruction does or it is one this decoder does not know (EVEX, 3DNow!, 16-bit addressing).
     */
    public static Optional<X86Instruction> decode(byte[] bytes, int count, boolean longMode) {
        try {
            return Optional.ofNullable(decode0(bytes, Math.min(count, bytes.length), longMode));
        } catch (ArrayIndexOutOfBoundsException e) {
            return Optional.empty();
        }
    }

    private static X86Instruction decode0(byte[] b, int n, boolean longMode) {
        int i = 0;
        boolean lock = false;
        boolean osz = false;
        boolean asz = false;
        int rep = 0;
        int seg = -1;
        // legacy prefixes
        for (boolean more = true; more; ) {
            if (i >= n || i >= 15) {
                return null;
            }
            switch (b[i] & 0xff) {
                case 0xf0 -> lock = true;
                case 0xf2, 0xf3 -> rep = b[i] & 0xff;
                case 0x66 -> osz = true;
                case 0x67 -> asz = true;
                case 0x26 -> seg = ES;
                case 0x2e -> seg = CS;
                case 0x36 -> seg = SS;
                case 0x3e -> seg = DS;
                case 0x64 -> seg = FS;
                case 0x65 -> seg = GS;
                default -> more = false;
            }
            if (more) {
                i++;
            }
        }
        int rex = 0;
        if (longMode && (b[i] & 0xf0) == 0x40) {
            rex = b[i] & 0xff;
            i++;
        }
        boolean vex = false;
        int map;
        int op = b[i] & 0xff;
        if (longMode && (op == 0xc4 || op == 0xc5)) {
            vex = true;
            if (op == 0xc5) {
                int p = b[i + 1] & 0xff;
                rex = 0x40 | ((p & 0x80) == 0 ? 4 : 0);
                map = 2;
                i += 2;
            } else {
                int p1 = b[i + 1] & 0xff;
                int p2 = b[i + 2] & 0xff;
                rex = 0x40 | ((p1 & 0x80) == 0 ? 4 : 0) | ((p1 & 0x40) == 0 ? 2 : 0) | ((p1 & 0x20) == 0 ? 1 : 0)
                        | ((p2 & 0x80) >> 4);
                map = switch (p1 & 0x1f) {
                    case 1 -> 2;
                    case 2 -> 3;
                    case 3 -> 4;
                    default -> -1;
                };
                if (map < 0) {
                    return null;
                }
                i += 3;
            }
            op = b[i] & 0xff;
            i++;
        } else if (longMode && op == 0x62) {
            return null; // EVEX
        } else if (op == 0x0f) {
            int op2 = b[i + 1] & 0xff;
            if (op2 == 0x38) {
                map = 3;
                op = b[i + 2] & 0xff;
                i += 3;
            } else if (op2 == 0x3a) {
                map = 4;
                op = b[i + 2] & 0xff;
                i += 3;
            } else if (op2 == 0x0f) {
                return null; // 3DNow!
            } else {
                map = 2;
                op = op2;
                i += 2;
            }
        } else {
            map = 1;
            i++;
        }
        boolean rexW = (rex & 8) != 0;
        boolean addr32 = longMode ? asz : !asz;
        if (!longMode && asz) {
            return null; // 16-bit addressing
        }
        boolean hasModrm = switch (map) {
            case 1 -> has(ONE_BYTE_MODRM, op);
            case 2 -> !has(TWO_BYTE_NO_MODRM, op);
            default -> true;
        };
        MemoryOperand mem = null;
        int reg = -1;
        if (hasModrm) {
            int modrm = b[i] & 0xff;
            i++;
            int mod = modrm >> 6;
            reg = ((modrm >> 3) & 7) | ((rex & 4) << 1);
            int rm = modrm & 7;
            if (mod != 3) {
                int base;
                int index = -1;
                int scale = 1;
                long disp = 0;
                if (rm == 4) {
                    int sib = b[i] & 0xff;
                    i++;
                    scale = 1 << (sib >> 6);
                    int idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
                    index = idx == 4 ? -1 : idx;
                    int sibBase = sib & 7;
                    if (sibBase == 5 && mod == 0) {
                        base = -1;
                        disp = readInt(b, i);
                        i += 4;
                    } else {
                        base = sibBase | ((rex & 1) << 3);
                    }
                } else if (rm == 5 && mod == 0) {
                    base = longMode ? RIP : -1;
                    disp = readInt(b, i);
                    i += 4;
                } else {
                    base = rm | ((rex & 1) << 3);
                }
                if (mod == 1) {
                    disp = b[i];
                    i++;
                } else if (mod == 2) {
                    disp = readInt(b, i);
                    i += 4;
                }
                if (!longMode) {
                    disp &= 0xffff_ffffL;
                }
                mem = new MemoryOperand(base, index, scale, disp, seg, addr32);
            }
        } else if (map == 1 && op >= 0xa0 && op <= 0xa3) {
            // mov moffs: an absolute address as wide as the address size
            int w = addr32 ? 4 : 8;
            long disp = w == 8 ? readLong(b, i) : Integer.toUnsignedLong(readInt(b, i));
            i += w;
            mem = new MemoryOperand(-1, -1, 1, disp, seg, addr32);
        }
        int imm = immediateSize(map, op, reg < 0 ? -1 : reg & 7, osz, rexW, longMode);
        if (imm < 0) {
            return null;
        }
        i += imm;
        if (i > n || i > 15) {
            return null;
        }
        return new X86Instruction(i, lock, rep, osz, addr32, seg, rex, map, vex, op, mem, reg);
    }

    /** Bytes of immediate (and relative displacement) after ModRM/SIB/displacement; -1 when unknown. */
    private static int immediateSize(int map, int op, int reg, boolean osz, boolean rexW, boolean longMode) {
        int z = osz ? 2 : 4;
        if (map == 4) {
            return 1;
        }
        if (map == 3) {
            return 0;
        }
        if (map == 2) {
            if (op >= 0x80 && op <= 0x8f) {
                return 4; // jcc rel32
            }
            return switch (op) {
                case 0x70, 0x71, 0x72, 0x73, 0xa4, 0xac, 0xba, 0xc2, 0xc4, 0xc5, 0xc6 -> 1;
                case 0x0f -> -1;
                default -> 0;
            };
        }
        if (op < 0x40 && (op & 7) == 4) {
            return 1;
        }
        if (op < 0x40 && (op & 7) == 5) {
            return z;
        }
        if (op >= 0x70 && op <= 0x7f) {
            return 1;
        }
        if (op >= 0xb0 && op <= 0xb7) {
            return 1;
        }
        if (op >= 0xb8 && op <= 0xbf) {
            return rexW ? 8 : z;
        }
        return switch (op) {
            case 0x68, 0x69, 0x81, 0xa9, 0xc7, 0xe8, 0xe9 -> op == 0xe8 || op == 0xe9 ? 4 : z;
            case 0x6a, 0x6b, 0x80, 0x82, 0x83, 0xa8, 0xc0, 0xc1, 0xc6, 0xcd, 0xd4, 0xd5, 0xe0, 0xe1, 0xe2, 0xe3,
                    0xe4, 0xe5, 0xe6, 0xe7, 0xeb -> 1;
            case 0xc2, 0xca -> 2;
            case 0xc8 -> 3;
            case 0x9a, 0xea -> longMode ? -1 : 6;
            case 0xf6 -> reg == 0 || reg == 1 ? 1 : 0;
            case 0xf7 -> reg == 0 || reg == 1 ? z : 0;
            default -> 0;
        };
    }

    /** The instruction's bytes as hex pairs, for reports. */
    public static String hex(byte[] bytes, int count) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Math.min(count, bytes.length); i++) {
            if (i > 0) {
                s.append(' ');
            }
            s.append(String.format("%02x", bytes[i] & 0xff));
        }
        return s.toString();
    }

    private static int readInt(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    private static long readLong(byte[] b, int at) {
        return Integer.toUnsignedLong(readInt(b, at)) | (long) readInt(b, at + 4) << 32;
    }

    private static long[] bits(int... values) {
        long[] set = new long[4];
        for (int v : values) {
            set[v >> 6] |= 1L << (v & 63);
        }
        return set;
    }

    private static boolean has(long[] set, int v) {
        return (set[v >> 6] & (1L << (v & 63))) != 0;
    }
}

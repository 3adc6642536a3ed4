package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.jxen.abi.Hypercall;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenMapSpace;
import org.jxen.abi.XenMem;
import org.jxen.hypercalls.mm.PagingMode;
import org.jxen.hypercalls.mm.PagingState;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded random hypercalls over the whole dispatcher, as a hostile guest would make them: random
 * hypercall numbers and sub-ops, argument structures full of random words, pointers near page
 * boundaries and the end of RAM, huge counts, 32- and 64-bit word sizes, paging off or page tables
 * that alias every virtual address onto the argument pages (so that a guest-virtual array can be
 * as long as the guest likes). Every call must return, within a bounded time, {@code >= 0} or a
 * negative Xen errno, and never throw; and no call may write the canary region of guest RAM, which
 * no pointer, gfn or count the fuzzer makes can reach.
 *
 * <p>Each run prints its seed; to replay one, run that parameter (the seed fixes every call). A
 * longer campaign: {@code -Djxen.fuzz.seed=N -Djxen.fuzz.seeds=M -Djxen.fuzz.calls=K}; with
 * {@code -Djxen.fuzz.slow=true} calls over 300 ms are printed.
 *
 * <pre>
 * gpa [0x00000, 0x01000)  untouched
 *     [0x01000, 0x05000)  page tables (PML4, PDPT, PD, PT), rewritten before each call
 *     [0x10000, 0x20000)  argument pages: random contents before each call
 *     [0x20000, 0x21000)  shared_info, when the run maps it first
 *     [0x80000, 0xc0000)  canary: must never change
 *     [0x100000, +4 KiB)  ROM
 * </pre>
 */
class HypercallFuzzTest {
    static final long RAM = 1 << 20;
    static final long ROM_GPA = RAM;
    static final long ARGS = 0x10000;
    static final int ARG_PAGES = 16;
    static final long CANARY = 0x80000;
    static final long CANARY_END = 0xc0000;
    static final long PML4 = 0x1000;
    static final int CALLS = Integer.getInteger("jxen.fuzz.calls", 1500);
    /** The host asks the vCPU to yield once a call has run this long. */
    static final long YIELD_AFTER_NANOS = 10_000_000L;
    /**
     * The host stops the vCPU for good once a call has run this long: calls that jxen cannot
     * preempt (a multicall of 2^32 aliased entries, a 4 GiB console write) end then.
     */
    static final long STOP_AFTER_NANOS = 50_000_000L;
    /** A call that runs this long (after the host asked it to yield and to stop) is a finding. */
    static final long TOO_LONG_NANOS = 2_000_000_000L;

    enum Paging { OFF, ALIASED }

    enum Words { BITS_64, BITS_32, MIXED }

    static Stream<Arguments> runs() {
        Stream.Builder<Arguments> b = Stream.builder();
        long base = Long.getLong("jxen.fuzz.seed", 0x5eed0001L);
        for (long seed = base; seed < base + Integer.getInteger("jxen.fuzz.seeds", 2); seed++) {
            for (Paging p : Paging.values()) {
                for (Words w : Words.values()) {
                    b.add(Arguments.of(seed, p, w));
                }
            }
        }
        return b.build();
    }

    /** The in-memory platform (RAM, then a page of ROM) whose host asks a vCPU to yield, then to stop, when its call has run for a while. */
    static final class FuzzPlatform extends InMemoryXenPlatform {
        volatile long callStart;
        /** The host stops the vCPU (for good) once a call has run this long; never if 0. */
        volatile long stopAfterNanos;

        FuzzPlatform() {
            super("fuzz", UpcallSink.ACCEPT, Console.DROP);
            addAnonymousRam(0, RAM);
            addRom(ROM_GPA, 4096);
        }

        @Override
        public boolean vcpuMustYield(int vcpuId) {
            return System.nanoTime() - callStart > YIELD_AFTER_NANOS;
        }

        @Override
        public boolean vcpuMustStop(int vcpuId) {
            return stopAfterNanos > 0 && System.nanoTime() - callStart > stopAfterNanos;
        }
    }

    /** 4-level paging with CR3 at {@link #PML4} (see {@link #writeAliasedPageTables}). */
    static PagingState aliasedPaging() {
        return PagingState.of(0x80000001L | PagingMode.CR0_WP, PML4, PagingMode.CR4_PAE, PagingMode.EFER_LMA | 0x100, 0);
    }

    /**
     * Page tables under which every canonical virtual address is mapped, onto the argument pages:
     * every PML4, PDPT and PD entry points to the same next table, PT entry i to argument page i % 16.
     */
    static void writeAliasedPageTables(MemorySegment ram) {
        long pdpt = PML4 + 0x1000;
        long pd = PML4 + 0x2000;
        long pt = PML4 + 0x3000;
        for (int i = 0; i < 512; i++) {
            ram.set(ValueLayout.JAVA_LONG_UNALIGNED, PML4 + 8L * i, pdpt | 3);
            ram.set(ValueLayout.JAVA_LONG_UNALIGNED, pdpt + 8L * i, pd | 3);
            ram.set(ValueLayout.JAVA_LONG_UNALIGNED, pd + 8L * i, pt | 3);
            ram.set(ValueLayout.JAVA_LONG_UNALIGNED, pt + 8L * i, (ARGS + 4096L * (i % ARG_PAGES)) | 3);
        }
    }

    /** The fuzzer's state for one run. */
    static final class Fuzzer {
        final long seed;
        final SplittableRandom rnd;
        final Paging paging;
        final Words words;
        final FuzzPlatform platform = new FuzzPlatform();
        final XenDomain domain;
        final HypercallRequest[] requests = {new HypercallRequest(0), new HypercallRequest(1)};
        final MemorySegment ram;
        final MemorySegment canary;
        volatile String current = "(none)";
        volatile int index;

        Fuzzer(long seed, Paging paging, Words words) {
            this.seed = seed;
            this.rnd = new SplittableRandom(seed);
            this.paging = paging;
            this.words = words;
            this.domain = new XenDomain(platform, XenDomain.Config.of(2));
            platform.stopAfterNanos = STOP_AFTER_NANOS;
            this.ram = platform.ram().segment();
            SplittableRandom c = new SplittableRandom(~seed);
            for (long a = CANARY; a < CANARY_END; a += 8) {
                ram.set(ValueLayout.JAVA_LONG_UNALIGNED, a, c.nextLong());
            }
            this.canary = ram.asSlice(CANARY, CANARY_END - CANARY);
            if (paging == Paging.ALIASED) {
                platform.setPagingState(aliasedPaging());
            }
        }

        /** The canary as it must stay. */
        MemorySegment canaryCopy() {
            return MemorySegment.ofArray(canary.toArray(ValueLayout.JAVA_BYTE));
        }

        void writePageTables() {
            writeAliasedPageTables(ram);
        }

        /** Whether {@code v} could reach the canary as an address or a gfn, in either word size. */
        static boolean reachesCanary(long v) {
            for (long x : new long[] {v, v & 0xffff_ffffL, v >>> 32}) {
                if ((x >= CANARY && x < CANARY_END) || (x >= CANARY >>> 12 && x < CANARY_END >>> 12)) {
                    return true;
                }
            }
            return false;
        }

        long interesting() {
            long[] values = {0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 255, 256, 511, 512, 1023, 1024, 4095,
                4096, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fff_ffffL, 0x8000_0000L, 0xffff_ffffL, 0x1_0000_0000L,
                Long.MAX_VALUE, Long.MIN_VALUE, -1, -2, -4096, 0x7ff0, 0x7ff1, 1L << 47, (1L << 47) - 8, 1L << 52,
                RAM - 1, RAM - 2, RAM - 4, RAM - 8, RAM - 16, RAM, ROM_GPA + 4088, RAM >>> 12, (RAM >>> 12) - 1,
                ROM_GPA >>> 12, 0x20, 0x21, 0x30, 0x40, 0xc0, 0xff};
            return values[rnd.nextInt(values.length)];
        }

        /** A pointer into the argument pages, often near a page's end. */
        long argPointer() {
            long page = ARGS + 4096L * rnd.nextInt(ARG_PAGES);
            return switch (rnd.nextInt(4)) {
                case 0 -> page + 4096 - 8L * rnd.nextInt(1, 9);
                case 1 -> page + 4096 - rnd.nextInt(1, 64);
                default -> page + 8L * rnd.nextInt(64);
            };
        }

        long pointer() {
            long p = switch (rnd.nextInt(10)) {
                case 0 -> interesting();
                case 1 -> RAM - rnd.nextInt(1, 128);
                case 2 -> rnd.nextLong();
                case 3 -> paging == Paging.ALIASED ? rnd.nextLong(1L << 47) & ~7L : argPointer();
                case 4 -> paging == Paging.ALIASED ? -(4096L * rnd.nextInt(1, 16)) : argPointer();
                default -> argPointer();
            };
            return reachesCanary(p) ? ARGS : p;
        }

        long word() {
            long v = switch (rnd.nextInt(11)) {
                // DOMID_SELF with small neighbours: the head of most structures (domid, then a
                // 16-bit and a 32-bit field), so that they get past their domain check
                case 10 -> 0x7ff0 | ((long) rnd.nextInt(4) << 16) | ((long) rnd.nextInt(8) << 32);
                case 0, 1, 2 -> rnd.nextInt(65);
                case 3, 4 -> interesting();
                case 5, 6 -> pointer();
                case 7 -> rnd.nextInt() & 0xffff_ffffL;
                default -> rnd.nextLong();
            };
            return reachesCanary(v) ? 0 : v;
        }

        final byte[] args = new byte[4096 * ARG_PAGES];
        final MemorySegment argsView = MemorySegment.ofArray(args);

        void fillArguments() {
            for (long a = 0; a < args.length; a += 8) {
                argsView.set(ValueLayout.JAVA_LONG_UNALIGNED, a, word());
            }
            // no 4-byte window, aligned or not, may read as a canary address or gfn: an address
            // there has bytes (x, 0x08..0x0b, 0) at +1..+3, a gfn (0x80..0xbf, 0, 0, 0) at +0..+3
            for (int i = 0; i + 1 < args.length; i++) {
                int b = args[i] & 0xff;
                if (b >= 0x08 && b < 0x0c && args[i + 1] == 0) {
                    args[i] = 0x0c;
                } else if (b >= 0x80 && b < 0xc0 && i + 3 < args.length && args[i + 1] == 0 && args[i + 2] == 0
                        && args[i + 3] == 0) {
                    args[i] = 0x7f;
                }
            }
            MemorySegment.copy(argsView, 0, ram, ARGS, args.length);
        }

        int number() {
            int[] calls = {Hypercall.MEMORY_OP, Hypercall.MULTICALL, Hypercall.SET_TIMER_OP, Hypercall.XEN_VERSION,
                Hypercall.CONSOLE_IO, Hypercall.GRANT_TABLE_OP, Hypercall.VCPU_OP, Hypercall.SCHED_OP,
                Hypercall.EVENT_CHANNEL_OP, Hypercall.HVM_OP};
            return rnd.nextInt(20) == 0 ? (int) word() : calls[rnd.nextInt(calls.length)];
        }

        long subOp(int number) {
            long op = rnd.nextInt(8) == 0 ? word() : rnd.nextInt(26);
            if (number == Hypercall.MEMORY_OP && rnd.nextBoolean()) {
                op |= (rnd.nextBoolean() ? rnd.nextInt(4) : word()) << XenMem.EXTENT_SHIFT;
            }
            return op;
        }

        long count() {
            long[] counts = {0, 1, 2, 3, 127, 200, 0xffff, 0x1_0000, 0x7fff_ffff, 0x8000_0000L, 0xffff_ffffL};
            return rnd.nextBoolean() ? counts[rnd.nextInt(counts.length)] : word();
        }

        /** Maps shared_info at gfn 0x20 and binds a few ports, so that events have somewhere to go. */
        void setUpDomain() {
            if (rnd.nextBoolean()) {
                MemorySegment a = ram.asSlice(ARGS, 32);
                a.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) 0x7ff0);
                a.set(ValueLayout.JAVA_INT_UNALIGNED, 4, XenMapSpace.SHARED_INFO);
                a.set(ValueLayout.JAVA_LONG_UNALIGNED, 8, 0);
                a.set(ValueLayout.JAVA_LONG_UNALIGNED, 16, 0x20);
                platform.setPagingState(PagingState.pagingOff());
                domain.dispatch(requests[0].set(Hypercall.MEMORY_OP, XenMem.ADD_TO_PHYSMAP, ARGS, 0, 0, 0, 0,
                        WordSize.BITS_64, 0));
                if (paging == Paging.ALIASED) {
                    platform.setPagingState(aliasedPaging());
                }
            }
        }

        void run() {
            System.out.printf("fuzz seed 0x%x paging %s words %s calls %d%n", seed, paging, words, CALLS);
            MemorySegment expectedCanary = canaryCopy();
            setUpDomain();
            for (int i = 0; i < CALLS; i++) {
                index = i;
                if (paging == Paging.ALIASED) {
                    writePageTables();
                }
                fillArguments();
                int number = number();
                WordSize w = switch (words) {
                    case BITS_64 -> WordSize.BITS_64;
                    case BITS_32 -> WordSize.BITS_32;
                    case MIXED -> rnd.nextInt(4) == 0 ? WordSize.BITS_32 : WordSize.BITS_64;
                };
                long mask = w == WordSize.BITS_64 ? -1L : 0xffff_ffffL;
                long a0 = subOp(number) & mask;
                long a1 = (rnd.nextInt(3) == 0 ? count() : pointer()) & mask;
                if (number == Hypercall.MULTICALL && paging == Paging.OFF) {
                    // the entries must come from the argument pages, where no word reaches the canary,
                    // and each entry's result is written back into the list
                    boolean inArgs = a0 >= ARGS && a0 < ARGS + 4096L * ARG_PAGES;
                    long most = inArgs ? (ARGS + 4096L * ARG_PAGES - a0) / 64 : 1;
                    a1 = Long.compareUnsigned(a1, most) > 0 ? most : a1;
                }
                long a2 = (rnd.nextInt(3) == 0 ? count() : pointer()) & mask;
                long a3 = word() & mask;
                long a4 = word() & mask;
                long a5 = word() & mask;
                HypercallRequest r = requests[rnd.nextInt(requests.length)];
                r.set(number, a0, a1, a2, a3, a4, a5, w, 0);
                String what = "seed 0x" + Long.toHexString(seed) + " call " + i + ": " + r;
                current = what;
                long start = System.nanoTime();
                platform.callStart = start;
                long rc;
                try {
                    rc = domain.dispatch(r);
                } catch (Throwable t) {
                    throw new AssertionError(what + " threw", t);
                }
                long took = System.nanoTime() - start;
                if (took > 300_000_000L && Boolean.getBoolean("jxen.fuzz.slow")) {
                    System.out.println("SLOW " + took / 1_000_000 + " ms " + what);
                }
                if (took > TOO_LONG_NANOS) {
                    throw new AssertionError(what + " took " + took / 1_000_000 + " ms");
                }
                if (rc < -200) {
                    throw new AssertionError(what + " returned " + rc + ", neither >= 0 nor a Xen errno");
                }
                long at = canary.mismatch(expectedCanary);
                if (at >= 0) {
                    throw new AssertionError(what + " wrote the canary at gpa 0x" + Long.toHexString(CANARY + at));
                }
            }
        }

        void close() {
            domain.close();
            platform.close();
        }
    }

    @ParameterizedTest(name = "seed {0} paging {1} words {2}")
    @MethodSource("runs")
    void randomHypercallsNeitherThrowNorHangNorWriteOutside(long seed, Paging paging, Words words) {
        Fuzzer f = new Fuzzer(seed, paging, words);
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(60), f::run,
                    () -> "still running " + f.current + " (call " + f.index + ")");
        } finally {
            f.close();
        }
    }
}

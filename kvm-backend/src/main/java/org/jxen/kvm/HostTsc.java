package org.jxen.kvm;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import org.jxen.gpc.Libc;
import org.jxen.hypercalls.time.GuestTsc;

/**
 * The host's time-stamp counter, read from Java: {@link #read()} calls a 13-byte function that jxen
 * writes into a page of its own and makes executable (as {@link KickSignal} does for its handler),
 * so there is no native library:
 * <pre>
 *   0f ae e8        lfence                 (rdtsc does not run ahead of earlier instructions)
 *   0f 31           rdtsc                  edx:eax = TSC
 *   48 c1 e2 20     shl  $32, %rdx
 *   48 09 d0        or   %rdx, %rax
 *   c3              ret                    rax = TSC
 * </pre>
 * The page is written while it is read-write and then made read-execute; it lives as long as the
 * process. The downcall is {@code critical}: no thread state change, about as cheap as a JNI-free
 * call can be.
 *
 * <p>{@link #sample()} pairs the counter with {@link System#nanoTime()} ({@code CLOCK_MONOTONIC}
 * on Linux, which is Xen system time on KVM): it reads the counter, the clock and the counter
 * again, a few times, and keeps the tightest bracket, the counter's value taken in its middle.
 *
 * <p>Threads: stateless after class initialisation; any thread.
 */
public final class HostTsc {
    private static final byte[] CODE = {
        0x0f, (byte) 0xae, (byte) 0xe8, // lfence
        0x0f, 0x31, // rdtsc
        0x48, (byte) 0xc1, (byte) 0xe2, 0x20, // shl $32, %rdx
        0x48, 0x09, (byte) 0xd0, // or %rdx, %rax
        (byte) 0xc3, // ret
    };
    /** Brackets tried per {@link #sample()}. */
    static final int SAMPLE_TRIES = 5;
    /** Calls of {@link #sample()} at class initialisation (see {@link #warmUp()}). */
    static final int WARM_UP_CALLS = 3000;
    private static final MethodHandle RDTSC;
    private static final String UNAVAILABLE;

    static {
        MethodHandle h = null;
        String why = null;
        String arch = System.getProperty("os.arch");
        if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            why = "the host is " + arch + ", not x86-64";
        } else {
            try {
                long page = Libc.mmap(4096, Libc.PROT_READ | Libc.PROT_WRITE,
                        Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
                MemorySegment code = MemorySegment.ofAddress(page).reinterpret(4096);
                MemorySegment.copy(MemorySegment.ofArray(CODE), 0, code, 0, CODE.length);
                Libc.mprotect(page, 4096, Libc.PROT_READ | Libc.PROT_EXEC);
                h = Linker.nativeLinker().downcallHandle(code, FunctionDescriptor.of(ValueLayout.JAVA_LONG),
                        Linker.Option.critical(false));
            } catch (RuntimeException e) {
                why = "cannot make the rdtsc page: " + e.getMessage();
            }
        }
        RDTSC = h;
        UNAVAILABLE = why;
        if (h != null) {
            warmUp();
        }
    }

    /**
     * Calls {@link #sample()} enough times for the JIT to compile it: interpreted, the tightest
     * bracket here was about 2,400 ticks; compiled, about 150 (docs/kvm-backend.md). The domain
     * samples once a second, too rarely to get it compiled on its own. Some tens of milliseconds,
     * once per process.
     */
    private static void warmUp() {
        for (int i = 0; i < WARM_UP_CALLS; i++) {
            sample();
        }
    }

    private HostTsc() {
    }

    /** True when {@link #read()} works here. */
    public static boolean isAvailable() {
        return UNAVAILABLE == null;
    }

    /** Why {@link #read()} does not work here, or null. */
    public static String unavailabilityCause() {
        return UNAVAILABLE;
    }

    /** The host's TSC now ({@code lfence; rdtsc}). */
    public static long read() {
        if (RDTSC == null) {
            throw new UnsupportedOperationException("HostTsc: " + UNAVAILABLE);
        }
        try {
            return (long) RDTSC.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The counter and {@link System#nanoTime()} at the same instant, from the tightest of a few brackets. */
    public static GuestTsc.Sample sample() {
        long bestWidth = Long.MAX_VALUE;
        long bestTsc = 0;
        long bestNs = 0;
        for (int i = 0; i < SAMPLE_TRIES; i++) {
            long before = read();
            long ns = System.nanoTime();
            long after = read();
            long width = after - before;
            if (width >= 0 && width < bestWidth) {
                bestWidth = width;
                bestTsc = before + width / 2;
                bestNs = ns;
            }
        }
        if (bestWidth == Long.MAX_VALUE) { // the counter went backwards every time (migrated between unsynchronised CPUs)
            long ns = System.nanoTime();
            return new GuestTsc.Sample(read(), ns);
        }
        return new GuestTsc.Sample(bestTsc, bestNs);
    }

    /** The width in ticks of the tightest bracket of {@link #sample()} (for measurements). */
    static long tightestBracket(int tries) {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < tries; i++) {
            long before = read();
            System.nanoTime();
            long after = read();
            best = Math.min(best, after - before);
        }
        return best;
    }
}

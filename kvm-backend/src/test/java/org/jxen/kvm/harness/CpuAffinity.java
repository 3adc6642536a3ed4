package org.jxen.kvm.harness;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Makes a thread wait for a CPU, for the steal-time scenarios: {@code sched_setaffinity(2)} through
 * FFM pins a thread (the vCPU thread, by its kernel id) and a few busy host threads to one CPU, so
 * that the pinned thread is runnable but not running most of the time (its run delay grows).
 *
 * <p>Threads: {@link #pin}/{@link #mask} for any thread of this process; a {@link Crowd} is started
 * and closed by one test thread.
 */
final class CpuAffinity {
    private static final Linker LINKER = Linker.nativeLinker();
    /** {@code sizeof(cpu_set_t)}: 1024 CPUs. */
    private static final long CPU_SET_SIZE = 128;
    private static final MethodHandle SET = LINKER.downcallHandle(LINKER.defaultLookup().find("sched_setaffinity")
            .orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS));
    private static final MethodHandle GET = LINKER.downcallHandle(LINKER.defaultLookup().find("sched_getaffinity")
            .orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS));

    private CpuAffinity() {
    }

    /** The CPUs thread {@code tid} (0: the calling thread) may run on, as a mask of CPUs 0..63. */
    static long mask(int tid) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment set = a.allocate(CPU_SET_SIZE, 8);
            int r = (int) GET.invokeExact(tid, CPU_SET_SIZE, set);
            if (r < 0) {
                throw new IllegalStateException("sched_getaffinity(" + tid + ") failed");
            }
            return set.get(ValueLayout.JAVA_LONG, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Lets thread {@code tid} (0: the calling thread) run only on the CPUs of {@code mask}. */
    static void pin(int tid, long mask) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment set = a.allocate(CPU_SET_SIZE, 8);
            set.set(ValueLayout.JAVA_LONG, 0, mask);
            int r = (int) SET.invokeExact(tid, CPU_SET_SIZE, set);
            if (r < 0) {
                throw new IllegalStateException("sched_setaffinity(" + tid + ", 0x" + Long.toHexString(mask) + ") failed");
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The highest CPU this process may use, as a one-CPU mask. */
    static long lastAllowedCpu() {
        long m = mask(0);
        if (m == 0) {
            throw new IllegalStateException("no CPU below 64 in this process's affinity");
        }
        return Long.highestOneBit(m);
    }

    /**
     * {@code threads} busy host threads pinned with thread {@code tid} to one CPU; {@link #close()}
     * stops them and gives {@code tid} its old CPUs back.
     */
    static final class Crowd implements AutoCloseable {
        private final int tid;
        private final long oldMask;
        private final AtomicBoolean stop = new AtomicBoolean();
        private final List<Thread> busy = new ArrayList<>();

        Crowd(int tid, int threads) throws InterruptedException {
            this.tid = tid;
            this.oldMask = mask(tid);
            long cpu = lastAllowedCpu();
            pin(tid, cpu);
            CountDownLatch pinned = new CountDownLatch(threads);
            for (int i = 0; i < threads; i++) {
                busy.add(Thread.ofPlatform().name("crowd-" + i).daemon(true).start(() -> {
                    pin(0, cpu);
                    pinned.countDown();
                    long x = 0;
                    while (!stop.get()) {
                        x += System.nanoTime() & 3;
                    }
                    if (x == 1) {
                        Thread.onSpinWait();
                    }
                }));
            }
            if (!pinned.await(30, TimeUnit.SECONDS)) {
                close();
                throw new IllegalStateException("the busy threads did not start");
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            for (Thread t : busy) {
                t.join(30_000);
            }
            pin(tid, oldMask);
        }
    }
}

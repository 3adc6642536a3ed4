package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.jxen.abi.EvtchnFifo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * No event is lost, whatever the interleaving of the host's raises with the guest's FIFO consumer
 * ({@link FifoGuestModel}, Xen's consumer algorithm), masking, unmasking, priority changes and
 * moves between vCPUs. The property, per port: if the host raised it, the guest handled it later:
 * a raise takes a tick of a clock before it sets PENDING, a handling takes one after its
 * acknowledge cleared PENDING, so the handling that consumed the last raise has a later tick than
 * it (a port whose last handling is older was lost). And at the end, after the guest unmasked
 * everything and ran its upcalls while {@code evtchn_upcall_pending} said so: no word is PENDING or
 * LINKED and no READY bit is left (nothing stranded in a queue that no upcall announces); since
 * only the guest's acknowledge clears PENDING here, a port not pending at the end was handled
 * after each of its raises.
 *
 * <p>Seeded: each seed is printed; a failure names it. The step test interleaves at the granularity
 * of the guest's memory accesses, deterministically; the thread test runs the host's raises on two
 * threads against one guest consumer thread per vCPU, so it also interleaves inside the host's link.
 */
class FifoNoLostEventTest extends FifoTestBase {

    static Stream<Long> seeds() {
        return Stream.concat(LongStream.rangeClosed(1, 24).boxed(), Stream.of(System.nanoTime()));
    }

    /** Fewer seeds for the thread test: each runs 2 x 10,000 raises against 2 consumer threads. */
    static Stream<Long> threadSeeds() {
        return Stream.concat(LongStream.rangeClosed(1, 5).boxed(), Stream.of(System.nanoTime()));
    }

    /** The ports of the test: IPIs on each vCPU and loopback pairs (which may move between vCPUs). */
    private List<Integer> ports;
    private List<Integer> movable;

    private void bindPorts() {
        ports = new ArrayList<>();
        movable = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ports.add(bindIpi(0));
            ports.add(bindIpi(1));
        }
        for (int i = 0; i < 6; i++) {
            int[] pair = loopbackPair();
            ports.add(pair[0]);
            ports.add(pair[1]);
            movable.add(pair[0]);
            movable.add(pair[1]);
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void noEventIsLostUnderRandomStepInterleavings(long seed) {
        System.out.println("FifoNoLostEventTest step interleavings: seed " + seed);
        Random r = new Random(seed);
        setUpFifo(1);
        bindPorts();
        long[] lastRaise = new long[64];
        long[] lastHandled = new long[64];
        java.util.Arrays.fill(lastRaise, -1);
        java.util.Arrays.fill(lastHandled, -1);
        long[] now = {0};
        handled.clear();
        guest = new FifoGuestModel(mem(), new FifoGuestModel.Layout(sharedInfoGpa(),
                new long[] {controlBlockGpa(0), controlBlockGpa(1)}, new long[] {arrayPageGpa(0)}), 2,
                port -> lastHandled[port] = now[0], (vcpu, port) -> (int) unmaskOn(vcpu, port));

        for (int i = 0; i < 20_000; i++, now[0]++) {
            int action = r.nextInt(100);
            int port = ports.get(r.nextInt(ports.size()));
            int vcpu = r.nextInt(2);
            if (action < 40) {
                if (guest.state(vcpu) == FifoGuestModel.State.IDLE) {
                    if (guest.upcallPending(vcpu) != 0 || r.nextInt(20) == 0) {
                        guest.beginUpcall(vcpu); // the vector arrived (or a spurious upcall)
                    }
                } else {
                    guest.step(vcpu);
                }
            } else if (action < 70) {
                lastRaise[port] = now[0];
                domain.raise(port);
            } else if (action < 75) {
                if (domain.eventChannels().kind(port) == EventChannels.Kind.INTERDOMAIN) {
                    // EVTCHNOP_send on one end raises the other
                    int peer = domain.eventChannels().status(port)[3];
                    lastRaise[peer] = now[0];
                    assertEquals(0, send(port));
                }
            } else if (action < 83) {
                guest.mask(port);
            } else if (action < 91) {
                guest.unmask(vcpu, port);
            } else if (action < 96) {
                assertEquals(0, setPriority(port, r.nextInt(EvtchnFifo.PRIORITY_MIN + 1)));
            } else {
                int m = movable.get(r.nextInt(movable.size()));
                assertEquals(0, bindVcpu(m, vcpu));
            }
        }
        finishAndCheck(seed, p -> lastRaise[p], p -> lastHandled[p]);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("threadSeeds")
    void noEventIsLostWithHostAndGuestThreads(long seed) throws Exception {
        System.out.println("FifoNoLostEventTest threads: seed " + seed);
        setUpFifo(1);
        bindPorts();
        AtomicLong clock = new AtomicLong();
        AtomicLongArray lastRaise = new AtomicLongArray(64);
        AtomicLongArray lastHandled = new AtomicLongArray(64);
        for (int i = 0; i < 64; i++) {
            lastRaise.set(i, -1);
            lastHandled.set(i, -1);
        }
        handled.clear();
        guest = new FifoGuestModel(mem(), new FifoGuestModel.Layout(sharedInfoGpa(),
                new long[] {controlBlockGpa(0), controlBlockGpa(1)}, new long[] {arrayPageGpa(0)}), 2,
                // taken after the acknowledge cleared PENDING, while a raise takes its tick before it
                // sets PENDING: the handling that consumed a raise always has the later tick
                port -> lastHandled.accumulateAndGet(port, clock.incrementAndGet(), Math::max),
                (vcpu, port) -> (int) unmaskOn(vcpu, port));

        AtomicBoolean hostsDone = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int h = 0; h < 2; h++) {
            Random r = new Random(seed * 31 + h);
            threads.add(new Thread(() -> {
                for (int i = 0; i < 10_000; i++) {
                    int port = ports.get(r.nextInt(ports.size()));
                    lastRaise.accumulateAndGet(port, clock.incrementAndGet(), Math::max);
                    domain.raise(port);
                    if ((i & 63) == 0) {
                        Thread.yield();
                    }
                }
            }, "host-" + h));
        }
        for (int v = 0; v < 2; v++) {
            int vcpu = v;
            Random r = new Random(seed * 97 + v);
            threads.add(new Thread(() -> {
                while (!hostsDone.get()) {
                    if (guest.upcallPending(vcpu) != 0) {
                        guest.runUpcall(vcpu);
                    }
                    int port = ports.get(r.nextInt(ports.size()));
                    int a = r.nextInt(100);
                    if (a < 3) {
                        guest.mask(port);
                    } else if (a < 6) {
                        guest.unmask(vcpu, port);
                    }
                    Thread.onSpinWait();
                }
            }, "guest-vcpu" + v));
        }
        for (Thread t : threads) {
            t.setUncaughtExceptionHandler((th, e) -> failure.compareAndSet(null, e));
            t.start();
        }
        for (int h = 0; h < 2; h++) {
            threads.get(h).join(TimeUnit.MINUTES.toMillis(5));
        }
        hostsDone.set(true);
        for (Thread t : threads) {
            t.join(TimeUnit.MINUTES.toMillis(5));
            assertTrue(!t.isAlive(), t.getName() + " did not finish (seed " + seed + ")");
        }
        if (failure.get() != null) {
            throw new AssertionError("seed " + seed + ": a thread failed", failure.get());
        }
        finishAndCheck(seed, lastRaise::get, lastHandled::get);
    }

    /** The guest unmasks everything and runs its upcalls to the end; then the checks of the class comment. */
    private void finishAndCheck(long seed, java.util.function.IntToLongFunction lastRaise,
            java.util.function.IntToLongFunction lastHandled) {
        for (int v = 0; v < 2; v++) {
            while (guest.step(v)) {
                // finish an upcall in progress
            }
        }
        for (int p : ports) {
            guest.unmask(p);
        }
        for (int round = 0; round < 100; round++) {
            int ran = guest.drain(0) + guest.drain(1);
            if (ran == 0) {
                break;
            }
        }
        List<String> problems = new ArrayList<>();
        for (int p : ports) {
            long raised = lastRaise.applyAsLong(p);
            long done = lastHandled.applyAsLong(p);
            if (raised >= 0 && done <= raised) {
                problems.add("port " + p + " raised at " + raised + ", last handled at " + done + ", word 0x"
                        + Integer.toHexString(word(p)));
            }
            if ((word(p) & (EventFifo.PENDING | EventFifo.LINKED)) != 0) {
                problems.add("port " + p + " left with word 0x" + Integer.toHexString(word(p)));
            }
        }
        for (int v = 0; v < 2; v++) {
            if (guest.readyWord(v) != 0) {
                problems.add("vcpu " + v + " READY 0x" + Integer.toHexString(guest.readyWord(v)) + " with no upcall");
            }
        }
        if (!problems.isEmpty()) {
            fail("seed " + seed + ": " + String.join("; ", problems));
        }
        assertEquals(0, domain.eventChannels().deferredCount(), "seed " + seed);
    }
}

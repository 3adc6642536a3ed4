package org.jxen.stress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.lang.foreign.ValueLayout;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.jxen.gpc.GfnToPfnCache;
import org.jxen.gpc.GpcStatus;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.gpc.MappedArea;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Deterministic reproduction of a gpc bug that {@link TwoInvalidationsVsTryLockAndWrite} looks for
 * by stress (it needs three CPUs): an operation that must wait until no reader is inside the old
 * mapping returns at once when <em>another</em> invalidation has already cleared the mapping and
 * is still waiting for that reader. {@code GfnToPfnCache.invalidateIf} returns early on
 * {@code mapping == null} ("nothing matches"), and {@code deactivate}/{@code activate} only call
 * {@code awaitNoReader} when {@code old != null}; but a null mapping does not mean no reader is
 * inside: a concurrent invalidation may have cleared it and still be draining.
 *
 * <p>Interleaving, forced here: a reader locks the cache and stays inside (as a preempted
 * reader does); invalidation 1 clears the mapping and waits for it; then the operation under test
 * runs and must not return until the reader left. Before the fix it returned at once, and the
 * reader's write landed after it returned. The cache now keeps the mappings it took out of service
 * until their readers have left ({@code retired}), and every such operation waits for them: this
 * test is the regression test of that fix and runs in every build.
 */
class OverlappingDrainReproTest {
    private static final long PAGE = HostMemory.PAGE_SIZE;

    @ParameterizedTest
    @ValueSource(strings = {"invalidateHostRange", "deactivate", "activate", "removeSlot"})
    void operationWaitsForReaderThatAnOverlappingInvalidationIsDraining(String operation) throws Exception {
        HostMemory host = HostMemory.offHeap("repro", 2 * PAGE);
        GuestMemory memory = new GuestMemory("repro");
        memory.addSlot(0, 0, PAGE, host, 0, 0);
        memory.addSlot(1, PAGE, PAGE, host, PAGE, 0);
        GfnToPfnCache cache = memory.newCache("repro");
        assertEquals(GpcStatus.OK, cache.activate(0, 8));
        Consumer<Void> op = switch (operation) {
            case "invalidateHostRange" -> v -> memory.invalidateHostRange(host, 0, PAGE); // left open
            case "deactivate" -> v -> cache.deactivate();
            case "activate" -> v -> cache.activate(PAGE, 8);
            case "removeSlot" -> v -> memory.removeSlot(0);
            default -> throw new IllegalArgumentException(operation);
        };

        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            MappedArea a = cache.lock();
            inside.countDown();
            try {
                leave.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            a.putLong(0, 1); // through the old mapping of gpa 0
            cache.unlock();
        }, "reader");
        reader.start();
        inside.await();

        Thread drainer = new Thread(() -> memory.invalidateHostRange(host, 0, PAGE).close(), "invalidation 1");
        drainer.start();
        while (cache.check()) {
            Thread.onSpinWait(); // invalidation 1 cleared the mapping; it now waits for the reader
        }
        Thread.sleep(20);

        CountDownLatch returned = new CountDownLatch(1);
        Thread underTest = new Thread(() -> {
            op.accept(null);
            returned.countDown();
        }, operation);
        underTest.start();
        boolean returnedWhileReaderInside = returned.await(300, TimeUnit.MILLISECONDS);
        long hostValueWhenItReturned = host.segment().get(ValueLayout.JAVA_LONG, 0);
        leave.countDown();
        reader.join();
        drainer.join();
        underTest.join();
        long finalValue = host.segment().get(ValueLayout.JAVA_LONG, 0);

        assertFalse(returnedWhileReaderInside, operation + " returned while a reader was still inside the old "
                + "mapping (value then " + hostValueWhenItReturned + ", final " + finalValue
                + "): its write landed afterwards");
    }
}

package org.jxen.kvm.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.jxen.kvm.KvmRequired;
import org.jxen.kvm.Vcpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * SCENARIOS.md 7 and 16 with a real guest under KVM (guest test-evtchn-memory): events raised by
 * host threads while the memory map, or the memory behind shared_info, changes.
 */
class MemoryScenariosTest {
    static final String GUEST = "test-evtchn-memory";
    static final long PAGE = HostMemory.PAGE_SIZE;
    /** Guest-physical addresses above the tests' 64 MiB of RAM and below the MMIO hole. */
    static final long EXTRA_SLOT_GPA = 0x9000_0000L;
    static final long SHARED_INFO_SLOT_GPA = 0x9100_0000L;
    static final int EXTRA_SLOT = 30;
    static final int SHARED_INFO_SLOT = 31;
    static final Duration SEEN_TIMEOUT = Duration.ofSeconds(30);

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    /**
     * Raises K ports, each again only once the guest's hit counter for it caught up with the raises
     * so far: every raise is one event the guest must see (no 2-level coalescing).
     *
     * <p>Threads: {@link #pass()} on one sender thread; the counts are read by the test thread
     * after that thread ended (joined through its future).
     */
    static final class HandshakeSender {
        final SelftestVm vm;
        final int first;
        final long[] sent;
        final long hitsGpa;

        HandshakeSender(SelftestVm vm, int first, int ports, long hitsGpa) {
            this.vm = vm;
            this.first = first;
            this.sent = new long[ports];
            this.hitsGpa = hitsGpa;
        }

        long seen(int i) {
            return Integer.toUnsignedLong(vm.vm().memory().getIntVolatile(hitsGpa + 4L * (first + i)));
        }

        /** One pass over the ports: raises those whose previous raise was seen. Returns how many it raised. */
        int pass() {
            int raised = 0;
            for (int i = 0; i < sent.length; i++) {
                if (seen(i) == sent[i]) {
                    sent[i]++;
                    vm.domain().raise(first + i);
                    raised++;
                }
            }
            return raised;
        }

        long total() {
            return Arrays.stream(sent).sum();
        }

        /** Waits until the guest saw every raise; asserts it did, port by port. */
        void assertAllSeen(String scenario) throws InterruptedException {
            ScenarioGuest.await(() -> {
                for (int i = 0; i < sent.length; i++) {
                    if (seen(i) != sent[i]) {
                        return false;
                    }
                }
                return true;
            }, SEEN_TIMEOUT);
            for (int i = 0; i < sent.length; i++) {
                assertEquals(sent[i], seen(i), scenario + ": port " + (first + i) + " raised " + sent[i]
                        + " times; every accepted event is seen, once");
            }
        }
    }

    record Started(SelftestVm vm, HandshakeSender sender, long stopGpa) {
        /** Stops the guest's loop and checks its own totals. */
        void finish(String scenario) {
            vm.vm().memory().putLongVolatile(stopGpa, 1);
            vm.domain().raise(sender.first);
            Ucall u = vm.awaitSync(0, 3);
            // the guest's own count: every raise, and the stop's raise if it came before the guest left
            assertTrue(u.arg(2) == sender.total() || u.arg(2) == sender.total() + 1,
                    scenario + ": the guest counted " + u.arg(2) + " of " + sender.total() + " raises");
            assertTrue(u.arg(1) >= 1 && u.arg(1) <= u.arg(2), scenario + ": upcalls " + u.arg(1));
            vm.resume(0);
            vm.awaitDone(0);
        }
    }

    static Started begin(SelftestVm vm, long frameGva, long frameGpa, int ports) {
        vm.start();
        ScenarioGuest.choose(vm, frameGva, frameGpa, ports);
        Ucall u = vm.awaitSync(0, 2);
        int first = (int) u.arg(1);
        assertEquals(ports, u.arg(2));
        HandshakeSender s = new HandshakeSender(vm, first, ports, u.arg(3));
        long stopGpa = u.arg(4);
        vm.resume(0);
        return new Started(vm, s, stopGpa);
    }

    static CompletableFuture<Void> onThread(String name, Runnable r) {
        return CompletableFuture.runAsync(r, x -> new Thread(x, name).start());
    }

    @Test
    void scenario07_eventDuringMemslotAdd() throws Exception {
        // the VM closes first: its memslots go before the host memory behind them
        try (HostMemory extra = HostMemory.anonymous("scenario7-extra", 16 * PAGE);
                SelftestVm vm = ScenarioGuest.create(GUEST)) {
            Started st = begin(vm, 0, 0, 4);
            GuestMemory memory = vm.vm().memory();
            AtomicBoolean done = new AtomicBoolean();
            AtomicLong changes = new AtomicLong();
            long generation = memory.generation();
            // a host thread adds (and takes away again) a memslot, over and over, while events are raised
            CompletableFuture<Void> flipper = onThread("scenario7-memslots", () -> {
                while (!done.get()) {
                    memory.addSlot(EXTRA_SLOT, EXTRA_SLOT_GPA, extra.size(), extra, 0, 0);
                    memory.removeSlot(EXTRA_SLOT);
                    changes.addAndGet(2);
                }
            });
            long raises = 2000;
            CompletableFuture<Void> sender = onThread("scenario7-events", () -> {
                long deadline = System.nanoTime() + SEEN_TIMEOUT.toNanos();
                while ((st.sender().total() < raises || changes.get() < 20) && System.nanoTime() - deadline < 0) {
                    if (st.sender().pass() == 0) {
                        Thread.onSpinWait();
                    }
                }
            });
            sender.get(60, TimeUnit.SECONDS);
            done.set(true);
            flipper.get(30, TimeUnit.SECONDS);
            st.sender().assertAllSeen("scenario 7");
            assertTrue(st.sender().total() >= raises, "raised " + st.sender().total());
            System.out.printf("scenario 7: %d events raised during %d memory-map changes%n", st.sender().total(),
                    changes.get());
            assertTrue(changes.get() >= 20, "the memory map changed while events were raised: " + changes.get());
            assertTrue(memory.generation() - generation >= changes.get(), "each change is a new generation");
            st.finish("scenario 7");
        }
    }

    @Test
    void scenario16_sharedInfoRemappedAndUnmappedWhileEventsFlowForTwoSeconds() throws Exception {
        long seed = System.nanoTime();
        System.out.printf("scenario 16: seed 0x%x%n", seed);
        SplittableRandom random = new SplittableRandom(seed);
        try (HostMemory a = HostMemory.anonymous("scenario16-shared-info-a", PAGE);
                HostMemory b = HostMemory.anonymous("scenario16-shared-info-b", PAGE);
                SelftestVm vm = ScenarioGuest.create(GUEST)) {
            GuestMemory memory = vm.vm().memory();
            memory.addSlot(SHARED_INFO_SLOT, SHARED_INFO_SLOT_GPA, PAGE, a, 0, 0);
            long gva = vm.virtualAllocator().reserve(PAGE, VirtualAllocator.Access.SUPERVISOR);
            vm.pageTables().map(gva, SHARED_INFO_SLOT_GPA, PAGE, true, false);
            Started st = begin(vm, gva, SHARED_INFO_SLOT_GPA, 8);
            assertEquals(SHARED_INFO_SLOT_GPA >> 12, vm.domain().sharedInfoGfn(), "shared_info where the guest put it");

            Vcpu vcpu = vm.vm().vcpu(0);
            AtomicBoolean done = new AtomicBoolean();
            HostMemory[] backing = {a, b}; // [0] is behind the slot now, [1] is retired
            boolean[] retiredHoldsSentinel = {false};
            AtomicLongArray counts = new AtomicLongArray(2); // [0] re-mapped, [1] invalidated
            byte sentinel = (byte) 0x5a;
            CompletableFuture<Void> flipper = onThread("scenario16-remapper", () -> {
                MemorySegment snapshot = MemorySegment.ofArray(new byte[(int) PAGE]);
                for (long i = 0; !done.get(); i++) {
                    boolean swap = i % 2 == 0;
                    assertTrue(vcpu.pause(Duration.ofSeconds(10)), "vcpu pauses");
                    try {
                        if (swap) {
                            // un-mapped: the slot goes away, events meanwhile wait (deferred); re-mapped
                            // onto other host memory with the same contents
                            memory.removeSlot(SHARED_INFO_SLOT);
                            HostMemory old = backing[0];
                            HostMemory next = backing[1];
                            if (retiredHoldsSentinel[0]) {
                                assertUntouched(next, sentinel, "the page retired earlier");
                            }
                            MemorySegment.copy(old.segment(), 0, next.segment(), 0, PAGE);
                            old.segment().fill(sentinel);
                            retiredHoldsSentinel[0] = true;
                            sleepMicros(random.nextInt(2000));
                            memory.addSlot(SHARED_INFO_SLOT, SHARED_INFO_SLOT_GPA, PAGE, next, 0, 0);
                            backing[0] = next;
                            backing[1] = old;
                            counts.incrementAndGet(0);
                        } else {
                            // the host invalidates the range behind shared_info (as before it remaps or
                            // migrates it): while that lasts nothing may write the page
                            HostMemory current = backing[0];
                            try (var inv = memory.invalidateHostRange(current, 0, PAGE)) {
                                // from here until the end of the invalidation (and the vCPU is paused)
                                MemorySegment.copy(current.segment(), 0, snapshot, 0, PAGE);
                                sleepMicros(random.nextInt(2000));
                                long diff = current.segment().mismatch(snapshot);
                                assertEquals(-1, diff, "no write to shared_info while its host range is invalidated");
                            }
                            counts.incrementAndGet(1);
                        }
                    } finally {
                        vcpu.resume();
                    }
                    sleepMicros(random.nextInt(1000)); // the guest runs and handles events
                }
            });
            CompletableFuture<Void> sender = onThread("scenario16-events", () -> {
                // 2 s, and on a slow host until both kinds of change happened a few times
                long start = System.nanoTime();
                long end = start + Duration.ofSeconds(2).toNanos();
                long limit = start + Duration.ofSeconds(60).toNanos();
                while ((System.nanoTime() - end < 0 || counts.get(1) < 5 || st.sender().total() < 100)
                        && System.nanoTime() - limit < 0 && !flipper.isDone()) {
                    if (st.sender().pass() == 0) {
                        Thread.onSpinWait();
                    }
                }
            });
            sender.get(60, TimeUnit.SECONDS);
            done.set(true);
            flipper.get(60, TimeUnit.SECONDS);
            st.sender().assertAllSeen("scenario 16");
            if (retiredHoldsSentinel[0]) {
                assertUntouched(backing[1], sentinel, "the retired page at the end");
            }
            System.out.printf("scenario 16: %d events raised and seen; shared_info re-mapped %d times, its host "
                    + "range invalidated %d times%n", st.sender().total(), counts.get(0), counts.get(1));
            assertTrue(counts.get(0) >= 5 && counts.get(1) >= 5, "both kinds of change happened: " + counts);
            assertTrue(st.sender().total() >= 100, "events flowed: " + st.sender().total());
            st.finish("scenario 16");
        }
    }

    static void assertUntouched(HostMemory page, byte sentinel, String what) {
        MemorySegment s = page.segment();
        for (long i = 0; i < PAGE; i++) {
            byte v = s.get(ValueLayout.JAVA_BYTE, i);
            if (v != sentinel) {
                throw new AssertionError(what + ": byte " + i + " is 0x" + Integer.toHexString(v & 0xff)
                        + ": written through a stale mapping");
            }
        }
    }

    static void sleepMicros(long us) {
        java.util.concurrent.locks.LockSupport.parkNanos(us * 1000);
    }
}

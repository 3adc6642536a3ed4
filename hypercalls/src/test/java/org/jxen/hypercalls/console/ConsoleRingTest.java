package org.jxen.hypercalls.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenconsInterface;
import org.jxen.gpc.GuestMemory;
import org.jxen.gpc.HostMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The PV console ring against a guest played by the test in memory. */
class ConsoleRingTest {
    static final long PAGE = 0x3000;
    static final WordSize W = WordSize.BITS_64;
    static final long IN = XenconsInterface.offsetOfIn(W);
    static final long OUT = XenconsInterface.offsetOfOut(W);
    static final long IN_CONS = PAGE + XenconsInterface.offsetOfInCons(W);
    static final long IN_PROD = PAGE + XenconsInterface.offsetOfInProd(W);
    static final long OUT_CONS = PAGE + XenconsInterface.offsetOfOutCons(W);
    static final long OUT_PROD = PAGE + XenconsInterface.offsetOfOutProd(W);

    HostMemory ram;
    GuestMemory memory;
    ByteArrayOutputStream out;
    ConsoleSink sink;
    AtomicInteger notifies;
    ConsoleRing ring;

    @BeforeEach
    void setUp() {
        ram = HostMemory.offHeap("ram", 64 << 10);
        memory = new GuestMemory("console-test");
        memory.addSlot(0, 0, ram.size(), ram, 0, 0);
        out = new ByteArrayOutputStream();
        sink = new ConsoleSink(out);
        notifies = new AtomicInteger();
        ring = new ConsoleRing(memory, PAGE, sink, notifies::incrementAndGet);
    }

    @AfterEach
    void tearDown() {
        ring.close();
        memory.removeSlot(0);
        ram.close();
    }

    /** The guest's side: append to out[] and publish out_prod. */
    void guestWrite(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        int prod = memory.getInt(OUT_PROD);
        for (byte x : b) {
            memory.putByte(PAGE + OUT + (prod++ & (XenconsInterface.OUT_SIZE - 1)), x);
        }
        memory.putIntRelease(OUT_PROD, prod);
    }

    /** The guest's side: take everything from in[]. */
    String guestRead() {
        int cons = memory.getInt(IN_CONS);
        int prod = memory.getIntAcquire(IN_PROD);
        StringBuilder sb = new StringBuilder();
        while (cons != prod) {
            sb.append((char) memory.getByte(PAGE + IN + (cons++ & (XenconsInterface.IN_SIZE - 1))));
        }
        memory.putIntRelease(IN_CONS, cons);
        return sb.toString();
    }

    String output() {
        return out.toString(StandardCharsets.US_ASCII);
    }

    @Test
    void outputGoesToTheSinkAndOutConsFollows() {
        guestWrite("hello, ");
        guestWrite("console\n");
        assertTrue(ring.service());
        assertEquals("hello, console\n", output());
        assertEquals(15, memory.getInt(OUT_CONS));
        assertEquals(1, notifies.get(), "the guest hears that its output was taken");
        assertFalse(ring.service(), "nothing new");
        assertEquals(1, notifies.get());
        ring.onGuestSend(5);
        assertEquals(15, ring.bytesOut());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 2040, 0x7ffffffc, -20})
    void outputAcrossTheRingWrapAndTheIndexWrap(int start) {
        memory.putInt(OUT_CONS, start);
        memory.putInt(OUT_PROD, start);
        ring.service(); // adopts the page's indices
        StringBuilder want = new StringBuilder();
        for (int round = 0; round < 5; round++) {
            String line = "line " + round + " " + "x".repeat(700) + "\n";
            guestWrite(line);
            want.append(line);
            ring.service();
        }
        assertEquals(want.toString(), output());
        assertEquals(start + want.length(), memory.getInt(OUT_CONS));
    }

    @Test
    void aFullOutputRingIsTakenWhole() {
        guestWrite("y".repeat(XenconsInterface.OUT_SIZE));
        assertTrue(ring.service());
        assertEquals(XenconsInterface.OUT_SIZE, output().length());
        assertFalse(ring.isBroken());
    }

    @Test
    void outProdTooFarAheadBreaksTheRingOnce() {
        guestWrite("before\n");
        ring.service();
        memory.putInt(OUT_PROD, 7 + XenconsInterface.OUT_SIZE + 1);
        assertFalse(ring.service());
        assertTrue(ring.isBroken());
        assertTrue(ring.brokenReason().contains("out_prod"), ring.brokenReason());
        assertEquals(7, memory.getInt(OUT_CONS), "the host wrote nothing more");
        memory.putInt(OUT_PROD, 8); // even sane indices are not served again
        assertFalse(ring.service());
        assertEquals("before\n", output());
        assertEquals(1, notifies.get());
    }

    @Test
    void outProdBehindOutConsBreaksTheRing() {
        memory.putInt(OUT_CONS, 100);
        memory.putInt(OUT_PROD, 100);
        ring.service();
        memory.putInt(OUT_PROD, 99); // "minus one" bytes pending: 4 GiB - 1 as unsigned
        assertFalse(ring.service());
        assertTrue(ring.isBroken());
    }

    @Test
    void inputGoesIntoTheInRingAndWaitsForSpace() {
        assertEquals(3, ring.offerInput("abc".getBytes(StandardCharsets.US_ASCII), 0, 3));
        assertEquals(3, memory.getInt(IN_PROD));
        assertEquals("abc", guestRead());
        assertEquals(1, notifies.get(), "an event tells the guest");
        byte[] many = "0123456789".repeat(150).getBytes(StandardCharsets.US_ASCII); // 1500 bytes
        assertEquals(many.length, ring.offerInput(many, 0, many.length));
        assertEquals(3 + XenconsInterface.IN_SIZE, memory.getInt(IN_PROD), "the ring is full");
        assertEquals(many.length - XenconsInterface.IN_SIZE, ring.inputQueued());
        String first = guestRead();
        ring.onGuestSend(5); // the guest says it made space
        String second = guestRead();
        assertEquals(new String(many, StandardCharsets.US_ASCII), first + second);
        assertEquals(0, ring.inputQueued());
        assertEquals(1503, ring.bytesIn());
    }

    @Test
    void inConsAheadOfInProdBreaksTheRing() {
        ring.service();
        memory.putInt(IN_CONS, 2000);
        ring.offerInput(new byte[] {1, 2}, 0, 2);
        assertTrue(ring.isBroken());
        assertTrue(ring.brokenReason().contains("in_cons"), ring.brokenReason());
        assertEquals(0, memory.getInt(IN_PROD));
    }

    @Test
    void aPageThatIsNotBackedIsServedOnceItIs() {
        HostMemory more = HostMemory.offHeap("more", 4096);
        try (ConsoleRing far = new ConsoleRing(memory, 0x100000, sink, notifies::incrementAndGet)) {
            assertFalse(far.service(), "no RAM there: nothing to do, no exception");
            memory.addSlot(1, 0x100000, 4096, more, 0, 0);
            memory.putByte(0x100000 + OUT, (byte) 'z');
            memory.putIntRelease(0x100000 + XenconsInterface.offsetOfOutProd(W), 1);
            assertTrue(far.service());
            assertEquals("z", output());
        } finally {
            memory.removeSlot(1);
            more.close();
        }
    }

    /**
     * Random guest indices and bytes, seeded: the host never throws, never writes outside the
     * console structure (sentinels around it stay), and what it writes to the sink is what the ring held.
     */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void randomGuestIndicesNeverHurtTheHost(long seed) {
        Random r = new Random(seed);
        long end = PAGE + XenconsInterface.sizeof(W);
        for (long a = PAGE - 64; a < PAGE; a++) {
            memory.putByte(a, (byte) 0x5a);
        }
        for (long a = end; a < PAGE + 4096; a++) {
            memory.putByte(a, (byte) 0x5a);
        }
        try {
            for (int step = 0; step < 2000; step++) {
                switch (r.nextInt(5)) {
                    case 0 -> memory.putInt(OUT_PROD, r.nextBoolean() ? r.nextInt() : memory.getInt(OUT_CONS) + r.nextInt(2100));
                    case 1 -> memory.putInt(IN_CONS, r.nextBoolean() ? r.nextInt() : memory.getInt(IN_PROD) - r.nextInt(1100));
                    case 2 -> memory.putInt(OUT_CONS, r.nextInt());
                    case 3 -> ring.offerInput(new byte[] {(byte) r.nextInt()}, 0, 1);
                    default -> memory.putByte(PAGE + r.nextInt((int) XenconsInterface.sizeof(W)), (byte) r.nextInt());
                }
                ring.service();
            }
        } catch (RuntimeException e) {
            throw new AssertionError("seed " + seed + ": " + e, e);
        }
        for (long a = PAGE - 64; a < PAGE; a++) {
            assertEquals(0x5a, memory.getByte(a), "seed " + seed + " byte before the page at 0x" + Long.toHexString(a));
        }
        for (long a = end; a < PAGE + 4096; a++) {
            assertEquals(0x5a, memory.getByte(a), "seed " + seed + " byte after the structure at 0x" + Long.toHexString(a));
        }
        assertTrue(ring.bytesOut() <= sink.bytesWritten());
    }

    @Test
    void pollingTakesOutputTheGuestDidNotSignal() throws Exception {
        ring.startPolling(20);
        guestWrite("unsignalled\n");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!output().contains("unsignalled") && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals("unsignalled\n", output());
    }

    @Test
    void closeTakesWhatIsLeft() {
        guestWrite("last words\n");
        ring.close();
        assertEquals("last words\n", output());
        assertFalse(ring.service(), "closed");
    }
}

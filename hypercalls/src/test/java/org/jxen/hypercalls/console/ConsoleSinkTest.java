package org.jxen.hypercalls.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ConsoleSinkTest {

    /** Records how the sink calls the stream: every write is followed by a flush. */
    static final class Recording extends OutputStream {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final List<String> calls = new ArrayList<>();

        @Override
        public void write(int b) {
            bytes.write(b);
            calls.add("w1");
        }

        @Override
        public void write(byte[] b, int off, int len) {
            bytes.write(b, off, len);
            calls.add("w" + len);
        }

        @Override
        public void flush() {
            calls.add("f");
        }
    }

    @Test
    void everyWriteIsFlushedAtOnce() {
        Recording r = new Recording();
        ConsoleSink sink = new ConsoleSink(r);
        sink.write('a');
        sink.write("bcd".getBytes(StandardCharsets.US_ASCII), 0, 3);
        sink.printStream().print("e");
        assertEquals("abcde", r.bytes.toString(StandardCharsets.US_ASCII));
        assertEquals(List.of("w1", "f", "w3", "f", "w1", "f"), r.calls);
        assertEquals(5, sink.bytesWritten());
    }

    /** Writers on several threads: each write arrives whole, and each writer's writes stay in its order. */
    @Test
    void concurrentSourcesInterleaveWholeWritesInOrder() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ConsoleSink sink = new ConsoleSink(out);
        int sources = 4;
        int writes = 500;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int s = 0; s < sources; s++) {
            int id = s;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < writes; i++) {
                    byte[] line = ("<" + id + ":" + i + ">").getBytes(StandardCharsets.US_ASCII);
                    sink.write(line, 0, line.length);
                }
            }));
        }
        start.countDown();
        for (Thread t : threads) {
            t.join(60_000);
        }
        String text = out.toString(StandardCharsets.US_ASCII);
        int[] next = new int[sources];
        Matcher m = Pattern.compile("<(\\d):(\\d+)>").matcher(text);
        int found = 0;
        while (m.find()) {
            int id = Integer.parseInt(m.group(1));
            assertEquals(next[id], Integer.parseInt(m.group(2)), "source " + id + " in order");
            next[id]++;
            found++;
        }
        assertEquals(sources * writes, found, "every write arrived whole");
        assertTrue(text.replaceAll("<\\d:\\d+>", "").isEmpty(), "nothing but whole writes: " + text);
    }

    @Test
    void aFailingStreamIsDroppedNotThrown() {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        ConsoleSink sink = new ConsoleSink(broken);
        sink.write('x');
        sink.write(new byte[] {1, 2, 3}, 0, 3);
        sink.printStream().println("still no exception");
        assertEquals(0, sink.bytesWritten());
    }
}

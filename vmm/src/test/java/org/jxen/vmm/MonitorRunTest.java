package org.jxen.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jxen run --monitor HOST:PORT}: while a guest runs, /metrics and /vm answer about it. */
class MonitorRunTest {
    @TempDir
    Path dir;

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    static String get(HttpClient http, int port, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return r.body();
    }

    @Test
    void metricsAndTheVmViewOfARunningGuest() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path k = Jxen.guestFile(dir, "test-pvh-console");
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "run", "--monitor", "127.0.0.1:" + port, "--cmdline", "rounds=0 hang", k.toString());
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("stderr.txt").toFile()).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("hanging", out.readLine(), Files.readString(dir.resolve("stderr.txt")));
            assertTrue(Files.readString(dir.resolve("stderr.txt")).contains("jxen: monitor at http://127.0.0.1:" + port),
                    Files.readString(dir.resolve("stderr.txt")));
            HttpClient http = HttpClient.newHttpClient();
            String metrics = get(http, port, "/metrics");
            assertTrue(metrics.contains("jxen_hypercalls_total"), metrics);
            assertTrue(metrics.contains("jxen_vcpu_exits_total"), metrics);
            assertTrue(metrics.contains("jxen_gpc_lock_hits_total"), metrics);
            String vm = get(http, port, "/vm");
            assertTrue(vm.startsWith("{") && vm.contains("\"vcpus\"") && vm.contains("\"runstate\""), vm);
            new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(130, p.exitValue(), Files.readString(dir.resolve("stderr.txt")));
        } finally {
            p.destroyForcibly();
        }
    }
}

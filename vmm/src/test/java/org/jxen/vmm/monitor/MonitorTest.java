package org.jxen.vmm.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jxen.abi.Hypercall;
import org.jxen.abi.SharedInfo;
import org.jxen.abi.Virq;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenVersion;
import org.jxen.gpc.CacheStats;
import org.jxen.hypercalls.DomainStats;
import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.testing.DomainDriver;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The monitor over HTTP on an ephemeral port, in front of a Xen domain in memory driven like a guest drives it. */
class MonitorTest {
    static final long ARGS = 0x10000;
    static final long SHARED_INFO_GFN = 0x20;
    static final int VECTOR = 0xf3;

    /** Counts upcalls: the test's thread delivers some, the domain's timer thread others. */
    final UpcallSink.AtomicCounter upcalls = UpcallSink.AtomicCounter.all();
    InMemoryXenPlatform platform;
    XenDomain domain;
    /** The guest: the test's thread plays vCPU 0. */
    DomainDriver guest;
    PrometheusMeterRegistry registry;
    Monitor monitor;
    HttpClient http;

    @BeforeEach
    void setUp() {
        platform = InMemoryXenPlatform.withRam("monitor-test", 1 << 20, upcalls);
        domain = new XenDomain(platform, XenDomain.Config.of(2));
        guest = new DomainDriver(domain, platform.memory(), ARGS);
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JxenMetrics(domain, platform.memory(), List.of()).bindTo(registry);
        monitor = Monitor.start("127.0.0.1", 0,
                registry, new DomainVmView("test-vm", domain, platform.memory(), List.of(), () -> 42));
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterEach
    void tearDown() {
        monitor.close();
        http.close();
        registry.close();
        domain.close();
        platform.close();
    }

    HttpResponse<String> request(String method, String path) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + monitor.port() + path))
                .timeout(Duration.ofSeconds(10)).method(method, HttpRequest.BodyPublishers.noBody()).build();
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }

    /** The samples of a Prometheus text exposition: "name{labels}" to value. */
    Map<String, Double> scrape() throws Exception {
        HttpResponse<String> r = request("GET", "/metrics");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(Monitor.PROMETHEUS_TEXT, r.headers().firstValue("content-type").orElseThrow());
        Map<String, Double> samples = new HashMap<>();
        for (String line : r.body().split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            assertTrue(space > 0, "a sample line: " + line);
            assertNull(samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1))),
                    "one sample per series: " + line);
        }
        return samples;
    }

    static double sample(Map<String, Double> samples, String series) {
        Double v = samples.get(series);
        assertNotNull(v, () -> "no series " + series + " among " + samples.keySet());
        return v;
    }

    static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(1);
        }
    }

    @Test
    void metricsHaveEveryMeterAndTheirValuesMoveWithTheDomain() throws Exception {
        assertTrue(DomainStats.COUNTING && CacheStats.COUNTING, "tests run with counting on");
        Map<String, Double> before = scrape();
        assertEquals(0.0, sample(before, "jxen_events_sent_total{kind=\"ipi\"}"));
        assertEquals(0.0, sample(before, "jxen_timer_firings_total{timer=\"single_shot\",vcpu=\"0\"}"));
        double hitsBefore = sample(before, "jxen_gpc_lock_hits_total");

        guest.mapSharedInfo(SHARED_INFO_GFN);
        guest.setUpcallVector(0, VECTOR);
        int ipi = guest.bindIpi(0);
        guest.bindVirq(Virq.TIMER, 0);
        for (int i = 0; i < 100; i++) {
            guest.call(Hypercall.XEN_VERSION, XenVersion.VERSION, 0);
        }
        for (int i = 0; i < 3; i++) {
            assertEquals(0, guest.send(ipi)); // one upcall: the guest never clears upcall_pending here
        }
        assertEquals(0, guest.call(Hypercall.SET_TIMER_OP, domain.systemTime() - 1_000_000L, 0)); // fires now
        await(() -> domain.stats().singleShotTimerFirings(0) == 1, "the timer");
        await(() -> domain.stats().eventsSent(org.jxen.hypercalls.EventChannels.Kind.VIRQ) == 1, "its VIRQ");

        Map<String, Double> after = scrape();
        assertFalse(after.keySet().stream().anyMatch(k -> k.startsWith("jxen_hypercall")),
                "hypercalls are counted by the KVM transport; there is none here (MonitorKvmTest has them)");
        assertEquals(3.0, sample(after, "jxen_events_sent_total{kind=\"ipi\"}"));
        assertEquals(1.0, sample(after, "jxen_events_sent_total{kind=\"virq\"}"));
        assertEquals(1, upcalls.count(), "later events found upcall_pending set");
        assertFalse(after.keySet().stream().anyMatch(k -> k.startsWith("jxen_events_delivered_total")),
                "deliveries are counted by the KVM platform; there is none here");
        assertEquals(0.0, sample(after, "jxen_events_deferred_total"));
        assertEquals(1.0, sample(after, "jxen_timer_firings_total{timer=\"single_shot\",vcpu=\"0\"}"));
        assertEquals(0.0, sample(after, "jxen_timer_firings_total{timer=\"periodic\",vcpu=\"0\"}"));
        assertTrue(sample(after, "jxen_gpc_lock_hits_total") > hitsBefore, "each event locked shared_info");
        assertEquals(1.0, sample(after, "jxen_gpc_refreshes_total{memory=\"monitor-test\"}"), "shared_info mapped once");
        assertEquals(1.0, sample(after, "jxen_gpc_caches{memory=\"monitor-test\"}"));
        assertEquals(1.0, sample(after, "jxen_gpc_caches_valid{memory=\"monitor-test\"}"));
        assertTrue(sample(after, "jxen_vcpu_runstate_seconds_total{state=\"offline\",vcpu=\"0\"}") >= 0);
    }

    @Test
    void vmIsJsonWithVcpusPortsCachesAndTheXenstore() throws Exception {
        guest.mapSharedInfo(SHARED_INFO_GFN);
        guest.setUpcallVector(0, VECTOR);
        int ipi = guest.bindIpi(1);
        int timer = guest.bindVirq(Virq.TIMER, 0);
        long mask = (SHARED_INFO_GFN << 12) + SharedInfo.offsetOfEvtchnMask(WordSize.BITS_64);
        platform.memory().putLong(mask, 1L << timer);
        domain.raise(timer);
        domain.raise(ipi);

        HttpResponse<String> r = request("GET", "/vm?pretty=no");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("application/json; charset=utf-8", r.headers().firstValue("content-type").orElseThrow());
        Map<String, Object> root = TestJson.object(TestJson.parse(r.body()));
        assertEquals("test-vm", root.get("name"));
        assertEquals(1L, root.get("domid"));
        assertNull(root.get("shutdownReason"));
        List<Object> vcpus = TestJson.array(root.get("vcpus"));
        assertEquals(2, vcpus.size());
        Map<String, Object> v0 = TestJson.object(vcpus.get(0));
        assertEquals(0L, v0.get("id"));
        assertNull(v0.get("threadState"), "no KVM here");
        assertNull(v0.get("exits"), "no KVM here");
        assertNull(v0.get("upcalls"), "no KVM here");
        assertEquals("running", v0.get("runstate"));
        assertEquals(4, TestJson.object(v0.get("runstateNs")).size());
        assertNull(v0.get("hypercalls"), "no KVM transport here");
        assertEquals(true, v0.get("hasVcpuInfo"));

        Map<String, Object> ec = TestJson.object(root.get("eventChannels"));
        assertEquals(true, ec.get("sharedInfoMapped"));
        List<Object> ports = TestJson.array(ec.get("ports"));
        assertEquals(2, ports.size());
        Map<String, Object> p0 = TestJson.object(ports.get(0));
        Map<String, Object> p1 = TestJson.object(ports.get(1));
        assertEquals(Map.of("port", (long) ipi, "kind", "ipi", "vcpu", 1L, "pending", true, "masked", false),
                without(p0, "virq", "remoteDomain", "remotePort"));
        assertNull(p0.get("virq"));
        assertEquals((long) timer, p1.get("port"));
        assertEquals("virq", p1.get("kind"));
        assertEquals((long) Virq.TIMER, p1.get("virq"));
        assertEquals(true, p1.get("pending"));
        assertEquals(true, p1.get("masked"));

        List<Object> caches = TestJson.array(root.get("caches"));
        assertEquals(1, caches.size());
        Map<String, Object> si = TestJson.object(caches.get(0));
        assertEquals("shared_info", si.get("name"));
        assertEquals(true, si.get("active"));
        assertEquals(true, si.get("valid"));
        assertEquals("0x20000", si.get("gpa"));
        assertEquals(4096L, si.get("length"));
        assertEquals("OK", si.get("lastStatus"));
        assertEquals(Map.of("nodes", 42L), root.get("xenstore"));
    }

    static Map<String, Object> without(Map<String, Object> m, String... keys) {
        Map<String, Object> c = new HashMap<>(m);
        for (String k : keys) {
            c.remove(k);
        }
        return c;
    }

    @Test
    void otherPathsAre404OtherMethods405AndAQueryIsIgnored() throws Exception {
        assertEquals(404, request("GET", "/").statusCode());
        assertEquals(404, request("GET", "/metrics/extra").statusCode());
        assertEquals(404, request("POST", "/nowhere").statusCode());
        HttpResponse<String> post = request("POST", "/metrics");
        assertEquals(405, post.statusCode());
        assertEquals("GET", post.headers().firstValue("allow").orElseThrow());
        assertEquals(405, request("DELETE", "/vm").statusCode());
        assertEquals(405, request("PUT", "/vm").statusCode());
        assertEquals(405, request("HEAD", "/vm").statusCode());
        assertEquals(200, request("GET", "/metrics?name=jxen").statusCode());
    }

    /** Sends raw bytes and returns whatever the monitor answers before it closes the connection. */
    String raw(String bytes) throws IOException {
        try (Socket s = new Socket("127.0.0.1", monitor.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(bytes.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1); // until the monitor closes
        }
    }

    @Test
    void malformedRequestsGet400AndTheMonitorLivesOn() throws Exception {
        String answer = raw("THIS IS NOT HTTP\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 400 "), answer);
        String huge = raw("GET /vm HTTP/1.1\r\nHost: x\r\n" + "X-Long: " + "a".repeat(20_000) + "\r\n\r\n");
        assertTrue(huge.startsWith("HTTP/1.1 4"), "a header too long for the decoder: " + huge);
        String body = raw("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n"
                + "b".repeat(100_000));
        assertTrue(body.startsWith("HTTP/1.1 413 "), body);
        String ok = raw("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(ok.startsWith("HTTP/1.1 200 OK"), ok);
        assertTrue(ok.contains("jxen_events_sent_total"), ok);
        assertEquals(200, request("GET", "/vm").statusCode());
    }

    @Test
    void aViewThatThrowsIsA500ForThatRequestOnly() throws Exception {
        PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        int[] calls = {0};
        try (Monitor m = Monitor.start("127.0.0.1", 0, r, () -> {
            if (calls[0]++ == 0) {
                throw new IllegalStateException("the VM is being torn down");
            }
            return new DomainVmView("x", domain, platform.memory(), List.of(), null).snapshot();
        })) {
            HttpRequest get = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + m.port() + "/vm")).build();
            HttpResponse<String> first = http.send(get, HttpResponse.BodyHandlers.ofString());
            assertEquals(500, first.statusCode());
            assertTrue(first.body().contains("being torn down"), first.body());
            HttpResponse<String> second = http.send(get, HttpResponse.BodyHandlers.ofString());
            assertEquals(200, second.statusCode());
            assertNull(TestJson.object(TestJson.parse(second.body())).get("xenstore"), "no XenStore: null");
        }
        r.close();
    }

    @Test
    void aPortInUseIsAnError() {
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> Monitor.start("127.0.0.1", monitor.port(), registry, () -> null));
        assertTrue(e.getMessage().contains("cannot listen"), e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }
}

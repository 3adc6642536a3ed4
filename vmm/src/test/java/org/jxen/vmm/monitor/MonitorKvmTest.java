package org.jxen.vmm.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.guests.Guests;
import org.jxen.kvm.Kvm;
import org.jxen.kvm.harness.SelftestVm;
import org.jxen.kvm.harness.Ucall;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The monitor in front of a real guest under KVM (the test-evtchn guest with jxen's Xen domain). */
class MonitorKvmTest {

    /** Skips loudly where /dev/kvm is missing; in CI (CI=true) that is a failure, as kvm-backend's KvmRequired does. */
    @BeforeEach
    void kvm() {
        String cause = Kvm.unavailabilityCause();
        if (cause == null) {
            return;
        }
        if ("true".equals(System.getenv("CI"))) {
            fail("CI=true but KVM is not usable: " + cause);
        }
        System.err.println("SKIPPED: KVM test: KVM is not usable here: " + cause);
        Assumptions.assumeTrue(false, "KVM is not usable: " + cause);
    }

    static String get(HttpClient http, Monitor m, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + m.port() + path))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    static double sample(String exposition, String series) {
        for (String line : exposition.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1));
            }
        }
        throw new AssertionError("no series " + series + " in:\n" + exposition);
    }

    @Test
    void aGuestsExitsHypercallsEventsAndPortsShowUp() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (SelftestVm vm = SelftestVm.create(Guests.image("test-evtchn"), SelftestVm.options().xenDomain());
                HttpClient http = HttpClient.newHttpClient()) {
            new JxenMetrics(vm.domain(), vm.vm().memory(), vm.vm().vcpus()).bindTo(registry);
            try (Monitor monitor = Monitor.start("127.0.0.1", 0, registry, DomainVmView.of(vm.vm(), vm.domain(), null))) {
                vm.start();
                Ucall u = vm.awaitSync(0, 1); // the guest mapped shared_info and bound an IPI
                int ipi = (int) u.arg(1);
                vm.resume(0);
                Thread.sleep(20); // the guest halts waiting for it
                CompletableFuture.runAsync(() -> vm.domain().raise(ipi), x -> new Thread(x, "host-event").start())
                        .get(5, TimeUnit.SECONDS);
                u = vm.awaitSync(0, 2);
                assertTrue(u.arg(1) >= 1, "an upcall ran");

                String metrics = get(http, monitor, "/metrics");
                assertTrue(sample(metrics, "jxen_vcpu_exits_total{reason=\"KVM_EXIT_IO\",vcpu=\"0\"}") >= 3,
                        "hypercalls and ucalls are port I/O");
                assertTrue(sample(metrics, "jxen_vcpu_exits_total{reason=\"KVM_EXIT_X86_WRMSR\",vcpu=\"0\"}") >= 1,
                        "the hypercall page");
                assertTrue(sample(metrics, "jxen_hypercalls_total{hypercall=\"event_channel_op\"}") >= 1);
                assertTrue(sample(metrics, "jxen_hypercalls_total{hypercall=\"memory_op\"}") >= 1, "shared_info");
                assertEquals(sample(metrics, "jxen_hypercalls_total{hypercall=\"event_channel_op\"}"),
                        sample(metrics, "jxen_hypercall_latency_seconds_count{hypercall=\"event_channel_op\"}"),
                        "every call is timed");
                assertTrue(sample(metrics, "jxen_hypercall_latency_seconds_sum{hypercall=\"event_channel_op\"}") > 0);
                assertTrue(sample(metrics, "jxen_events_sent_total{kind=\"ipi\"}") >= 1);
                assertTrue(sample(metrics, "jxen_events_delivered_total{vcpu=\"0\"}") >= 1, "KVM_SIGNAL_MSI accepted");
                assertTrue(sample(metrics, "jxen_gpc_caches_valid{memory=\"selftest\"}") >= 1);

                Map<String, Object> root = TestJson.object(TestJson.parse(get(http, monitor, "/vm")));
                assertEquals("selftest", root.get("name"));
                Map<String, Object> v0 = TestJson.object(TestJson.array(root.get("vcpus")).get(0));
                assertTrue(List.of("RUNNING", "PAUSED").contains(v0.get("threadState")), v0.toString());
                assertTrue((Long) v0.get("exits") >= 3, v0.toString());
                assertTrue((Long) v0.get("upcalls") >= 1, v0.toString());
                assertTrue((Long) v0.get("hypercalls") >= 2, v0.toString());
                List<Object> ports = TestJson.array(TestJson.object(root.get("eventChannels")).get("ports"));
                assertTrue(ports.stream().map(TestJson::object)
                        .anyMatch(p -> p.get("port").equals((long) ipi) && p.get("kind").equals("ipi")), ports.toString());
                assertTrue(TestJson.array(root.get("caches")).stream().map(TestJson::object)
                        .anyMatch(c -> c.get("name").equals("shared_info") && c.get("valid").equals(true)),
                        root.get("caches").toString());
            }
        } finally {
            registry.close();
        }
    }
}

package org.jxen.vmm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.jxen.abi.HvmParam;
import org.jxen.gpc.HostCallException;
import org.jxen.hypercalls.XenDomain;
import org.jxen.hypercalls.console.ConsoleRing;
import org.jxen.hypercalls.console.ConsoleSink;
import org.jxen.hypercalls.xenstore.XenStore;
import org.jxen.hypercalls.xenstore.XenStoreRing;
import java.util.stream.Collectors;
import org.jxen.kvm.AcpiSleepRegisters;
import org.jxen.kvm.CpuFeature;
import org.jxen.kvm.DirectBoot;
import org.jxen.kvm.KvmXenPlatform;
import org.jxen.kvm.SpecialPages;
import org.jxen.kvm.SupervisorInstructionProbe;
import org.jxen.kvm.UserSyscallProbe;
import org.jxen.kvm.Vcpu;
import org.jxen.kvm.VirtualMachine;
import org.jxen.kvm.boot.ElfImage;
import org.jxen.kvm.boot.ElfLoadException;
import org.jxen.kvm.boot.VmcallRewrite;
import org.jxen.vmm.xenstore.XenStoreSocketServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of a Xen-aware kernel: a KVM virtual machine served by jxen's Xen domain, the kernel
 * booted by the Xen HVM direct-boot convention, its PV console on a ring in one of Xen's special
 * pages, and all console output (the ring, {@code console_io}, debug ports 0xe9 and 0x12) on one
 * {@link ConsoleSink}.
 *
 * <p>Before boot the host sets the HVM parameters the guest reads: {@code CONSOLE_PFN} (special
 * page 7, gfn {@code 0xfefff}) and {@code CONSOLE_EVTCHN} (a port whose remote end is the host,
 * dom0); {@code STORE_PFN} (special page 4, gfn {@code 0xfeffc}) and {@code STORE_EVTCHN} for the
 * run's XenStore, unless it runs without one (then they stay 0 and a guest learns there is no
 * XenStore rather than waiting on a ring nobody serves).
 *
 * <p>Threads: {@link #boot}, {@link #awaitEnd} and {@link #close} from the controlling thread;
 * {@link #interrupt()} from any thread (a shutdown hook on Ctrl-C).
 */
final class GuestRun implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GuestRun.class);
    /** The guest's domain id: the first domain after dom0, as on Xen. */
    static final int DOMID = 1;
    /** How often the console ring is looked at without an event. */
    static final long CONSOLE_POLL_MILLIS = 100;

    /** What the run is made of; {@code modules} are PVH modules' contents (Linux: the first is its initramfs). */
    record Settings(long memoryBytes, int vcpus, int xenMajor, int xenMinor, String cmdline, boolean xenStore,
            Path xenStoreSocket, List<byte[]> modules) {
        Settings {
            modules = List.copyOf(modules);
        }

        Settings(long memoryBytes, int vcpus, int xenMajor, int xenMinor, String cmdline, boolean xenStore,
                Path xenStoreSocket) {
            this(memoryBytes, vcpus, xenMajor, xenMinor, cmdline, xenStore, xenStoreSocket, List.of());
        }

        Settings(long memoryBytes, int vcpus, int xenMajor, int xenMinor, String cmdline) {
            this(memoryBytes, vcpus, xenMajor, xenMinor, cmdline, true, null);
        }
    }

    /** How the run ended: the guest's {@code SHUTDOWN_*} reason or -1, and what stopped the vCPUs. */
    record Outcome(int shutdownReason, String stopDetail, boolean interrupted) {
        int exitStatus() {
            if (interrupted) {
                return ExitStatus.INTERRUPTED;
            }
            return shutdownReason >= 0 ? ExitStatus.ofShutdown(shutdownReason) : ExitStatus.STOPPED_WITHOUT_SHUTDOWN;
        }
    }

    private final VirtualMachine vm;
    private final XenDomain domain;
    private final KvmXenPlatform platform;
    private final SpecialPages specialPages;
    private final ConsoleRing consoleRing;
    private final int consolePort;
    /** The VM's XenStore, its ring for the guest and its socket for the host's tools; null without. */
    private final XenStore xenStore;
    private volatile XenStoreRing storeRing;
    private volatile int storePort;
    private volatile XenStoreSocketServer storeSocket;
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile boolean interrupted;
    private volatile Thread inputPump;

    private GuestRun(Settings s, ConsoleSink sink) throws CannotRunException {
        VirtualMachine v;
        try {
            v = VirtualMachine.builder().name("jxen").memory(s.memoryBytes()).vcpus(s.vcpus())
                    .xenVersion(s.xenMajor(), s.xenMinor()).console(sink.printStream()).build();
        } catch (HostCallException e) {
            throw new CannotRunException("cannot create the VM: " + e.getMessage(), e);
        }
        this.vm = v;
        logInstructionProbe(v.instructionProbe());
        UserSyscallProbe.Result syscall = v.userSyscallProbe();
        if (syscall.outcome() == UserSyscallProbe.Outcome.FAULTS && v.completesUserSyscalls()) {
            LOG.info("this host's KVM does not take a guest's user-mode syscall into the guest's kernel ({}): jxen"
                    + " completes each one (a breakpoint on the guest's page-fault handler)", syscall.detail());
        } else if (syscall.outcome() == UserSyscallProbe.Outcome.FAULTS) {
            LOG.info("this host's KVM does not take a guest's user-mode syscall into the guest's kernel ({}): a guest's"
                    + " user processes fail at their first system call", syscall.detail());
        }
        try {
            this.platform = new KvmXenPlatform(vm, sink.printStream());
            this.domain = new XenDomain(platform,
                    new XenDomain.Config(DOMID, s.vcpus(), s.xenMajor(), s.xenMinor(), ".0-jxen"));
            vm.setDispatcher(domain);
            AcpiSleepRegisters.install(vm, (vcpu, reason) -> domain.shutdown(vcpu.id(), reason));
            this.specialPages = SpecialPages.add(vm);
            int[] port = new int[1];
            this.consoleRing = new ConsoleRing(vm.memory(), specialPages.gpa(SpecialPages.CONSOLE), sink,
                    () -> domain.raise(port[0]));
            port[0] = domain.eventChannels().bindBackend(0, consoleRing::onGuestSend);
            if (port[0] <= 0) {
                throw new IllegalStateException("no event channel for the console: " + port[0]);
            }
            this.consolePort = port[0];
            domain.setHvmParam(HvmParam.CONSOLE_PFN, specialPages.gfn(SpecialPages.CONSOLE));
            domain.setHvmParam(HvmParam.CONSOLE_EVTCHN, consolePort);
            this.xenStore = s.xenStore() ? new XenStore() : null;
            if (xenStore != null) {
                startXenStore(s);
            }
        } catch (RuntimeException | CannotRunException e) {
            closeXenStore();
            vm.close();
            throw e;
        }
    }

    /**
     * The XenStore, as Xen's toolstack and xenstored set it up: the guest's store ring in special
     * page 4 with a port whose remote end is dom0, the domain introduced (its home
     * {@code /local/domain/1} with {@code domid}, {@code name}, {@code console/} and {@code store/}),
     * and, when asked, the Unix socket for Xen's tools.
     */
    private void startXenStore(Settings s) throws CannotRunException {
        XenStoreRing[] ring = new XenStoreRing[1];
        int port = offerStore(p -> {
            XenStoreRing r = ring[0];
            if (r != null) {
                r.kick();
            }
        });
        UUID uuid = UUID.randomUUID();
        domain.setHandle(uuid);
        xenStore.introduceDomain(new XenStore.DomainInfo(DOMID, "jxen", uuid.toString(), s.memoryBytes() >> 10,
                s.vcpus(), port, specialPages.gfn(SpecialPages.XENSTORE), consolePort,
                specialPages.gfn(SpecialPages.CONSOLE)));
        ring[0] = new XenStoreRing(vm.memory(), storePageGpa(), xenStore, DOMID, () -> domain.raise(port));
        storeRing = ring[0];
        storePort = port;
        if (s.xenStoreSocket() != null) {
            XenStoreSocketServer server = new XenStoreSocketServer(xenStore);
            try {
                server.start(s.xenStoreSocket());
            } catch (IOException | RuntimeException e) {
                server.close();
                throw new CannotRunException("cannot serve the XenStore on " + s.xenStoreSocket() + ": "
                        + Main.oneLine(e), e);
            }
            storeSocket = server;
        }
    }

    private void closeXenStore() {
        XenStoreSocketServer server = storeSocket;
        if (server != null) {
            server.close();
        }
        XenStoreRing r = storeRing;
        if (r != null) {
            r.close();
        }
        if (xenStore != null && xenStore.isIntroduced(DOMID)) {
            xenStore.releaseDomain(DOMID);
        }
    }

    private static void logInstructionProbe(SupervisorInstructionProbe.Result p) {
        if (!p.hidden().isEmpty()) {
            LOG.info("this host's KVM cannot run these instructions in a guest kernel; their features are hidden from"
                    + " the guest's CPUID: {}", describe(p.hidden()));
        }
        if (!p.failingButVisible().isEmpty()) {
            LOG.info("this host's KVM cannot run these instructions in a guest kernel either, and shows the guest their"
                    + " features anyway: {}; a Linux guest avoids them with {}", describe(p.failingButVisible()),
                    linuxAvoidance(p));
        }
    }

    private static String describe(java.util.Set<CpuFeature> features) {
        return features.stream().map(f -> f.linuxName() + " (" + f.probeText() + ")").collect(Collectors.joining(", "));
    }

    /**
     * The Linux command-line option that keeps a Linux guest away from the instructions this host's KVM
     * cannot run in a guest kernel and does not let jxen hide ({@code clearcpuid=...}), or null when
     * there are none.
     */
    static String linuxAvoidance(SupervisorInstructionProbe.Result p) {
        if (p.failingButVisible().isEmpty()) {
            return null;
        }
        return "clearcpuid=" + p.failingButVisible().stream().map(CpuFeature::linuxName).collect(Collectors.joining(","));
    }

    /** {@link #linuxAvoidance(SupervisorInstructionProbe.Result)} for this run's host. */
    String linuxAvoidance() {
        return linuxAvoidance(vm.instructionProbe());
    }

    /** The VM's XenStore, or null when it runs without one. */
    XenStore xenStore() {
        return xenStore;
    }

    /** The guest's XenStore port, or 0 without a XenStore. */
    int storePort() {
        return storePort;
    }

    /**
     * Offers the guest a XenStore ring: special page 4 (gfn {@code 0xfeffc}) and a new port whose
     * remote end is the host, in {@code HVM_PARAM_STORE_PFN} and {@code HVM_PARAM_STORE_EVTCHN}.
     * {@code onGuestSend} hears the guest's events on the port (on its vCPU thread); the store
     * notifies the guest with {@code domain().raise(port)}. Before {@link #boot}. Returns the port.
     * The run's own XenStore connects here; a test may offer its own store on a run made without.
     */
    int offerStore(java.util.function.IntConsumer onGuestSend) {
        int port = domain.eventChannels().bindBackend(0, onGuestSend);
        if (port <= 0) {
            throw new IllegalStateException("no event channel for the XenStore: " + port);
        }
        domain.setHvmParam(HvmParam.STORE_PFN, specialPages.gfn(SpecialPages.XENSTORE));
        domain.setHvmParam(HvmParam.STORE_EVTCHN, port);
        return port;
    }

    /** The guest-physical address of the XenStore page {@link #offerStore} offers. */
    long storePageGpa() {
        return specialPages.gpa(SpecialPages.XENSTORE);
    }

    /** Creates the VM and its Xen domain; nothing runs yet. */
    static GuestRun create(Settings s, ConsoleSink sink) throws CannotRunException {
        return new GuestRun(s, sink);
    }

    XenDomain domain() {
        return domain;
    }

    VirtualMachine vm() {
        return vm;
    }

    ConsoleRing consoleRing() {
        return consoleRing;
    }

    int consolePort() {
        return consolePort;
    }

    /**
     * Loads {@code kernel} by the direct-boot convention (with {@code cmdline} in its
     * {@code hvm_start_info}), starts the console and the vCPUs. {@code input}, when not null, is
     * read on a daemon thread into the guest's console input ring.
     */
    void boot(ElfImage kernel, String cmdline, InputStream input) throws CannotRunException {
        boot(kernel, cmdline, List.of(), input);
    }

    /** As {@link #boot(ElfImage, String, InputStream)}, with PVH modules (their contents). */
    void boot(ElfImage kernel, String cmdline, List<byte[]> modules, InputStream input) throws CannotRunException {
        try {
            DirectBoot.bootWith(vm, kernel, new DirectBoot.Options(cmdline, List.of(specialPages.memmapEntry()), modules));
        } catch (ElfLoadException e) {
            throw new CannotRunException("cannot load the kernel: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new CannotRunException("cannot boot the kernel: " + e.getMessage(), e);
        }
        VmcallRewrite.Sites sites = VmcallRewrite.apply(kernel, vm.memory());
        if (!sites.gpas().isEmpty()) {
            LOG.info("the kernel makes hypercalls with vmcall/vmmcall, which cannot leave KVM here: rewrote them at {}"
                    + " into jxen's doorbell", sites.gpas().stream().map(g -> "0x" + Long.toHexString(g)).toList());
        } else if (sites.pairsFound() > 1) {
            LOG.warn("{} candidate hypercall instruction pairs in the kernel: none rewritten", sites.pairsFound());
        }
        consoleRing.startPolling(CONSOLE_POLL_MILLIS);
        if (input != null) {
            inputPump = Thread.ofPlatform().daemon(true).name("console-input").start(() -> pumpInput(input));
        }
        vm.start();
    }

    private void pumpInput(InputStream in) {
        byte[] buf = new byte[1024];
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                if (!consoleRing.offerInputFully(buf, 0, n)) {
                    return;
                }
            }
        } catch (IOException e) {
            LOG.debug("console input ended: {}", e.toString());
        }
    }

    /**
     * Waits until the guest shuts down or a vCPU stops (then stops the others), or
     * {@link #interrupt()}; returns how it ended. The console ring is drained once more at the end.
     */
    Outcome awaitEnd() {
        List<CompletableFuture<Vcpu.StopReason>> stops = new ArrayList<>();
        for (Vcpu v : vm.vcpus()) {
            stops.add(v.stopped());
        }
        Vcpu.StopReason first;
        try {
            first = (Vcpu.StopReason) CompletableFuture.anyOf(stops.toArray(CompletableFuture[]::new)).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            interrupted = true;
            first = null;
        } catch (ExecutionException e) {
            first = new Vcpu.StopReason(Vcpu.StopReason.Kind.ERROR, String.valueOf(e.getCause()));
        }
        if (!vm.stop(Duration.ofSeconds(5))) {
            LOG.warn("a vCPU thread did not stop within 5 s");
        }
        consoleRing.service();
        int reason = domain.shutdownReason();
        String detail = first == null ? "interrupted" : first.kind() + ": " + first.detail();
        for (Vcpu v : vm.vcpus()) {
            Vcpu.StopReason r = v.stopReason();
            if (r != null && r.kind() == Vcpu.StopReason.Kind.ERROR) {
                detail = "vcpu " + v.id() + " " + r.kind() + ": " + r.detail();
            }
        }
        return new Outcome(reason, detail, interrupted && reason < 0);
    }

    /** Stops the VM from any thread (Ctrl-C); {@link #awaitEnd()} then returns an interrupted outcome. */
    void interrupt() {
        interrupted = true;
        vm.stop(Duration.ofSeconds(5));
    }

    /** Waits until {@link #close()} finished, up to {@code timeout}; for a shutdown hook. */
    boolean awaitClosed(Duration timeout) throws InterruptedException {
        return ended.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        try {
            consoleRing.close();
            closeXenStore();
            Thread p = inputPump;
            if (p != null) {
                p.interrupt();
            }
            domain.close();
            vm.close(); // throws, leaving memory mapped, if a vCPU thread did not end
            specialPages.close();
        } finally {
            ended.countDown();
        }
    }
}

package org.jxen.vmm;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jxen.abi.XenAbi;
import org.jxen.guests.Guests;
import org.jxen.hypercalls.console.ConsoleSink;
import org.jxen.kvm.boot.ElfFormatException;
import org.jxen.kvm.boot.ElfImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jxen run}: boots a Xen-aware ELF kernel, or the demo guest built into the jar, by the Xen
 * HVM direct-boot convention (PVH: {@code XEN_ELFNOTE_PHYS32_ENTRY}, {@code hvm_start_info} in
 * EBX), serves its hypercalls with jxen's Xen domain on KVM, shows its console on standard output
 * and exits with a status that follows the guest's shutdown reason ({@link ExitStatus}). Runs on
 * the main thread only.
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Boot a Xen-aware ELF kernel (Xen HVM direct boot, PVH), or the demo guest built into the jar.",
        footer = {"", "Exit status:", "  0    the guest powered off (SHUTDOWN_poweroff)",
            "  1    jxen could not run it (no /dev/kvm, kernel missing or not bootable, ...)",
            "  2    a bad command line", "  3    the guest stopped without shutting down",
            "  11   reboot, 12 suspend, 13 crash, 14 watchdog, 15 soft_reset, 19 another reason",
            "  130  interrupted (Ctrl-C)"})
final class RunCommand implements Callable<Integer> {
    /** The guest built into the jar that {@code jxen run} boots without a kernel. */
    static final String DEMO_GUEST = "demo";

    /** The levels {@code --log-level} accepts (slf4j-simple's names). */
    enum LogLevel {
        error, warn, info, debug, trace, off
    }

    private final Main.Io io;

    @Spec
    CommandSpec spec;

    @Option(names = "--memory", paramLabel = "SIZE", defaultValue = "64M", converter = MemorySize.class,
            description = "guest RAM, with a K, M or G suffix (default: ${DEFAULT-VALUE})")
    long memory;

    @Option(names = "--vcpus", paramLabel = "N", defaultValue = "1", description = "vCPUs, 1 to 255 (default: ${DEFAULT-VALUE})")
    int vcpus;

    @Option(names = "--xen-version", paramLabel = "MAJOR.MINOR", converter = XenVersionOption.Converter.class,
            description = "the Xen version the guest is told, in CPUID and XENVER_version (default: 4.17)")
    XenVersionOption xenVersion;

    @Option(names = "--cmdline", paramLabel = "TEXT", defaultValue = "",
            description = "the kernel command line, in hvm_start_info (Linux: \"console=hvc0 earlyprintk=xen\")")
    String cmdline;

    @Option(names = "--module", paramLabel = "FILE",
            description = "a PVH module, loaded after the kernel and listed in hvm_start_info (Linux: the first is its initramfs); repeatable")
    List<Path> modules = new ArrayList<>();

    @Option(names = "--xenstore-socket", paramLabel = "PATH",
            description = "also serve the guest's XenStore on this Unix socket, for Xen's tools (XENSTORED_PATH=PATH xenstore-ls)")
    Path xenstoreSocket;

    @Option(names = "--no-xenstore", description = "boot without a XenStore (HVM_PARAM_STORE_PFN stays 0)")
    boolean noXenstore;

    @Option(names = "--monitor", paramLabel = "HOST:PORT", description = "serve metrics and the VM's state over HTTP")
    String monitor;

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "warn",
            description = "jxen's own log on standard error: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    LogLevel logLevel;

    @Parameters(arity = "0..1", paramLabel = "kernel.elf",
            description = "a Xen-aware ELF kernel with a PVH entry; none boots the demo guest")
    Path kernel;

    RunCommand(Main.Io io) {
        this.io = io;
    }

    @Override
    public Integer call() throws Exception {
        // before any logger exists: slf4j-simple reads its level once
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", logLevel.name());
        if (vcpus < 1 || vcpus > 255) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--vcpus': " + vcpus
                    + " is not 1 to 255");
        }
        if (xenstoreSocket != null && noXenstore) {
            throw new ParameterException(spec.commandLine(), "--xenstore-socket and --no-xenstore exclude each other");
        }
        java.net.InetSocketAddress monitorAddress = monitor == null ? null : parseMonitor(monitor);
        XenVersionOption xen = xenVersion != null ? xenVersion
                : new XenVersionOption(XenAbi.XEN_VERSION_MAJOR, XenAbi.XEN_VERSION_MINOR);
        try {
            ElfImage image = readKernel();
            String cause = io.kvmUnavailability().get();
            if (cause != null) {
                return fail(ExitStatus.CANNOT_RUN, "KVM is not usable: " + cause);
            }
            List<byte[]> moduleBytes = readModules();
            return run(image, new GuestRun.Settings(memory, vcpus, xen.major(), xen.minor(), cmdline, !noXenstore,
                    xenstoreSocket, moduleBytes), monitorAddress);
        } catch (CannotRunException e) {
            return fail(ExitStatus.CANNOT_RUN, e.getMessage());
        }
    }

    private List<byte[]> readModules() throws CannotRunException {
        List<byte[]> out = new ArrayList<>();
        for (Path m : modules) {
            try {
                if (Files.isDirectory(m)) {
                    throw new CannotRunException(m + ": is a directory, not a module");
                }
                out.add(Files.readAllBytes(m));
            } catch (NoSuchFileException e) {
                throw new CannotRunException(m + ": no such file");
            } catch (AccessDeniedException e) {
                throw new CannotRunException(m + ": permission denied");
            } catch (IOException e) {
                throw new CannotRunException(m + ": cannot read it: " + Main.oneLine(e));
            }
        }
        return out;
    }

    private String kernelName() {
        return kernel == null ? "the demo guest" : kernel.toString();
    }

    /** The kernel, parsed and checked for a 32-bit PVH entry. */
    private ElfImage readKernel() throws CannotRunException {
        ElfImage image;
        try {
            if (kernel == null) {
                image = ElfImage.parse(Guests.image(DEMO_GUEST));
            } else {
                if (!Files.exists(kernel)) {
                    throw new CannotRunException(kernel + ": no such file");
                }
                if (Files.isDirectory(kernel)) {
                    throw new CannotRunException(kernel + ": is a directory, not a kernel");
                }
                image = ElfImage.read(kernel);
            }
        } catch (NoSuchFileException e) {
            throw new CannotRunException(kernel + ": no such file");
        } catch (AccessDeniedException e) {
            throw new CannotRunException(kernel + ": permission denied");
        } catch (IOException e) {
            throw new CannotRunException(kernelName() + ": cannot read it: " + Main.oneLine(e));
        } catch (ElfFormatException e) {
            throw new CannotRunException(kernelName() + " is not a bootable ELF kernel: " + e.getMessage());
        }
        if (image.elfClass() == ElfImage.ElfClass.ELF64 && image.phys32Entry().isEmpty()) {
            throw new CannotRunException(String.format("%s has no XEN_ELFNOTE_PHYS32_ENTRY note: the entry of a 64-bit"
                    + " ELF (0x%x) is 64-bit code, and jxen boots by the Xen HVM direct-boot (PVH) convention,"
                    + " entering in 32-bit mode (a Linux kernel needs CONFIG_PVH=y)", kernelName(), image.entry()));
        }
        return image;
    }

    /** {@code --monitor HOST:PORT}: a bad value is a command-line error. */
    private java.net.InetSocketAddress parseMonitor(String value) {
        int colon = value.lastIndexOf(':');
        int port = -1;
        if (colon > 0) {
            try {
                port = Integer.parseInt(value.substring(colon + 1));
            } catch (NumberFormatException e) {
                port = -1;
            }
        }
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--monitor': '" + value
                    + "' is not HOST:PORT (a port 0 to 65535)");
        }
        return java.net.InetSocketAddress.createUnresolved(value.substring(0, colon), port);
    }

    /** Serves /metrics and /vm for this run (before the guest boots, so every count is seen). */
    private org.jxen.vmm.monitor.Monitor startMonitor(GuestRun run, java.net.InetSocketAddress at)
            throws CannotRunException {
        var registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new org.jxen.vmm.monitor.JxenMetrics(run.domain(), run.vm().memory(), run.vm().vcpus()).bindTo(registry);
        var store = run.xenStore();
        try {
            var m = org.jxen.vmm.monitor.Monitor.start(at.getHostString(), at.getPort(), registry,
                    org.jxen.vmm.monitor.DomainVmView.of(run.vm(), run.domain(), store == null ? null : store::nodeCount));
            io.err().println("jxen: monitor at http://" + at.getHostString() + ":" + m.port() + "/metrics and /vm");
            return m;
        } catch (RuntimeException e) {
            throw new CannotRunException("--monitor " + at.getHostString() + ":" + at.getPort() + ": " + Main.oneLine(e));
        }
    }

    private int run(ElfImage image, GuestRun.Settings settings, java.net.InetSocketAddress monitorAt)
            throws CannotRunException {
        ConsoleSink sink = new ConsoleSink(io.out());
        try (GuestRun run = GuestRun.create(settings, sink);
                var mon = monitorAt == null ? null : startMonitor(run, monitorAt)) {
            Thread hook = io.stopOnSignal() ? stopOnSignal(run) : null;
            try {
                run.boot(image, settings.cmdline(), settings.modules(), io.in());
                GuestRun.Outcome o = run.awaitEnd();
                int status = o.exitStatus();
                if (o.interrupted()) {
                    io.err().println("jxen: interrupted: the VM was stopped");
                } else if (o.shutdownReason() < 0) {
                    String avoid = run.linuxAvoidance();
                    io.err().println("jxen: the guest stopped without shutting down: " + o.stopDetail()
                            + (avoid != null && o.stopDetail().contains("KVM could not emulate")
                                    ? " (this host's KVM cannot run some instructions in a guest kernel and shows their"
                                            + " features anyway; a Linux guest avoids them with " + avoid + ")"
                                    : ""));
                } else if (status != ExitStatus.POWEROFF) {
                    io.err().println("jxen: the guest shut down: " + reasonName(o.shutdownReason()));
                }
                return status;
            } finally {
                if (hook != null) {
                    try {
                        Runtime.getRuntime().removeShutdownHook(hook);
                    } catch (IllegalStateException shuttingDown) {
                        // the hook is running: it waits for this close
                    }
                }
            }
        }
    }

    /** On Ctrl-C (SIGINT, SIGTERM): stop the VM, and let the main thread close it before the JVM halts. */
    private static Thread stopOnSignal(GuestRun run) {
        Thread hook = new Thread(() -> {
            run.interrupt();
            try {
                run.awaitClosed(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "jxen-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        return hook;
    }

    /** "crash (SHUTDOWN_crash)", or "reason 7" for a reason Xen does not name. */
    static String reasonName(int reason) {
        String[] names = {"poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"};
        return reason >= 0 && reason < names.length ? names[reason] + " (SHUTDOWN_" + names[reason] + ")"
                : "reason " + reason;
    }

    private int fail(int status, String message) {
        io.err().println("jxen: " + message);
        return status;
    }
}

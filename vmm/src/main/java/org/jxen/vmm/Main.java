package org.jxen.vmm;

import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.jxen.kvm.Kvm;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code jxen} command. Runs on the main thread only.
 *
 * <p>Every error is one line on standard error, {@code jxen: ...}, with a non-zero status
 * ({@link ExitStatus}); no stack trace reaches the user ({@code --log-level debug} logs it).
 */
@Command(name = "jxen", mixinStandardHelpOptions = true, version = "jxen 0.1.0",
        description = "Xen's guest ABI in userspace on Linux KVM.")
public final class Main implements Callable<Integer> {

    /**
     * Where a command reads and writes, and what it asks of the host: standard streams, whether to
     * stop the VM on Ctrl-C (a shutdown hook: only for the real program), and the KVM check (tests
     * simulate a host without {@code /dev/kvm}).
     */
    record Io(InputStream in, PrintStream out, PrintStream err, boolean stopOnSignal, Supplier<String> kvmUnavailability) {
        static Io system() {
            return new Io(System.in, System.out, System.err, true, Kvm::unavailabilityCause);
        }
    }

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    public static void main(String[] args) {
        System.exit(execute(Io.system(), args));
    }

    /** Runs the command line with the process's streams and returns the exit status, without exiting. */
    public static int execute(String... args) {
        return execute(new Io(null, System.out, System.err, false, Kvm::unavailabilityCause), args);
    }

    /** Runs the command line with {@code io} and returns the exit status, without exiting (for tests). */
    static int execute(Io io, String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.addSubcommand(new RunCommand(io));
        cl.addSubcommand(new AbiCommand(io.out()));
        Charset cs = io.out().charset();
        cl.setOut(new PrintWriter(new java.io.OutputStreamWriter(io.out(), cs), true));
        cl.setErr(new PrintWriter(new java.io.OutputStreamWriter(io.err(), io.err().charset()), true));
        cl.setParameterExceptionHandler((ex, a) -> {
            String name = ex.getCommandLine().getCommandSpec().qualifiedName();
            io.err().println("jxen: " + ex.getMessage() + " (see '" + name + " --help')");
            return ExitStatus.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            io.err().println("jxen: " + oneLine(ex));
            org.slf4j.LoggerFactory.getLogger(Main.class).debug("the error in full", ex);
            return ExitStatus.CANNOT_RUN;
        });
        return cl.execute(args);
    }

    /** A throwable as one line: its message (or its class), without a stack trace. */
    static String oneLine(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            m = t.getClass().getSimpleName();
        }
        return m.replace('\n', ' ').strip();
    }
}

package org.jxen.vmm;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code jxen} command. Runs on the main thread only.
 */
@Command(name = "jxen", mixinStandardHelpOptions = true, version = "jxen 0.1.0",
        description = "Xen's guest ABI in userspace on Linux KVM.",
        subcommands = {RunCommand.class, AbiCommand.class})
public final class Main implements Callable<Integer> {

    @Override
    public Integer call() {
        CommandLine.usage(this, System.out);
        return 0;
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit status, without exiting (for tests). */
    public static int execute(String... args) {
        return new CommandLine(new Main()).execute(args);
    }
}

package org.jxen.vmm;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/**
 * {@code jxen run}: boots a guest. Runs on the main thread only.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Boot a Xen-aware ELF kernel, or the demo guest built into the jar.")
final class RunCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.out.println("jxen: no guest support yet: this build has the Xen ABI tables only.");
        return 0;
    }
}

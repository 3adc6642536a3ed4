package org.jxen.vmm;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code jxen run}: boots a guest. Runs on the main thread only.
 *
 * <p>This build does not boot guests from the command line yet (the Xen domain comes next): it prints
 * the Xen ABI table it already implements and says so, with a non-zero status when a kernel was
 * named, since that request cannot be honoured.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Boot a Xen-aware ELF kernel, or the demo guest built into the jar.")
final class RunCommand implements Callable<Integer> {

    @Parameters(arity = "0..1", paramLabel = "kernel.elf", description = "a Xen-aware ELF kernel; none boots the demo guest")
    Path kernel;

    @Override
    public Integer call() {
        AbiCommand.print(System.out);
        System.out.println();
        if (kernel != null) {
            System.err.println("jxen: cannot boot " + kernel + ": no guest support yet (this build has the Xen ABI,"
                    + " the gfn-to-pfn cache and the KVM backend; the Xen domain's hypercalls come next)");
            return 2;
        }
        System.out.println("jxen: no guest support yet: this build has the Xen ABI, the gfn-to-pfn cache and the KVM"
                + " backend (its tests boot real guests); the Xen domain's hypercalls and the demo guest come next.");
        return 0;
    }
}

package org.jxen.vmm;

import java.io.PrintStream;
import java.util.concurrent.Callable;
import org.jxen.abi.AbiCatalog;
import org.jxen.abi.StructInfo;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenAbi;
import picocli.CommandLine.Command;

/**
 * {@code jxen abi}: prints the Xen ABI version jxen follows and the size of every shared structure
 * for 64-bit and 32-bit guests. Runs on the main thread only.
 */
@Command(name = "abi", mixinStandardHelpOptions = true,
        description = "Print the Xen ABI version and the sizes of the structures shared with guests.")
final class AbiCommand implements Callable<Integer> {
    private final PrintStream out;

    AbiCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public Integer call() {
        print(out);
        return 0;
    }

    static void print(PrintStream out) {
        out.printf("Xen guest ABI %d.%d (interface version 0x%08x)%n", XenAbi.XEN_VERSION_MAJOR,
                XenAbi.XEN_VERSION_MINOR, XenAbi.XEN_INTERFACE_VERSION);
        out.printf("%-34s %-28s %8s %8s%n", "structure", "header", "64-bit", "32-bit");
        for (StructInfo s : AbiCatalog.structs()) {
            out.printf("%-34s %-28s %8d %8d%n", s.cName(), s.header(), s.size(WordSize.BITS_64),
                    s.size(WordSize.BITS_32));
        }
    }
}

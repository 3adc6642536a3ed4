package org.jxen.kvm;

import org.jxen.gpc.HostMemory;

/**
 * The set-up the throw-away probe VMs share ({@link SupervisorInstructionProbe},
 * {@link UserSyscallProbe}): the TSS and identity-map addresses a {@link VirtualMachine} uses, and
 * {@code ram} as memslot 0 at guest-physical 0.
 *
 * <p>Threads: the probe's own thread, before any vCPU of {@code vm} runs.
 */
final class ProbeVms {
    private ProbeVms() {
    }

    static void prepare(KvmVm vm, HostMemory ram) {
        vm.setTssAddr(VirtualMachine.TSS_ADDR);
        vm.setIdentityMapAddr(VirtualMachine.IDENTITY_MAP_ADDR);
        vm.setUserMemoryRegion(0, 0, 0, ram.size(), ram.address());
    }
}

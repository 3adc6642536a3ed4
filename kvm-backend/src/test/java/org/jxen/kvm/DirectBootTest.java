package org.jxen.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.guests.Guests;
import org.jxen.hypercalls.HypercallDispatcher;
import org.jxen.hypercalls.HypercallRequest;
import org.jxen.kvm.boot.ElfFormatException;
import org.jxen.kvm.boot.ElfImage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Direct boot (the Xen HVM/PVH convention) of real guests: 32-bit flat protected mode with paging
 * off, hvm_start_info in EBX; the 32-bit and 64-bit hypercall ABIs through the same page.
 */
class DirectBootTest {

    @BeforeEach
    void kvm() {
        KvmRequired.assumeKvm();
    }

    /** A tiny stand-in for the Xen domain: console_io write, sched_op shutdown, the test hypercall 48. */
    static final class TestDomain implements HypercallDispatcher {
        final AtomicReference<VirtualMachine> vm = new AtomicReference<>();
        final StringBuilder console = new StringBuilder();
        final List<String> calls = new ArrayList<>();
        volatile int shutdownReason = -1;

        @Override
        public long dispatch(HypercallRequest r) {
            synchronized (calls) {
                calls.add(r.number() + "/" + r.wordSize());
            }
            switch (r.number()) {
                case 18 -> { // console_io(CONSOLEIO_write, len, buffer)
                    if (r.arg(0) != 0) {
                        return -XenErrno.ENOSYS;
                    }
                    byte[] text = readVirtual(r, r.arg(2), (int) Math.min(r.arg(1), 4096));
                    synchronized (console) {
                        console.append(new String(text, StandardCharsets.UTF_8));
                    }
                    return r.arg(1);
                }
                case 29 -> { // sched_op(SCHEDOP_shutdown, &reason)
                    if (r.arg(0) == 2) {
                        shutdownReason = readVirtual(r, r.arg(1), 4)[0];
                        vm.get().vcpu(r.vcpuId()).requestStopFromGuest("shutdown " + shutdownReason);
                        return 0;
                    }
                    return -XenErrno.ENOSYS;
                }
                case 48 -> {
                    long unit = r.wordSize() == WordSize.BITS_64 ? 0x1111111111111111L : 0x11111111L;
                    for (int i = 0; i < 6; i++) {
                        if (r.arg(i) != unit * (i + 1)) {
                            return -XenErrno.EINVAL;
                        }
                    }
                    return 0x5a5a5a5aL;
                }
                default -> {
                    return -XenErrno.ENOSYS;
                }
            }
        }

        /** Reads guest-virtual memory through the vCPU's own translation (KVM_TRANSLATE), page by page. */
        byte[] readVirtual(HypercallRequest r, long gva, int len) {
            KvmVcpu v = vm.get().vcpu(r.vcpuId()).kvmVcpu();
            byte[] out = new byte[len];
            int done = 0;
            try (Arena a = Arena.ofConfined()) {
                while (done < len) {
                    KvmVcpu.Translation t = v.translate(gva + done);
                    int chunk = (int) Math.min(len - done, 4096 - ((gva + done) & 0xfff));
                    MemorySegment buf = a.allocate(chunk);
                    if (!t.valid() || !vm.get().memory().read(t.gpa(), buf)) {
                        break;
                    }
                    MemorySegment.copy(buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, out, done, chunk);
                    done += chunk;
                }
            }
            return out;
        }
    }

    static String boot(String guest, TestDomain domain, ByteArrayOutputStream debugPort) throws Exception {
        try (VirtualMachine vm = VirtualMachine.builder().name(guest).memory(32 << 20).dispatcher(domain)
                .console(new PrintStream(debugPort, true, StandardCharsets.UTF_8)).build()) {
            domain.vm.set(vm);
            DirectBoot.Booted b = DirectBoot.boot(vm, ElfImage.parse(Guests.image(guest)), "console=hvc0");
            assertTrue(b.startInfoGpa() >= b.kernel().physicalEnd());
            // ACPI tables in the reserved BIOS area, found through rsdp_paddr
            assertTrue(b.acpi() != null);
            assertEquals(b.acpi().rsdp(), vm.memory().getLong(b.startInfoGpa() + 32));
            assertEquals(0x2052545020445352L, vm.memory().getLong(b.acpi().rsdp()), "\"RSD PTR \"");
            vm.start();
            Vcpu.StopReason why = vm.vcpu(0).stopped().get(20, TimeUnit.SECONDS);
            return why.toString();
        }
    }

    @Test
    void pvhHelloBootsInLongModeAndShutsDown() throws Exception {
        TestDomain domain = new TestDomain();
        ByteArrayOutputStream port = new ByteArrayOutputStream();
        String why = boot("pvh-hello", domain, port);
        String debug = port.toString(StandardCharsets.UTF_8);
        assertTrue(debug.contains("pvh-hello: long mode, start_info magic 336ec578"), debug);
        assertTrue(domain.console.toString().contains("pvh-hello: hello from a jxen guest"), domain.console.toString());
        assertEquals(0, domain.shutdownReason, "SHUTDOWN_poweroff; " + why);
    }

    @Test
    void hypercallsThroughThePageIn32BitAndIn64BitMode() throws Exception {
        TestDomain domain = new TestDomain();
        ByteArrayOutputStream port = new ByteArrayOutputStream();
        String why = boot("test-pvh-hypercall", domain, port);
        String out = domain.console + port.toString(StandardCharsets.UTF_8);
        assertEquals(0, domain.shutdownReason, "poweroff means all four checks passed; " + why + "\n" + out);
        assertTrue(domain.calls.contains("48/BITS_32"), domain.calls.toString());
        assertTrue(domain.calls.contains("48/BITS_64"), domain.calls.toString());
        assertTrue(out.contains("32-bit arch_0 -> 5a5a5a5a ok"), out);
    }

    @Test
    void modulesFollowTheKernelAndAreListedInTheStartInfo() throws Exception {
        try (VirtualMachine vm = VirtualMachine.builder().name("modules").memory(32 << 20).console(null).build()) {
            byte[] first = "an initramfs".getBytes(StandardCharsets.UTF_8);
            byte[] second = new byte[5000];
            java.util.Arrays.fill(second, (byte) 7);
            DirectBoot.Booted b = DirectBoot.bootWith(vm, ElfImage.parse(Guests.image("pvh-hello")),
                    new DirectBoot.Options("x", java.util.List.of(), java.util.List.of(first, second)));
            assertEquals(2, b.modules().size());
            long m0 = b.modules().get(0).paddr();
            long m1 = b.modules().get(1).paddr();
            assertEquals(b.kernel().physicalEndAlignedTo(4096), m0, "the first module right after the kernel");
            assertEquals(m0 + 4096, m1, "page-aligned");
            assertTrue(b.startInfoGpa() >= m1 + second.length);
            assertEquals('a', vm.memory().getByte(m0));
            assertEquals(7, vm.memory().getByte(m1 + 4999));
            assertEquals(2, vm.memory().getInt(b.startInfoGpa() + 12), "nr_modules");
            long modlist = vm.memory().getLong(b.startInfoGpa() + 16);
            assertEquals(m0, vm.memory().getLong(modlist));
            assertEquals(first.length, vm.memory().getLong(modlist + 8));
            assertEquals(m1, vm.memory().getLong(modlist + 32));
            assertEquals(second.length, vm.memory().getLong(modlist + 40));
            assertTrue(vm.stop(Duration.ofSeconds(1)));
        }
    }

    @Test
    void badElfIsAClearErrorNotACrash() {
        byte[] junk = "this is not an ELF file at all".getBytes(StandardCharsets.UTF_8);
        ElfFormatException e = org.junit.jupiter.api.Assertions.assertThrows(ElfFormatException.class,
                () -> ElfImage.parse(junk));
        assertTrue(e.getMessage().toLowerCase().contains("elf"), e.getMessage());
        byte[] truncated = java.util.Arrays.copyOf(Guests.image("pvh-hello"), 200);
        org.junit.jupiter.api.Assertions.assertThrows(ElfFormatException.class, () -> ElfImage.parse(truncated));
        // a kernel that does not fit guest RAM is refused before anything runs
        try (VirtualMachine vm = VirtualMachine.builder().memory(1 << 20).console(null).build()) {
            org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
                    () -> DirectBoot.boot(vm, ElfImage.parse(Guests.image("pvh-hello")), null));
            assertTrue(vm.stop(Duration.ofSeconds(1)));
        } catch (Exception e2) {
            throw new AssertionError(e2);
        }
    }
}

package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.jxen.abi.ConsoleIo;
import org.jxen.abi.HvmOp;
import org.jxen.abi.HvmParam;
import org.jxen.abi.Hypercall;
import org.jxen.abi.MulticallEntry;
import org.jxen.abi.SchedOp;
import org.jxen.abi.ShutdownReason;
import org.jxen.abi.Virq;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.abi.XenFeature;
import org.jxen.abi.XenVersion;
import org.jxen.gpc.GuestMemory;
import org.junit.jupiter.api.Test;

/** xen_version, console_io, multicall, the rest of sched_op and hvm_op: good and bad input. */
class XenDomainOpsTest extends DomainTestBase {
    static final long END_OF_RAM = 1 << 20;

    private String cString(long gpa, int max) {
        byte[] b = new byte[max];
        platform.memory().read(gpa, MemorySegment.ofArray(b));
        int n = 0;
        while (n < max && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.US_ASCII);
    }

    @Test
    void xenVersionStrings() {
        assertEquals((4L << 16) | 17, call(Hypercall.XEN_VERSION, XenVersion.VERSION, 0, 0));
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.EXTRAVERSION, ARGS, 0));
        assertEquals(".0-jxen", cString(ARGS, 16));
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.CAPABILITIES, ARGS, 0));
        assertTrue(cString(ARGS, 1024).contains("hvm-3.0-x86_64"));
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.CHANGESET, ARGS, 0));
        assertTrue(cString(ARGS, 64).startsWith("jxen "));
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.COMPILE_INFO, ARGS, 0));
        assertTrue(cString(ARGS, 64).startsWith("javac "), cString(ARGS, 64));
        assertEquals("jxen", cString(ARGS + 64, 16));
        assertTrue(!cString(ARGS + 112, 32).isEmpty(), "compile_date");
        platform.memory().putLong(ARGS, -1);
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.COMMANDLINE, ARGS, 0));
        assertEquals("", cString(ARGS, 1024));
        assertEquals(4096, call(Hypercall.XEN_VERSION, XenVersion.PAGESIZE, 0, 0));
        for (int cmd : new int[] {XenVersion.EXTRAVERSION, XenVersion.COMPILE_INFO, XenVersion.CAPABILITIES,
                XenVersion.CHANGESET, XenVersion.GUEST_HANDLE, XenVersion.COMMANDLINE, XenVersion.GET_FEATURES,
                XenVersion.PLATFORM_PARAMETERS}) {
            assertEquals(-XenErrno.EFAULT, call(Hypercall.XEN_VERSION, cmd, END_OF_RAM - 4, 0), XenVersion.name(cmd));
        }
        assertEquals(-XenErrno.ENOSYS, call(Hypercall.XEN_VERSION, 11, ARGS, 0));
        assertEquals(-XenErrno.ENOSYS, call(Hypercall.XEN_VERSION, -1, ARGS, 0));
    }

    @Test
    void xenVersionFeaturesHandleAndPlatformParameters() {
        GuestMemory m = platform.memory();
        m.putInt(ARGS, 0);
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.GET_FEATURES, ARGS, 0));
        int features = m.getInt(ARGS + 4);
        assertEquals((1 << XenFeature.WRITABLE_PAGE_TABLES) | (1 << XenFeature.AUTO_TRANSLATED_PHYSMAP)
                | (1 << XenFeature.HVM_CALLBACK_VECTOR),
                features & ~(1 << XenFeature.HVM_SAFE_PVCLOCK), "only what jxen offers");
        assertEquals(0, features & (1 << XenFeature.HVM_PIRQS), "no PIRQs");
        m.putInt(ARGS, 1);
        m.putInt(ARGS + 4, -1);
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.GET_FEATURES, ARGS, 0));
        assertEquals(0, m.getInt(ARGS + 4), "submaps past the first are empty");

        UUID uuid = UUID.fromString("01234567-89ab-cdef-0123-456789abcdef");
        domain.setHandle(uuid);
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.GUEST_HANDLE, ARGS, 0));
        byte[] h = new byte[16];
        m.read(ARGS, MemorySegment.ofArray(h));
        assertArrayEquals(new byte[] {1, 0x23, 0x45, 0x67, (byte) 0x89, (byte) 0xab, (byte) 0xcd, (byte) 0xef, 1, 0x23,
                0x45, 0x67, (byte) 0x89, (byte) 0xab, (byte) 0xcd, (byte) 0xef}, h);

        m.putLong(ARGS, -1);
        assertEquals(0, call(Hypercall.XEN_VERSION, XenVersion.PLATFORM_PARAMETERS, ARGS, 0));
        assertEquals(0, m.getLong(ARGS), "no hypervisor hole in an HVM guest");
        m.putLong(ARGS, -1);
        assertEquals(0, call32(Hypercall.XEN_VERSION, XenVersion.PLATFORM_PARAMETERS, ARGS, 0));
        assertEquals(0xffffffff_00000000L, m.getLong(ARGS), "a 32-bit guest's xen_ulong_t is 4 bytes");
    }

    @Test
    void buildId() {
        GuestMemory m = platform.memory();
        assertEquals(20, call(Hypercall.XEN_VERSION, XenVersion.BUILD_ID, 0, 0), "a null handle asks for the size");
        m.putInt(ARGS, 19);
        assertEquals(-XenErrno.ENOBUFS, call(Hypercall.XEN_VERSION, XenVersion.BUILD_ID, ARGS, 0));
        m.putInt(ARGS, 64);
        assertEquals(20, call(Hypercall.XEN_VERSION, XenVersion.BUILD_ID, ARGS, 0));
        byte[] id = new byte[20];
        m.read(ARGS + 4, MemorySegment.ofArray(id));
        assertArrayEquals(XenVersionOps.BUILD.buildId(), id);
        assertTrue(id[0] != 0 || id[1] != 0 || id[19] != 0);
        m.putInt(END_OF_RAM - 8, 64);
        assertEquals(-XenErrno.EFAULT, call(Hypercall.XEN_VERSION, XenVersion.BUILD_ID, END_OF_RAM - 8, 0));
    }

    @Test
    void consoleReadTakesWhatWaitsAndKeepsWhatTheGuestCouldNotReceive() {
        GuestMemory m = platform.memory();
        assertEquals(0, call(Hypercall.CONSOLE_IO, ConsoleIo.READ, 100, ARGS), "nothing typed yet");
        byte[] typed = "ls -l\n".getBytes(StandardCharsets.US_ASCII);
        assertEquals(typed.length, domain.consoleInput().offer(typed, 0, typed.length));
        assertEquals(3, call(Hypercall.CONSOLE_IO, ConsoleIo.READ, 3, ARGS));
        assertEquals("ls ", cString(ARGS, 3));
        assertEquals(-XenErrno.EFAULT, call(Hypercall.CONSOLE_IO, ConsoleIo.READ, 100, END_OF_RAM + 4096));
        assertEquals(3, domain.consoleInput().available(), "a failed read loses nothing");
        assertEquals(3, call(Hypercall.CONSOLE_IO, ConsoleIo.READ, 0xffffffffL, ARGS), "a 4 GiB count takes what waits");
        assertEquals("-l\n", cString(ARGS, 3));
        // the ring is bounded; the producer learns how much it took
        byte[] big = new byte[ConsoleInput.CAPACITY + 10];
        assertEquals(ConsoleInput.CAPACITY, domain.consoleInput().offer(big, 0, big.length));
        assertEquals(0, domain.consoleInput().offer(big, 0, 1));
        assertEquals(-XenErrno.ENOSYS, call(Hypercall.CONSOLE_IO, 2, 1, ARGS));
    }

    @Test
    void consoleInputRaisesVirqConsole() {
        mapSharedInfo();
        setUpcallVector(0);
        GuestMemory m = platform.memory();
        m.putInt(ARGS, Virq.CONSOLE);
        m.putInt(ARGS + 4, 0);
        assertEquals(0, call(Hypercall.EVENT_CHANNEL_OP, org.jxen.abi.EvtchnOp.BIND_VIRQ, ARGS, 0));
        int port = m.getInt(ARGS + 8);
        domain.consoleInputArrived();
        assertTrue(domain.eventChannels().isPending(port));
        assertEquals(1, upcalls().size());
    }

    @Test
    void consoleWriteOfFourGigabytesIsChunkedAndStopsAtTheFirstBadByte() {
        // 0xffffffff bytes from 0: the first 1 MiB is RAM, then the copy faults; nothing of that
        // size is allocated on the host
        assertEquals(-XenErrno.EFAULT, call(Hypercall.CONSOLE_IO, ConsoleIo.WRITE, 0xffffffffL, 0));
        assertEquals(END_OF_RAM, platform.console().length);
        assertEquals(0, call(Hypercall.CONSOLE_IO, ConsoleIo.WRITE, 0, END_OF_RAM + 4096), "nothing to copy");
    }

    private void entry(WordSize w, long at, long op, long... args) {
        long size = MulticallEntry.sizeof(w);
        MemorySegment e = MemorySegment.ofArray(new byte[(int) size]);
        MulticallEntry.setOp(e, w, op);
        MulticallEntry.setResult(e, w, 0x5a5a);
        for (int i = 0; i < args.length; i++) {
            MulticallEntry.setArg(e, w, i, args[i]);
        }
        platform.memory().write(at, e);
    }

    private long result(WordSize w, long at) {
        MemorySegment e = MemorySegment.ofArray(new byte[(int) MulticallEntry.sizeof(w)]);
        platform.memory().read(at, e);
        return MulticallEntry.result(e, w);
    }

    @Test
    void multicallRunsEachEntryAndWritesItsResult() {
        for (WordSize w : WordSize.values()) {
            long list = 0x30000;
            long size = MulticallEntry.sizeof(w);
            entry(w, list, Hypercall.XEN_VERSION, XenVersion.VERSION);
            entry(w, list + size, Hypercall.XEN_VERSION, XenVersion.EXTRAVERSION, 0x31000);
            entry(w, list + 2 * size, 99);
            entry(w, list + 3 * size, Hypercall.MULTICALL, list, 1);
            entry(w, list + 4 * size, Hypercall.XEN_VERSION, XenVersion.EXTRAVERSION, END_OF_RAM + 8);
            entry(w, list + 5 * size, Hypercall.XEN_VERSION, XenVersion.PAGESIZE);
            long rc = w == WordSize.BITS_64 ? call(Hypercall.MULTICALL, list, 6, 0) : call32(Hypercall.MULTICALL, list, 6, 0);
            assertEquals(0, rc, w.toString());
            assertEquals((4L << 16) | 17, result(w, list), w + " version");
            assertEquals(0, result(w, list + size));
            assertEquals(".0-jxen", cString(0x31000, 16));
            assertEquals(-XenErrno.ENOSYS, result(w, list + 2 * size), w + " unknown hypercall");
            assertEquals(-XenErrno.EINVAL, result(w, list + 3 * size), w + " nested multicall");
            assertEquals(-XenErrno.EFAULT, result(w, list + 4 * size), w + " bad pointer in an entry");
            assertEquals(4096, result(w, list + 5 * size), w + " runs on after a failed entry");
        }
        assertEquals(0, call(Hypercall.MULTICALL, 0x30000, 0, 0), "an empty batch");
        entry(WordSize.BITS_64, END_OF_RAM - 64, Hypercall.XEN_VERSION, XenVersion.PAGESIZE);
        assertEquals(-XenErrno.EFAULT, call(Hypercall.MULTICALL, END_OF_RAM - 64, 2, 0),
                "the second entry is past the end of RAM");
        assertEquals(4096, result(WordSize.BITS_64, END_OF_RAM - 64), "the first one ran");
        assertEquals(-XenErrno.EFAULT, call(Hypercall.MULTICALL, END_OF_RAM - 64, 0xffffffffL, 0),
                "a huge count ends at the first unreadable entry");
    }

    @Test
    void shutdownCodeWinsOverTheLaterReason() {
        GuestMemory m = platform.memory();
        m.putInt(ARGS, ShutdownReason.CRASH);
        assertEquals(0, call(Hypercall.SCHED_OP, SchedOp.SHUTDOWN_CODE, ARGS, 0));
        assertEquals(-1, platform.shutdownReason(), "setting the code does not shut down");
        m.putInt(ARGS, ShutdownReason.REBOOT);
        assertEquals(0, call(Hypercall.SCHED_OP, SchedOp.SHUTDOWN, ARGS, 0));
        assertEquals(ShutdownReason.CRASH, platform.shutdownReason());
        assertEquals(ShutdownReason.CRASH, domain.shutdownReason());
    }

    @Test
    void everyShutdownReasonReachesThePlatform() {
        GuestMemory m = platform.memory();
        for (int reason : new int[] {ShutdownReason.POWEROFF, ShutdownReason.REBOOT, ShutdownReason.SUSPEND,
                ShutdownReason.CRASH, ShutdownReason.WATCHDOG, ShutdownReason.SOFT_RESET, 0x1ff}) {
            m.putInt(ARGS, reason);
            assertEquals(0, call(Hypercall.SCHED_OP, SchedOp.SHUTDOWN, ARGS, 0));
            assertEquals(reason & 0xff, platform.shutdownReason(), "reason " + reason);
        }
        assertEquals(-XenErrno.EFAULT, call(Hypercall.SCHED_OP, SchedOp.SHUTDOWN, END_OF_RAM, 0));
    }

    @Test
    void remoteShutdownNeedsPrivilege() {
        GuestMemory m = platform.memory();
        m.putShort(ARGS, (short) domain.domid());
        m.putInt(ARGS + 4, ShutdownReason.POWEROFF);
        assertEquals(-XenErrno.EPERM, call(Hypercall.SCHED_OP, SchedOp.REMOTE_SHUTDOWN, ARGS, 0));
        m.putShort(ARGS, (short) 7);
        assertEquals(-XenErrno.ESRCH, call(Hypercall.SCHED_OP, SchedOp.REMOTE_SHUTDOWN, ARGS, 0));
        assertEquals(-1, platform.shutdownReason());
        assertEquals(-XenErrno.EFAULT, call(Hypercall.SCHED_OP, SchedOp.REMOTE_SHUTDOWN, END_OF_RAM - 2, 0));
    }

    private long watchdog(int id, int timeout) {
        platform.memory().putInt(ARGS, id);
        platform.memory().putInt(ARGS + 4, timeout);
        return call(Hypercall.SCHED_OP, SchedOp.WATCHDOG, ARGS, 0);
    }

    @Test
    void watchdogsAreTwoAndReleasable() {
        assertEquals(1, watchdog(0, 60));
        assertEquals(2, watchdog(0, 60));
        assertEquals(-XenErrno.ENOSPC, watchdog(0, 60));
        assertEquals(0, watchdog(1, 30), "re-arm");
        assertEquals(30, domain.watchdogs().timeout(1));
        assertEquals(0, watchdog(1, 0), "release");
        assertEquals(-1, domain.watchdogs().timeout(1));
        assertEquals(-XenErrno.EINVAL, watchdog(1, 10), "released");
        assertEquals(-XenErrno.EINVAL, watchdog(3, 10));
        assertEquals(-XenErrno.EINVAL, watchdog(-1, 10));
        assertEquals(1, watchdog(0, 60), "a released slot is taken again");
        assertEquals(-1, platform.shutdownReason());
    }

    @Test
    void anExpiredWatchdogShutsTheDomainDown() throws InterruptedException {
        assertEquals(1, watchdog(0, 1));
        long end = System.nanoTime() + 30_000_000_000L;
        while (platform.shutdownReason() < 0 && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        assertEquals(ShutdownReason.WATCHDOG, platform.shutdownReason());
    }

    private long hvmParam(int op, int index, long value) {
        GuestMemory m = platform.memory();
        m.putShort(ARGS, (short) 0x7ff0);
        m.putInt(ARGS + 4, index);
        m.putLong(ARGS + 8, value);
        return call(Hypercall.HVM_OP, op, ARGS, 0);
    }

    @Test
    void hvmParamsTheGuestMayReadAndSet() {
        domain.setHvmParam(HvmParam.STORE_PFN, 0xfeffc);
        assertEquals(0, hvmParam(HvmOp.GET_PARAM, HvmParam.STORE_PFN, 0));
        assertEquals(0xfeffc, platform.memory().getLong(ARGS + 8));
        for (int p : new int[] {HvmParam.STORE_PFN, HvmParam.STORE_EVTCHN, HvmParam.CONSOLE_PFN,
                HvmParam.CONSOLE_EVTCHN, 3, 38}) {
            assertEquals(-XenErrno.EPERM, hvmParam(HvmOp.SET_PARAM, p, 5), "set " + p);
        }
        assertEquals(-XenErrno.EPERM, hvmParam(HvmOp.GET_PARAM, 3, 0), "a parameter jxen does not keep");
        assertEquals(-XenErrno.EINVAL, hvmParam(HvmOp.GET_PARAM, HvmParam.HVM_NR_PARAMS, 0));
        assertEquals(-XenErrno.EINVAL, hvmParam(HvmOp.SET_PARAM, HvmParam.CALLBACK_IRQ, 5), "a GSI callback");
        assertEquals(-XenErrno.EINVAL, hvmParam(HvmOp.SET_PARAM, HvmParam.CALLBACK_IRQ, (1L << 56) | 5), "PCI INTx");
        assertEquals(-XenErrno.EINVAL, hvmParam(HvmOp.SET_PARAM, HvmParam.CALLBACK_IRQ, (2L << 56) | 0x0f), "vector < 16");
        assertEquals(-XenErrno.EINVAL, hvmParam(HvmOp.SET_PARAM, HvmParam.CALLBACK_IRQ, (2L << 56) | 0x1f0),
                "junk above the vector");
        assertEquals(0, hvmParam(HvmOp.SET_PARAM, HvmParam.CALLBACK_IRQ, (2L << 56) | 0xf0));
        assertEquals(0, hvmParam(HvmOp.SET_PARAM, HvmParam.CALLBACK_IRQ, 0), "0 turns the callback off");
        assertEquals(0, domain.hvmParam(HvmParam.CALLBACK_IRQ));
        GuestMemory m = platform.memory();
        m.putShort(ARGS, (short) 5);
        assertEquals(-XenErrno.ESRCH, call(Hypercall.HVM_OP, HvmOp.GET_PARAM, ARGS, 0));
    }

    @Test
    void pagetableDyingIsAHint() {
        GuestMemory m = platform.memory();
        m.putShort(ARGS, (short) 0x7ff0);
        m.putLong(ARGS + 8, 0x1000);
        assertEquals(0, call(Hypercall.HVM_OP, HvmOp.PAGETABLE_DYING, ARGS, 0));
        m.putShort(ARGS, (short) 9);
        assertEquals(-XenErrno.ESRCH, call(Hypercall.HVM_OP, HvmOp.PAGETABLE_DYING, ARGS, 0));
        assertEquals(-XenErrno.EFAULT, call(Hypercall.HVM_OP, HvmOp.PAGETABLE_DYING, END_OF_RAM - 4, 0));
        assertEquals(-XenErrno.ENOSYS, call(Hypercall.HVM_OP, 5, ARGS, 0), "flush_tlbs is not offered");
    }
}

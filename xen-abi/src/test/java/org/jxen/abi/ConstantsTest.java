package org.jxen.abi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Pins every number of XEN-ABI-FACTS.md (and the few extra constants taken from the headers),
 * each written out once here, and checks that no public constant of the constant classes is left
 * unpinned.
 */
class ConstantsTest {

    private static final String PINS = """
            Hypercall.SET_TRAP_TABLE 0
            Hypercall.MMU_UPDATE 1
            Hypercall.SET_GDT 2
            Hypercall.STACK_SWITCH 3
            Hypercall.SET_CALLBACKS 4
            Hypercall.FPU_TASKSWITCH 5
            Hypercall.SCHED_OP_COMPAT 6
            Hypercall.PLATFORM_OP 7
            Hypercall.SET_DEBUGREG 8
            Hypercall.GET_DEBUGREG 9
            Hypercall.UPDATE_DESCRIPTOR 10
            Hypercall.MEMORY_OP 12
            Hypercall.MULTICALL 13
            Hypercall.UPDATE_VA_MAPPING 14
            Hypercall.SET_TIMER_OP 15
            Hypercall.EVENT_CHANNEL_OP_COMPAT 16
            Hypercall.XEN_VERSION 17
            Hypercall.CONSOLE_IO 18
            Hypercall.PHYSDEV_OP_COMPAT 19
            Hypercall.GRANT_TABLE_OP 20
            Hypercall.VM_ASSIST 21
            Hypercall.UPDATE_VA_MAPPING_OTHERDOMAIN 22
            Hypercall.IRET 23
            Hypercall.VCPU_OP 24
            Hypercall.SET_SEGMENT_BASE 25
            Hypercall.MMUEXT_OP 26
            Hypercall.XSM_OP 27
            Hypercall.NMI_OP 28
            Hypercall.SCHED_OP 29
            Hypercall.CALLBACK_OP 30
            Hypercall.XENOPROF_OP 31
            Hypercall.EVENT_CHANNEL_OP 32
            Hypercall.PHYSDEV_OP 33
            Hypercall.HVM_OP 34
            Hypercall.SYSCTL 35
            Hypercall.DOMCTL 36
            Hypercall.KEXEC_OP 37
            Hypercall.TMEM_OP 38
            Hypercall.ARGO_OP 39
            Hypercall.XENPMU_OP 40
            Hypercall.DM_OP 41
            Hypercall.HYPFS_OP 42
            Hypercall.ARCH_0 48
            Hypercall.ARCH_1 49
            Hypercall.ARCH_2 50
            Hypercall.ARCH_3 51
            Hypercall.ARCH_4 52
            Hypercall.ARCH_5 53
            Hypercall.ARCH_6 54
            Hypercall.ARCH_7 55

            HypercallPage.ENTRIES 128
            HypercallPage.ENTRY_SIZE 32
            HypercallPage.PAGE_SIZE 4096
            HypercallPage.IRET_SLOT 23
            HypercallPage.DEFAULT_MSR 0x40000000
            HypercallPage.OP_MOV_EAX_IMM32 0xb8
            HypercallPage.OP_0F 0x0f
            HypercallPage.OP_01 0x01
            HypercallPage.OP_VMCALL_MODRM 0xc1
            HypercallPage.OP_VMMCALL_MODRM 0xd9
            HypercallPage.OP_UD2_2 0x0b
            HypercallPage.OP_RET 0xc3
            HypercallPage.OP_INT3 0xcc

            ConsoleIo.WRITE 0
            ConsoleIo.READ 1

            XenVersion.VERSION 0
            XenVersion.EXTRAVERSION 1
            XenVersion.COMPILE_INFO 2
            XenVersion.CAPABILITIES 3
            XenVersion.CHANGESET 4
            XenVersion.PLATFORM_PARAMETERS 5
            XenVersion.GET_FEATURES 6
            XenVersion.PAGESIZE 7
            XenVersion.GUEST_HANDLE 8
            XenVersion.COMMANDLINE 9
            XenVersion.BUILD_ID 10
            XenVersion.EXTRAVERSION_LEN 16
            XenVersion.COMPILE_INFO_LEN 144
            XenVersion.CAPABILITIES_LEN 1024
            XenVersion.CHANGESET_LEN 64

            SchedOp.YIELD 0
            SchedOp.BLOCK 1
            SchedOp.SHUTDOWN 2
            SchedOp.POLL 3
            SchedOp.REMOTE_SHUTDOWN 4
            SchedOp.SHUTDOWN_CODE 5
            SchedOp.WATCHDOG 6
            SchedOp.PIN_OVERRIDE 7

            ShutdownReason.POWEROFF 0
            ShutdownReason.REBOOT 1
            ShutdownReason.SUSPEND 2
            ShutdownReason.CRASH 3
            ShutdownReason.WATCHDOG 4
            ShutdownReason.SOFT_RESET 5

            VcpuOp.INITIALISE 0
            VcpuOp.UP 1
            VcpuOp.DOWN 2
            VcpuOp.IS_UP 3
            VcpuOp.GET_RUNSTATE_INFO 4
            VcpuOp.REGISTER_RUNSTATE_MEMORY_AREA 5
            VcpuOp.SET_PERIODIC_TIMER 6
            VcpuOp.STOP_PERIODIC_TIMER 7
            VcpuOp.SET_SINGLESHOT_TIMER 8
            VcpuOp.STOP_SINGLESHOT_TIMER 9
            VcpuOp.REGISTER_VCPU_INFO 10
            VcpuOp.SEND_NMI 11
            VcpuOp.GET_PHYSID 12
            VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA 13
            VcpuOp.VCPU_SSHOTTMR_FUTURE 1

            Runstate.RUNNING 0
            Runstate.RUNNABLE 1
            Runstate.BLOCKED 2
            Runstate.OFFLINE 3
            Runstate.XEN_RUNSTATE_UPDATE 0x8000000000000000

            EvtchnOp.BIND_INTERDOMAIN 0
            EvtchnOp.BIND_VIRQ 1
            EvtchnOp.BIND_PIRQ 2
            EvtchnOp.CLOSE 3
            EvtchnOp.SEND 4
            EvtchnOp.STATUS 5
            EvtchnOp.ALLOC_UNBOUND 6
            EvtchnOp.BIND_IPI 7
            EvtchnOp.BIND_VCPU 8
            EvtchnOp.UNMASK 9
            EvtchnOp.RESET 10
            EvtchnOp.INIT_CONTROL 11
            EvtchnOp.EXPAND_ARRAY 12
            EvtchnOp.SET_PRIORITY 13
            EvtchnOp.RESET_CONT 14

            EvtchnStatus.CLOSED 0
            EvtchnStatus.UNBOUND 1
            EvtchnStatus.INTERDOMAIN 2
            EvtchnStatus.PIRQ 3
            EvtchnStatus.VIRQ 4
            EvtchnStatus.IPI 5

            Virq.TIMER 0
            Virq.DEBUG 1
            Virq.CONSOLE 2
            Virq.DOM_EXC 3
            Virq.NR_VIRQS 24

            Evtchn.DOMID_SELF 0x7ff0

            EvtchnFifo.PRIORITY_MAX 0
            EvtchnFifo.PRIORITY_DEFAULT 7
            EvtchnFifo.PRIORITY_MIN 15
            EvtchnFifo.MAX_QUEUES 16
            EvtchnFifo.PENDING 31
            EvtchnFifo.MASKED 30
            EvtchnFifo.LINKED 29
            EvtchnFifo.BUSY 28
            EvtchnFifo.LINK_BITS 17
            EvtchnFifo.LINK_MASK 0x1ffff
            EvtchnFifo.NR_CHANNELS 131072
            EvtchnFifo.EVENT_WORDS_PER_PAGE 1024
            EvtchnFifo.MAX_EVENT_ARRAY_PAGES 128

            XenMem.INCREASE_RESERVATION 0
            XenMem.DECREASE_RESERVATION 1
            XenMem.MAXIMUM_RAM_PAGE 2
            XenMem.CURRENT_RESERVATION 3
            XenMem.MAXIMUM_RESERVATION 4
            XenMem.POPULATE_PHYSMAP 6
            XenMem.ADD_TO_PHYSMAP 7
            XenMem.MEMORY_MAP 9
            XenMem.MAXIMUM_GPFN 14
            XenMem.REMOVE_FROM_PHYSMAP 15
            XenMem.ADD_TO_PHYSMAP_BATCH 23
            XenMem.ACQUIRE_RESOURCE 28
            XenMem.EXTENT_SHIFT 6
            XenMem.CMD_MASK 63
            XenMem.MEMF_POPULATE_ON_DEMAND 0x10000
            XenMem.MEMF_ADDRESS_BITS_MASK 0xff

            E820Entry.TYPE_RAM 1
            E820Entry.TYPE_RESERVED 2

            XenMapSpace.SHARED_INFO 0
            XenMapSpace.GRANT_TABLE 1
            XenMapSpace.GMFN 2
            XenMapSpace.GMFN_RANGE 3
            XenMapSpace.GMFN_FOREIGN 4
            XenMapSpace.DEV_MMIO 5
            XenMapSpace.IDX_GRANT_TABLE_STATUS 0x80000000

            HvmOp.SET_PARAM 0
            HvmOp.GET_PARAM 1
            HvmOp.PAGETABLE_DYING 9
            HvmOp.GET_TIME 10
            HvmOp.SET_EVTCHN_UPCALL_VECTOR 23

            HvmParam.CALLBACK_IRQ 0
            HvmParam.STORE_PFN 1
            HvmParam.STORE_EVTCHN 2
            HvmParam.CONSOLE_PFN 17
            HvmParam.CONSOLE_EVTCHN 18
            HvmParam.HVM_NR_PARAMS 39
            HvmParam.CALLBACK_TYPE_SHIFT 56
            HvmParam.CALLBACK_TYPE_GSI 0
            HvmParam.CALLBACK_TYPE_PCI_INTX 1
            HvmParam.CALLBACK_TYPE_VECTOR 2

            GnttabOp.SETUP_TABLE 2
            GnttabOp.QUERY_SIZE 6
            GnttabOp.SET_VERSION 8
            GnttabOp.GET_VERSION 10

            Gtf.INVALID 0
            Gtf.PERMIT_ACCESS 1
            Gtf.ACCEPT_TRANSFER 2
            Gtf.TRANSITIVE 3
            Gtf.TYPE_MASK 3
            Gtf.READONLY 4
            Gtf.READING 8
            Gtf.WRITING 16
            Gtf.SUB_PAGE 256

            Gntst.OKAY 0
            Gntst.GENERAL_ERROR -1
            Gntst.BAD_DOMAIN -2
            Gntst.BAD_GNTREF -3
            Gntst.BAD_HANDLE -4
            Gntst.BAD_VIRT_ADDR -5
            Gntst.BAD_DEV_ADDR -6
            Gntst.NO_DEVICE_SPACE -7
            Gntst.PERMISSION_DENIED -8
            Gntst.BAD_PAGE -9
            Gntst.BAD_COPY_ARG -10
            Gntst.ADDRESS_TOO_BIG -11
            Gntst.EAGAIN -12
            Gntst.NO_SPACE -13

            XenErrno.EPERM 1
            XenErrno.ENOENT 2
            XenErrno.ESRCH 3
            XenErrno.EINTR 4
            XenErrno.EIO 5
            XenErrno.ENXIO 6
            XenErrno.E2BIG 7
            XenErrno.ENOEXEC 8
            XenErrno.EBADF 9
            XenErrno.ECHILD 10
            XenErrno.EAGAIN 11
            XenErrno.ENOMEM 12
            XenErrno.EACCES 13
            XenErrno.EFAULT 14
            XenErrno.EBUSY 16
            XenErrno.EEXIST 17
            XenErrno.EXDEV 18
            XenErrno.ENODEV 19
            XenErrno.ENOTDIR 20
            XenErrno.EISDIR 21
            XenErrno.EINVAL 22
            XenErrno.ENFILE 23
            XenErrno.EMFILE 24
            XenErrno.ENOSPC 28
            XenErrno.EROFS 30
            XenErrno.EMLINK 31
            XenErrno.EDOM 33
            XenErrno.ERANGE 34
            XenErrno.EDEADLK 35
            XenErrno.ENAMETOOLONG 36
            XenErrno.ENOLCK 37
            XenErrno.ENOSYS 38
            XenErrno.ENOTEMPTY 39
            XenErrno.ENODATA 61
            XenErrno.ETIME 62
            XenErrno.EBADMSG 74
            XenErrno.EOVERFLOW 75
            XenErrno.EILSEQ 84
            XenErrno.ERESTART 85
            XenErrno.EOPNOTSUPP 95
            XenErrno.ENOBUFS 105
            XenErrno.EISCONN 106
            XenErrno.ENOTCONN 107
            XenErrno.ETIMEDOUT 110

            XenStoreOp.CONTROL 0
            XenStoreOp.DEBUG 0
            XenStoreOp.DIRECTORY 1
            XenStoreOp.READ 2
            XenStoreOp.GET_PERMS 3
            XenStoreOp.WATCH 4
            XenStoreOp.UNWATCH 5
            XenStoreOp.TRANSACTION_START 6
            XenStoreOp.TRANSACTION_END 7
            XenStoreOp.INTRODUCE 8
            XenStoreOp.RELEASE 9
            XenStoreOp.GET_DOMAIN_PATH 10
            XenStoreOp.WRITE 11
            XenStoreOp.MKDIR 12
            XenStoreOp.RM 13
            XenStoreOp.SET_PERMS 14
            XenStoreOp.WATCH_EVENT 15
            XenStoreOp.ERROR 16
            XenStoreOp.IS_DOMAIN_INTRODUCED 17
            XenStoreOp.RESUME 18
            XenStoreOp.SET_TARGET 19
            XenStoreOp.RESET_WATCHES 21
            XenStoreOp.DIRECTORY_PART 22
            XenStoreOp.TYPE_COUNT 23
            XenStoreOp.INVALID 0xffff

            XsdSockmsg.PAYLOAD_MAX 4096
            XsdSockmsg.ABS_PATH_MAX 3072
            XsdSockmsg.REL_PATH_MAX 2048
            XenstoreDomainInterface.RING_SIZE 1024
            XenstoreDomainInterface.SERVER_FEATURE_RECONNECTION 1
            XenstoreDomainInterface.SERVER_FEATURE_ERROR 2
            XenstoreDomainInterface.CONNECTED 0
            XenstoreDomainInterface.RECONNECT 1
            XenstoreDomainInterface.ERROR_NONE 0
            XenstoreDomainInterface.ERROR_COMM 1
            XenstoreDomainInterface.ERROR_RINGIDX 2
            XenstoreDomainInterface.ERROR_PROTO 3
            XenconsInterface.IN_SIZE 1024
            XenconsInterface.OUT_SIZE 2048
            SharedInfo.LEGACY_MAX_VCPUS 32
            VcpuRunstateInfo.TIME_ENTRIES 4

            XenCpuid.BASE 0x40000000
            XenCpuid.BASE_STEP 0x100
            XenCpuid.SIGNATURE_EBX 0x566e6558
            XenCpuid.SIGNATURE_ECX 0x65584d4d
            XenCpuid.SIGNATURE_EDX 0x4d4d566e
            XenCpuid.LEAF_SIGNATURE 0
            XenCpuid.LEAF_VERSION 1
            XenCpuid.LEAF_HYPERCALL 2
            XenCpuid.LEAF_TIME 3
            XenCpuid.LEAF_HVM 4
            XenCpuid.HVM_APIC_ACCESS_VIRT 0x01
            XenCpuid.HVM_X2APIC_VIRT 0x02
            XenCpuid.HVM_IOMMU_MAPPINGS 0x04
            XenCpuid.HVM_VCPU_ID_PRESENT 0x08
            XenCpuid.HVM_DOMID_PRESENT 0x10
            XenCpuid.HVM_EXT_DEST_ID 0x20
            XenCpuid.HVM_UPCALL_VECTOR 0x40

            PvClock.TSC_STABLE 1
            PvClock.GUEST_STOPPED 2

            XenElfNote.PHYS32_ENTRY 18
            XenElfNote.HVM_START_MAGIC_VALUE 0x336ec578

            XenFeature.WRITABLE_PAGE_TABLES 0
            XenFeature.WRITABLE_DESCRIPTOR_TABLES 1
            XenFeature.AUTO_TRANSLATED_PHYSMAP 2
            XenFeature.SUPERVISOR_MODE_KERNEL 3
            XenFeature.PAE_PGDIR_ABOVE_4GB 4
            XenFeature.MMU_PT_UPDATE_PRESERVE_AD 5
            XenFeature.HIGHMEM_ASSIST 6
            XenFeature.GNTTAB_MAP_AVAIL_BITS 7
            XenFeature.HVM_CALLBACK_VECTOR 8
            XenFeature.HVM_SAFE_PVCLOCK 9
            XenFeature.HVM_PIRQS 10
            XenFeature.DOM0 11
            XenFeature.MEMORY_OP_VNODE_SUPPORTED 13
            XenFeature.ARM_SMCCC_SUPPORTED 14
            XenFeature.LINUX_RSDP_UNRESTRICTED 15
            XenFeature.NOT_DIRECT_MAPPED 16
            XenFeature.DIRECT_MAPPED 17
            XenFeature.NR_SUBMAPS 1

            XenAbi.XEN_VERSION_MAJOR 4
            XenAbi.XEN_VERSION_MINOR 17
            XenAbi.XEN_VERSION 0x40011
            XenAbi.XEN_INTERFACE_VERSION 0x00040e00
            """;

    /** Classes whose every public static final int/long must appear in {@link #PINS}. */
    private static final List<Class<?>> CONSTANT_CLASSES = List.of(
            Hypercall.class, HypercallPage.class, ConsoleIo.class, XenVersion.class, SchedOp.class,
            ShutdownReason.class, VcpuOp.class, Runstate.class, EvtchnOp.class, EvtchnStatus.class,
            Virq.class, Evtchn.class, EvtchnFifo.class, XenMem.class, XenMapSpace.class, HvmOp.class, HvmParam.class,
            GnttabOp.class, Gtf.class, Gntst.class, E820Entry.class, XenErrno.class, XenStoreOp.class, XsdSockmsg.class, XenstoreDomainInterface.class,
            XenconsInterface.class, SharedInfo.class, VcpuRunstateInfo.class, XenCpuid.class, PvClock.class,
            XenElfNote.class, XenAbi.class, XenFeature.class);

    private static Map<String, Long> pins() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String line : PINS.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.trim().split("\\s+");
            long v = f[1].startsWith("0x") ? Long.parseUnsignedLong(f[1].substring(2), 16) : Long.parseLong(f[1]);
            if (m.put(f[0], v) != null) {
                throw new AssertionError("pinned twice: " + f[0]);
            }
        }
        return m;
    }

    @Test
    void everyConstantIsPinnedAndMatches() throws Exception {
        Map<String, Long> pins = pins();
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Class<?> c : CONSTANT_CLASSES) {
            for (Field f : c.getDeclaredFields()) {
                int mod = f.getModifiers();
                if (!Modifier.isPublic(mod) || !Modifier.isStatic(mod) || !Modifier.isFinal(mod)
                        || !(f.getType() == int.class || f.getType() == long.class)) {
                    continue;
                }
                String key = c.getSimpleName() + "." + f.getName();
                Long expected = pins.remove(key);
                long actual = ((Number) f.get(null)).longValue();
                if (expected == null) {
                    problems.add(key + " = " + actual + " is not pinned");
                } else if (f.getType() == int.class ? (int) (long) expected != actual : expected != actual) {
                    problems.add(key + ": expected " + expected + ", is " + actual);
                }
                checked++;
            }
        }
        for (String stale : pins.keySet()) {
            problems.add(stale + " is pinned but does not exist");
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
        assertTrue(checked > 250, "checked only " + checked);
    }

    @Test
    void names() {
        assertEquals("memory_op", Hypercall.name(12));
        assertEquals("event_channel_op", Hypercall.name(32));
        assertEquals("arch_7", Hypercall.name(55));
        assertEquals("hypercall_99", Hypercall.name(99));
        assertEquals("hypercall_11", Hypercall.name(11));
        assertEquals("EFAULT", XenErrno.name(14));
        assertEquals("errno_15", XenErrno.name(15));
        assertEquals("ENOSYS", XenErrno.nameOfResult(-38));
        assertEquals("0", XenErrno.nameOfResult(0));
        assertEquals("shutdown", SchedOp.name(2));
        assertEquals("soft_reset", ShutdownReason.name(5));
        assertEquals("register_vcpu_info", VcpuOp.name(10));
        assertEquals("offline", Runstate.name(3));
        assertEquals("bind_virq", EvtchnOp.name(1));
        assertEquals("ipi", EvtchnStatus.name(5));
        assertEquals("DOM_EXC", Virq.name(3));
        assertEquals("add_to_physmap", XenMem.name(7));
        assertEquals("gmfn_foreign", XenMapSpace.name(4));
        assertEquals("set_evtchn_upcall_vector", HvmOp.name(23));
        assertEquals("CONSOLE_EVTCHN", HvmParam.name(18));
        assertEquals("query_size", GnttabOp.name(6));
        assertEquals("bad_gntref", Gntst.name(-3));
        assertEquals("gntst_-14", Gntst.name(-14));
        assertEquals("current_reservation", XenMem.name(3));
        assertEquals("maximum_gpfn", XenMem.name(14));
        assertEquals("write", ConsoleIo.name(0));
        assertEquals("get_features", XenVersion.name(6));
    }

    @Test
    void xenStoreOps() {
        assertEquals("READ", XenStoreOp.name(2));
        assertEquals("CONTROL", XenStoreOp.name(0));
        assertEquals("DIRECTORY_PART", XenStoreOp.name(22));
        assertEquals("XS_20", XenStoreOp.name(20));
        assertEquals(2, XenStoreOp.byName("READ"));
        assertEquals(2, XenStoreOp.byName("XS_READ"));
        assertEquals(0, XenStoreOp.byName("DEBUG"));
        assertEquals(21, XenStoreOp.byName("RESET_WATCHES"));
        assertEquals(-1, XenStoreOp.byName("RESTRICT"));
    }

    @Test
    void xenStoreErrors() {
        assertEquals(List.of("EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM", "ENOSPC", "EIO",
                "ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN", "EISCONN", "E2BIG", "EPERM"),
                XenStoreError.names());
        assertEquals("OK", XenStoreError.OK);
        assertEquals(4, XenStoreError.indexOf("ENOENT"));
        assertTrue(XenStoreError.isKnown("E2BIG"));
        assertFalse(XenStoreError.isKnown("EFAULT"));
        assertEquals(2, XenStoreError.errno("ENOENT"));
        assertEquals(13, XenStoreError.errno("EACCES"));
        assertEquals(-1, XenStoreError.errno("OK"));
        assertEquals("ENOSPC", XenStoreError.forErrno(28));
        assertEquals("EIO", XenStoreError.forErrno(14));
        assertThrows(UnsupportedOperationException.class, () -> XenStoreError.names().add("X"));
    }

    @Test
    void wordSize() {
        assertEquals(8, WordSize.BITS_64.bytes());
        assertEquals(4, WordSize.BITS_32.bytes());
        assertEquals(64, WordSize.BITS_64.bits());
        assertEquals(32, WordSize.BITS_32.bits());
        assertEquals(4096, Evtchn.nrChannels2Level(WordSize.BITS_64));
        assertEquals(1024, Evtchn.nrChannels2Level(WordSize.BITS_32));
        assertEquals(64, SharedInfo.evtchnWords(WordSize.BITS_64));
        assertEquals(32, SharedInfo.evtchnWords(WordSize.BITS_32));
    }

    @Test
    void helpers() {
        long via = HvmParam.callbackValue(HvmParam.CALLBACK_TYPE_VECTOR, 0xf3);
        assertEquals(0x02000000000000f3L, via);
        assertEquals(2, HvmParam.callbackType(via));
        assertEquals(0xf3, HvmParam.callbackVector(via));
        assertEquals(0xf3, HvmParam.callbackData(via));
        assertEquals(0, HvmParam.callbackType(5));
        assertEquals(5, HvmParam.callbackData(5));
        assertEquals(0x40011, XenVersion.versionValue(4, 17));
        assertEquals(0x40011, XenCpuid.versionEax(4, 17));
        assertEquals(23 * 32, HypercallPage.entryOffset(23));
        assertEquals(127 * 32, HypercallPage.entryOffset(127));
        assertThrows(IndexOutOfBoundsException.class, () -> HypercallPage.entryOffset(128));
        assertEquals(Hypercall.IRET, HypercallPage.IRET_SLOT);
        assertEquals(HypercallPage.PAGE_SIZE, HypercallPage.ENTRIES * HypercallPage.ENTRY_SIZE);
        assertEquals(5, XenstoreDomainInterface.ringSlot(1029));
        // "XenVMMXenVMM" in EBX, ECX, EDX, little-endian.
        byte[] sig = new byte[12];
        int[] regs = {XenCpuid.SIGNATURE_EBX, XenCpuid.SIGNATURE_ECX, XenCpuid.SIGNATURE_EDX};
        for (int r = 0; r < 3; r++) {
            for (int b = 0; b < 4; b++) {
                sig[r * 4 + b] = (byte) (regs[r] >>> (8 * b));
            }
        }
        assertEquals("XenVMMXenVMM", new String(sig, java.nio.charset.StandardCharsets.US_ASCII));
    }
}

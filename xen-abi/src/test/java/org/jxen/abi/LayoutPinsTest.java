package org.jxen.abi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Pins every size and offset of XEN-ABI-FACTS.md, written out by hand, for both guest forms.
 * Each row is "struct form member offset" or "struct form sizeof n"; form is 64, 32 or "both".
 */
class LayoutPinsTest {

    private static final String PINS = """
            vcpu_time_info both version 0
            vcpu_time_info both pad0 4
            vcpu_time_info both tsc_timestamp 8
            vcpu_time_info both system_time 16
            vcpu_time_info both tsc_to_system_mul 24
            vcpu_time_info both tsc_shift 28
            vcpu_time_info both flags 29
            vcpu_time_info both pad1 30
            vcpu_time_info both sizeof 32

            arch_vcpu_info 64 cr2 0
            arch_vcpu_info 64 pad 8
            arch_vcpu_info 64 sizeof 16
            arch_vcpu_info 32 cr2 0
            arch_vcpu_info 32 pad 4
            arch_vcpu_info 32 sizeof 24

            vcpu_info both evtchn_upcall_pending 0
            vcpu_info both evtchn_upcall_mask 1
            vcpu_info 64 evtchn_pending_sel 8
            vcpu_info 64 arch 16
            vcpu_info 64 time 32
            vcpu_info 32 evtchn_pending_sel 4
            vcpu_info 32 arch 8
            vcpu_info 32 time 32
            vcpu_info both sizeof 64

            arch_shared_info 64 sizeof 48
            arch_shared_info 32 sizeof 28

            shared_info both vcpu_info 0
            shared_info both evtchn_pending 2048
            shared_info 64 evtchn_mask 2560
            shared_info 64 wc_version 3072
            shared_info 64 wc_sec 3076
            shared_info 64 wc_nsec 3080
            shared_info 64 wc_sec_hi 3084
            shared_info 64 arch 3088
            shared_info 64 sizeof 3136
            shared_info 32 evtchn_mask 2176
            shared_info 32 wc_version 2304
            shared_info 32 wc_sec 2308
            shared_info 32 wc_nsec 2312
            shared_info 32 arch 2316
            shared_info 32 arch.wc_sec_hi 2340
            shared_info 32 sizeof 2344

            vcpu_runstate_info both state 0
            vcpu_runstate_info 64 state_entry_time 8
            vcpu_runstate_info 64 time 16
            vcpu_runstate_info 64 sizeof 48
            vcpu_runstate_info 32 state_entry_time 4
            vcpu_runstate_info 32 time 12
            vcpu_runstate_info 32 sizeof 44

            vcpu_register_vcpu_info both mfn 0
            vcpu_register_vcpu_info both offset 8
            vcpu_register_vcpu_info both rsvd 12
            vcpu_register_vcpu_info both sizeof 16

            vcpu_register_runstate_memory_area both addr 0
            vcpu_register_runstate_memory_area both sizeof 8
            vcpu_register_time_memory_area both addr 0
            vcpu_register_time_memory_area both sizeof 8

            vcpu_set_singleshot_timer both timeout_abs_ns 0
            vcpu_set_singleshot_timer both flags 8
            vcpu_set_singleshot_timer 64 sizeof 16
            vcpu_set_singleshot_timer 32 sizeof 12

            vcpu_set_periodic_timer both period_ns 0
            vcpu_set_periodic_timer both sizeof 8

            vcpu_hvm_context both mode 0
            vcpu_hvm_context both pad 4
            vcpu_hvm_context both cpu_regs 8
            vcpu_hvm_context both cpu_regs.x86_32.eax 8
            vcpu_hvm_context both cpu_regs.x86_32.eip 40
            vcpu_hvm_context both cpu_regs.x86_32.eflags 44
            vcpu_hvm_context both cpu_regs.x86_32.cr0 48
            vcpu_hvm_context both cpu_regs.x86_32.cr3 52
            vcpu_hvm_context both cpu_regs.x86_32.cr4 56
            vcpu_hvm_context both cpu_regs.x86_32.pad1 60
            vcpu_hvm_context both cpu_regs.x86_32.efer 64
            vcpu_hvm_context both cpu_regs.x86_32.cs_base 72
            vcpu_hvm_context both cpu_regs.x86_32.tr_base 88
            vcpu_hvm_context both cpu_regs.x86_32.cs_limit 92
            vcpu_hvm_context both cpu_regs.x86_32.tr_limit 108
            vcpu_hvm_context both cpu_regs.x86_32.cs_ar 112
            vcpu_hvm_context both cpu_regs.x86_32.tr_ar 120
            vcpu_hvm_context both cpu_regs.x86_32.pad2 122
            vcpu_hvm_context both cpu_regs.x86_64.rax 8
            vcpu_hvm_context both cpu_regs.x86_64.rdi 64
            vcpu_hvm_context both cpu_regs.x86_64.rip 72
            vcpu_hvm_context both cpu_regs.x86_64.rflags 80
            vcpu_hvm_context both cpu_regs.x86_64.cr0 88
            vcpu_hvm_context both cpu_regs.x86_64.cr3 96
            vcpu_hvm_context both cpu_regs.x86_64.cr4 104
            vcpu_hvm_context both cpu_regs.x86_64.efer 112
            vcpu_hvm_context both sizeof 128

            sched_poll both ports 0
            sched_poll 64 nr_ports 8
            sched_poll 64 timeout 16
            sched_poll 64 sizeof 24
            sched_poll 32 nr_ports 4
            sched_poll 32 timeout 8
            sched_poll 32 sizeof 16
            multicall_entry both op 0
            multicall_entry 64 result 8
            multicall_entry 64 args 16
            multicall_entry 64 sizeof 64
            multicall_entry 32 result 4
            multicall_entry 32 args 8
            multicall_entry 32 sizeof 32

            sched_shutdown both reason 0
            sched_shutdown both sizeof 4

            evtchn_send both port 0
            evtchn_send both sizeof 4
            evtchn_close both port 0
            evtchn_close both sizeof 4
            evtchn_unmask both port 0
            evtchn_unmask both sizeof 4

            evtchn_alloc_unbound both dom 0
            evtchn_alloc_unbound both remote_dom 2
            evtchn_alloc_unbound both port 4
            evtchn_alloc_unbound both sizeof 8

            evtchn_bind_interdomain both remote_dom 0
            evtchn_bind_interdomain both remote_port 4
            evtchn_bind_interdomain both local_port 8
            evtchn_bind_interdomain both sizeof 12

            evtchn_bind_virq both virq 0
            evtchn_bind_virq both vcpu 4
            evtchn_bind_virq both port 8
            evtchn_bind_virq both sizeof 12

            evtchn_bind_ipi both vcpu 0
            evtchn_bind_ipi both port 4
            evtchn_bind_ipi both sizeof 8

            evtchn_init_control both control_gfn 0
            evtchn_init_control both offset 8
            evtchn_init_control both vcpu 12
            evtchn_init_control both link_bits 16
            evtchn_init_control both _pad 17
            evtchn_init_control both sizeof 24

            evtchn_expand_array both array_gfn 0
            evtchn_expand_array both sizeof 8

            evtchn_set_priority both port 0
            evtchn_set_priority both priority 4
            evtchn_set_priority both sizeof 8

            evtchn_fifo_control_block both ready 0
            evtchn_fifo_control_block both _rsvd 4
            evtchn_fifo_control_block both head 8
            evtchn_fifo_control_block both sizeof 72

            evtchn_bind_vcpu both port 0
            evtchn_bind_vcpu both vcpu 4
            evtchn_bind_vcpu both sizeof 8

            evtchn_status both dom 0
            evtchn_status both port 4
            evtchn_status both status 8
            evtchn_status both vcpu 12
            evtchn_status both u 16
            evtchn_status both sizeof 24

            xen_add_to_physmap both domid 0
            xen_add_to_physmap both size 2
            xen_add_to_physmap both space 4
            xen_add_to_physmap 64 idx 8
            xen_add_to_physmap 64 gpfn 16
            xen_add_to_physmap 64 sizeof 24
            xen_add_to_physmap 32 idx 8
            xen_add_to_physmap 32 gpfn 12
            xen_add_to_physmap 32 sizeof 16

            xen_add_to_physmap_batch both domid 0
            xen_add_to_physmap_batch both space 2
            xen_add_to_physmap_batch both size 4
            xen_add_to_physmap_batch both u 6
            xen_add_to_physmap_batch both u.foreign_domid 6
            xen_add_to_physmap_batch both idxs 8
            xen_add_to_physmap_batch 64 gpfns 16
            xen_add_to_physmap_batch 64 errs 24
            xen_add_to_physmap_batch 64 sizeof 32
            xen_add_to_physmap_batch 32 gpfns 12
            xen_add_to_physmap_batch 32 errs 16
            xen_add_to_physmap_batch 32 sizeof 20

            xen_memory_reservation both extent_start 0
            xen_memory_reservation 64 nr_extents 8
            xen_memory_reservation 64 extent_order 16
            xen_memory_reservation 64 mem_flags 20
            xen_memory_reservation 64 domid 24
            xen_memory_reservation 64 sizeof 32
            xen_memory_reservation 32 nr_extents 4
            xen_memory_reservation 32 extent_order 8
            xen_memory_reservation 32 mem_flags 12
            xen_memory_reservation 32 domid 16
            xen_memory_reservation 32 sizeof 20

            xen_memory_map both nr_entries 0
            xen_memory_map 64 buffer 8
            xen_memory_map 64 sizeof 16
            xen_memory_map 32 buffer 4
            xen_memory_map 32 sizeof 8

            xen_hvm_param both domid 0
            xen_hvm_param both index 4
            xen_hvm_param both value 8
            xen_hvm_param both sizeof 16

            xen_feature_info both submap_idx 0
            xen_feature_info both submap 4
            xen_feature_info both sizeof 8

            xen_compile_info both sizeof 144

            grant_entry_v1 both flags 0
            grant_entry_v1 both domid 2
            grant_entry_v1 both frame 4
            grant_entry_v1 both sizeof 8

            gnttab_setup_table both dom 0
            gnttab_setup_table both nr_frames 4
            gnttab_setup_table both status 8
            gnttab_setup_table 64 frame_list 16
            gnttab_setup_table 64 sizeof 24
            gnttab_setup_table 32 frame_list 12
            gnttab_setup_table 32 sizeof 16

            gnttab_query_size both dom 0
            gnttab_query_size both nr_frames 4
            gnttab_query_size both max_nr_frames 8
            gnttab_query_size both status 12
            gnttab_query_size both sizeof 16

            gnttab_set_version both version 0
            gnttab_set_version both sizeof 4

            gnttab_get_version both dom 0
            gnttab_get_version both pad 2
            gnttab_get_version both version 4
            gnttab_get_version both sizeof 8

            xsd_sockmsg both type 0
            xsd_sockmsg both req_id 4
            xsd_sockmsg both tx_id 8
            xsd_sockmsg both len 12
            xsd_sockmsg both sizeof 16

            xenstore_domain_interface both req 0
            xenstore_domain_interface both rsp 1024
            xenstore_domain_interface both req_cons 2048
            xenstore_domain_interface both req_prod 2052
            xenstore_domain_interface both rsp_cons 2056
            xenstore_domain_interface both rsp_prod 2060
            xenstore_domain_interface both server_features 2064
            xenstore_domain_interface both connection 2068
            xenstore_domain_interface both error 2072
            xenstore_domain_interface both sizeof 2076

            xencons_interface both in 0
            xencons_interface both out 1024
            xencons_interface both in_cons 3072
            xencons_interface both in_prod 3076
            xencons_interface both out_cons 3080
            xencons_interface both out_prod 3084
            xencons_interface both sizeof 3088
            """;

    record Pin(String struct, WordSize form, String member, long value) {
        @Override
        public String toString() {
            return struct + " " + (form == WordSize.BITS_64 ? "64" : "32") + " " + member + " " + value;
        }
    }

    static List<Pin> pins() {
        List<Pin> out = new ArrayList<>();
        for (String line : PINS.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.trim().split("\\s+");
            long value = Long.parseLong(f[3]);
            if (!f[1].equals("32")) {
                out.add(new Pin(f[0], WordSize.BITS_64, f[2], value));
            }
            if (!f[1].equals("64")) {
                out.add(new Pin(f[0], WordSize.BITS_32, f[2], value));
            }
        }
        return out;
    }

    static Stream<Pin> pinStream() {
        return pins().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pinStream")
    void pinned(Pin pin) {
        StructInfo info = AbiCatalog.find(pin.struct());
        assertNotNull(info, "no catalog entry for " + pin.struct());
        StructLayout layout = info.layout(pin.form());
        if (pin.member().equals("sizeof")) {
            assertEquals(pin.value(), layout.byteSize(), pin.toString());
        } else {
            String[] path = pin.member().split("\\.");
            MemoryLayout.PathElement[] elements = new MemoryLayout.PathElement[path.length];
            for (int i = 0; i < path.length; i++) {
                elements[i] = MemoryLayout.PathElement.groupElement(path[i]);
            }
            assertEquals(pin.value(), layout.byteOffset(elements), pin.toString());
        }
    }

    @Test
    void everyCatalogStructHasItsSizePinnedInBothForms() {
        Set<String> sized = new HashSet<>();
        for (Pin p : pins()) {
            if (p.member().equals("sizeof")) {
                sized.add(p.struct() + "/" + p.form());
            }
        }
        for (StructInfo s : AbiCatalog.structs()) {
            for (WordSize w : WordSize.values()) {
                assertTrue(sized.contains(s.cName() + "/" + w), "no size pin for " + s.cName() + " " + w);
            }
        }
    }

    @Test
    void sizeofMatchesTheCatalog() {
        assertEquals(3136, SharedInfo.sizeof(WordSize.BITS_64));
        assertEquals(2344, SharedInfo.sizeof(WordSize.BITS_32));
        assertEquals(48, VcpuRunstateInfo.sizeof(WordSize.BITS_64));
        assertEquals(44, VcpuRunstateInfo.sizeof(WordSize.BITS_32));
        for (StructInfo s : AbiCatalog.structs()) {
            assertEquals(s.cName(), s.layout64().name().orElseThrow());
            assertEquals(s.cName(), s.layout32().name().orElseThrow());
        }
    }

    /** The offsetOf accessors against the facts, for the fields whose place depends on the form. */
    @Test
    void offsetAccessors() {
        WordSize b64 = WordSize.BITS_64;
        WordSize b32 = WordSize.BITS_32;
        assertEquals(2048, SharedInfo.offsetOfEvtchnPending(b64));
        assertEquals(2048, SharedInfo.offsetOfEvtchnPending(b32));
        assertEquals(2560, SharedInfo.offsetOfEvtchnMask(b64));
        assertEquals(2176, SharedInfo.offsetOfEvtchnMask(b32));
        assertEquals(3072, SharedInfo.offsetOfWcVersion(b64));
        assertEquals(2304, SharedInfo.offsetOfWcVersion(b32));
        assertEquals(3076, SharedInfo.offsetOfWcSec(b64));
        assertEquals(2308, SharedInfo.offsetOfWcSec(b32));
        assertEquals(3080, SharedInfo.offsetOfWcNsec(b64));
        assertEquals(2312, SharedInfo.offsetOfWcNsec(b32));
        assertEquals(3084, SharedInfo.offsetOfWcSecHi(b64));
        assertEquals(2340, SharedInfo.offsetOfWcSecHi(b32));
        assertEquals(3088, SharedInfo.offsetOfArch(b64));
        assertEquals(2316, SharedInfo.offsetOfArch(b32));
        assertEquals(64 * 31, SharedInfo.offsetOfVcpuInfo(b32, 31));
        assertEquals(8, VcpuInfo.offsetOfEvtchnPendingSel(b64));
        assertEquals(4, VcpuInfo.offsetOfEvtchnPendingSel(b32));
        assertEquals(16, VcpuInfo.offsetOfArch(b64));
        assertEquals(8, VcpuInfo.offsetOfArch(b32));
        assertEquals(32, VcpuInfo.offsetOfTime(b64));
        assertEquals(32, VcpuInfo.offsetOfTime(b32));
        assertEquals(8, VcpuRunstateInfo.offsetOfStateEntryTime(b64));
        assertEquals(4, VcpuRunstateInfo.offsetOfStateEntryTime(b32));
        assertEquals(16, VcpuRunstateInfo.offsetOfTime(b64));
        assertEquals(12, VcpuRunstateInfo.offsetOfTime(b32));
        assertEquals(8, SchedPoll.offsetOfNrPorts(b64));
        assertEquals(4, SchedPoll.offsetOfNrPorts(b32));
        assertEquals(16, SchedPoll.offsetOfTimeout(b64));
        assertEquals(8, SchedPoll.offsetOfTimeout(b32));
        assertEquals(8, XenAddToPhysmap.offsetOfIdx(b64));
        assertEquals(8, XenAddToPhysmap.offsetOfIdx(b32));
        assertEquals(16, XenAddToPhysmap.offsetOfGpfn(b64));
        assertEquals(12, XenAddToPhysmap.offsetOfGpfn(b32));
        assertEquals(8, ArchVcpuInfo.offsetOfPad(b64));
        assertEquals(4, ArchVcpuInfo.offsetOfPad(b32));
        assertEquals(40, ArchSharedInfo.offsetOfP2mGeneration(b64));
        assertEquals(20, ArchSharedInfo.offsetOfP2mGeneration(b32));
        assertEquals(24, ArchSharedInfo.offsetOfWcSecHi32());
        assertEquals(20, EvtchnStatusArg.offsetOfUInterdomainPort(b64));
        assertEquals(8, XenMemoryReservation.offsetOfNrExtents(b64));
        assertEquals(4, XenMemoryReservation.offsetOfNrExtents(b32));
        assertEquals(16, XenMemoryReservation.offsetOfExtentOrder(b64));
        assertEquals(8, XenMemoryReservation.offsetOfExtentOrder(b32));
        assertEquals(20, XenMemoryReservation.offsetOfMemFlags(b64));
        assertEquals(12, XenMemoryReservation.offsetOfMemFlags(b32));
        assertEquals(24, XenMemoryReservation.offsetOfDomid(b64));
        assertEquals(16, XenMemoryReservation.offsetOfDomid(b32));
        assertEquals(8, XenAddToPhysmapBatch.offsetOfIdxs(b32));
        assertEquals(16, XenAddToPhysmapBatch.offsetOfGpfns(b64));
        assertEquals(12, XenAddToPhysmapBatch.offsetOfGpfns(b32));
        assertEquals(24, XenAddToPhysmapBatch.offsetOfErrs(b64));
        assertEquals(16, XenAddToPhysmapBatch.offsetOfErrs(b32));
        assertEquals(8, XenMemoryMap.offsetOfBuffer(b64));
        assertEquals(4, XenMemoryMap.offsetOfBuffer(b32));
        assertEquals(16, GnttabSetupTable.offsetOfFrameList(b64));
        assertEquals(12, GnttabSetupTable.offsetOfFrameList(b32));
        assertEquals(12, GnttabQuerySize.offsetOfStatus(b32));
        assertEquals(4, GnttabGetVersion.offsetOfVersion(b32));
    }

    /**
     * The e820 entry of XENMEM_memory_map has no declaration in Xen's public headers, so it is not
     * in the catalog that the header cross-check compiles: pinned here by hand, packed.
     */
    @Test
    void e820EntryIsPacked() {
        for (WordSize w : WordSize.values()) {
            assertEquals(20, E820Entry.sizeof(w));
            assertEquals(0, E820Entry.offsetOfAddr(w));
            assertEquals(8, E820Entry.offsetOfSize(w));
            assertEquals(16, E820Entry.offsetOfType(w));
        }
    }
}

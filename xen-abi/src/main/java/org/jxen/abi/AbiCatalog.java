package org.jxen.abi;

import java.lang.foreign.StructLayout;
import java.util.List;
import java.util.function.Function;

/**
 * Every structure of the guest ABI this module models, with its C name, header and both
 * layouts: the table that tools print and that the header cross-check test compiles against
 * Xen's real headers. {@code evtchn_send}, {@code evtchn_close} and {@code evtchn_unmask} are
 * listed separately although all three are modelled by {@link EvtchnPort}.
 *
 * <p>The list is built once and immutable; safe from any thread.
 */
public final class AbiCatalog {
    private AbiCatalog() {
    }

    private static final List<StructInfo> STRUCTS = List.of(
            entry("vcpu_time_info", "struct vcpu_time_info", "xen/xen.h", VcpuTimeInfo::layout),
            entry("arch_vcpu_info", "struct arch_vcpu_info", "xen/xen.h", ArchVcpuInfo::layout),
            entry("vcpu_info", "struct vcpu_info", "xen/xen.h", VcpuInfo::layout),
            entry("arch_shared_info", "struct arch_shared_info", "xen/xen.h", ArchSharedInfo::layout),
            entry("shared_info", "struct shared_info", "xen/xen.h", SharedInfo::layout),
            entry("vcpu_runstate_info", "struct vcpu_runstate_info", "xen/vcpu.h", VcpuRunstateInfo::layout),
            entry("vcpu_register_runstate_memory_area", "struct vcpu_register_runstate_memory_area", "xen/vcpu.h",
                    VcpuRegisterRunstateMemoryArea::layout),
            entry("vcpu_register_time_memory_area", "struct vcpu_register_time_memory_area", "xen/vcpu.h",
                    VcpuRegisterTimeMemoryArea::layout),
            entry("vcpu_register_vcpu_info", "struct vcpu_register_vcpu_info", "xen/vcpu.h", VcpuRegisterVcpuInfo::layout),
            entry("vcpu_set_singleshot_timer", "struct vcpu_set_singleshot_timer", "xen/vcpu.h", VcpuSetSingleshotTimer::layout),
            entry("vcpu_set_periodic_timer", "struct vcpu_set_periodic_timer", "xen/vcpu.h", VcpuSetPeriodicTimer::layout),
            entry("vcpu_hvm_context", "struct vcpu_hvm_context", "xen/hvm/hvm_vcpu.h", VcpuHvmContext::layout),
            entry("sched_poll", "struct sched_poll", "xen/sched.h", SchedPoll::layout),
            entry("multicall_entry", "struct multicall_entry", "xen/xen.h", MulticallEntry::layout),
            entry("sched_shutdown", "struct sched_shutdown", "xen/sched.h", SchedShutdown::layout),
            entry("evtchn_send", "struct evtchn_send", "xen/event_channel.h", EvtchnPort::layout),
            entry("evtchn_close", "struct evtchn_close", "xen/event_channel.h", EvtchnPort::layout),
            entry("evtchn_unmask", "struct evtchn_unmask", "xen/event_channel.h", EvtchnPort::layout),
            entry("evtchn_alloc_unbound", "struct evtchn_alloc_unbound", "xen/event_channel.h", EvtchnAllocUnbound::layout),
            entry("evtchn_bind_interdomain", "struct evtchn_bind_interdomain", "xen/event_channel.h",
                    EvtchnBindInterdomain::layout),
            entry("evtchn_bind_virq", "struct evtchn_bind_virq", "xen/event_channel.h", EvtchnBindVirq::layout),
            entry("evtchn_bind_ipi", "struct evtchn_bind_ipi", "xen/event_channel.h", EvtchnBindIpi::layout),
            entry("evtchn_bind_vcpu", "struct evtchn_bind_vcpu", "xen/event_channel.h", EvtchnBindVcpu::layout),
            entry("evtchn_status", "struct evtchn_status", "xen/event_channel.h", EvtchnStatusArg::layout),
            entry("evtchn_init_control", "struct evtchn_init_control", "xen/event_channel.h", EvtchnInitControl::layout),
            entry("evtchn_expand_array", "struct evtchn_expand_array", "xen/event_channel.h", EvtchnExpandArray::layout),
            entry("evtchn_set_priority", "struct evtchn_set_priority", "xen/event_channel.h", EvtchnSetPriority::layout),
            entry("evtchn_fifo_control_block", "struct evtchn_fifo_control_block", "xen/event_channel.h",
                    EvtchnFifoControlBlock::layout),
            entry("xen_add_to_physmap", "xen_add_to_physmap_t", "xen/memory.h", XenAddToPhysmap::layout),
            entry("xen_add_to_physmap_batch", "struct xen_add_to_physmap_batch", "xen/memory.h",
                    XenAddToPhysmapBatch::layout),
            entry("xen_memory_reservation", "struct xen_memory_reservation", "xen/memory.h",
                    XenMemoryReservation::layout),
            entry("xen_memory_map", "struct xen_memory_map", "xen/memory.h", XenMemoryMap::layout),
            entry("xen_hvm_param", "struct xen_hvm_param", "xen/hvm/hvm_op.h", XenHvmParam::layout),
            entry("xen_feature_info", "struct xen_feature_info", "xen/version.h", XenFeatureInfo::layout),
            entry("xen_compile_info", "struct xen_compile_info", "xen/version.h", XenCompileInfo::layout),
            entry("grant_entry_v1", "struct grant_entry_v1", "xen/grant_table.h", GrantEntryV1::layout),
            entry("gnttab_setup_table", "struct gnttab_setup_table", "xen/grant_table.h", GnttabSetupTable::layout),
            entry("gnttab_query_size", "struct gnttab_query_size", "xen/grant_table.h", GnttabQuerySize::layout),
            entry("gnttab_set_version", "struct gnttab_set_version", "xen/grant_table.h", GnttabSetVersion::layout),
            entry("gnttab_get_version", "struct gnttab_get_version", "xen/grant_table.h", GnttabGetVersion::layout),
            entry("xsd_sockmsg", "struct xsd_sockmsg", "xen/io/xs_wire.h", XsdSockmsg::layout),
            entry("xenstore_domain_interface", "struct xenstore_domain_interface", "xen/io/xs_wire.h",
                    XenstoreDomainInterface::layout),
            entry("xencons_interface", "struct xencons_interface", "xen/io/console.h", XenconsInterface::layout));

    private static StructInfo entry(String cName, String cType, String header, Function<WordSize, StructLayout> layout) {
        return new StructInfo(cName, cType, header,
                layout.apply(WordSize.BITS_64).withName(cName),
                layout.apply(WordSize.BITS_32).withName(cName));
    }

    /** All structures, in the order of the documentation (immutable). */
    public static List<StructInfo> structs() {
        return STRUCTS;
    }

    /** The entry with the given C name, or {@code null}. */
    public static StructInfo find(String cName) {
        for (StructInfo s : STRUCTS) {
            if (s.cName().equals(cName)) {
                return s;
            }
        }
        return null;
    }
}

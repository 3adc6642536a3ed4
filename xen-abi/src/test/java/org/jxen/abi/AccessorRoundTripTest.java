package org.jxen.abi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ObjLongConsumer;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Writes each field through its setter into a structure placed at an odd address inside a larger
 * segment filled with a canary byte, then checks the raw little-endian bytes at the offset from
 * XEN-ABI-FACTS.md (written out here), that no other byte changed, and that the getter reads
 * the value back.
 */
class AccessorRoundTripTest {

    private static final WordSize B64 = WordSize.BITS_64;
    private static final WordSize B32 = WordSize.BITS_32;
    private static final byte CANARY = (byte) 0x5A;
    private static final long BASE = 17; // odd on purpose: every access must work unaligned
    private static final long VALUE = 0x8877665544332211L;

    record Case(String name, long structSize, long offset, int width,
                ObjLongConsumer<MemorySegment> set, ToLongFunction<MemorySegment> get) {
        @Override
        public String toString() {
            return name + " @" + offset + " (" + width + " bytes)";
        }
    }

    private static Case c(String name, long size, long offset, int width,
                          ObjLongConsumer<MemorySegment> set, ToLongFunction<MemorySegment> get) {
        return new Case(name, size, offset, width, set, get);
    }

    static Stream<Case> cases() {
        List<Case> l = new ArrayList<>();
        // shared_info, 64-bit guest
        l.add(c("shared_info64.evtchn_pending[0]", 3136, 2048, 8, (s, v) -> SharedInfo.setEvtchnPending(s, B64, 0, v), s -> SharedInfo.evtchnPending(s, B64, 0)));
        l.add(c("shared_info64.evtchn_pending[63]", 3136, 2552, 8, (s, v) -> SharedInfo.setEvtchnPending(s, B64, 63, v), s -> SharedInfo.evtchnPending(s, B64, 63)));
        l.add(c("shared_info64.evtchn_mask[1]", 3136, 2568, 8, (s, v) -> SharedInfo.setEvtchnMask(s, B64, 1, v), s -> SharedInfo.evtchnMask(s, B64, 1)));
        l.add(c("shared_info64.wc_version", 3136, 3072, 4, (s, v) -> SharedInfo.setWcVersion(s, B64, (int) v), s -> SharedInfo.wcVersion(s, B64)));
        l.add(c("shared_info64.wc_sec", 3136, 3076, 4, (s, v) -> SharedInfo.setWcSec(s, B64, (int) v), s -> SharedInfo.wcSec(s, B64)));
        l.add(c("shared_info64.wc_nsec", 3136, 3080, 4, (s, v) -> SharedInfo.setWcNsec(s, B64, (int) v), s -> SharedInfo.wcNsec(s, B64)));
        l.add(c("shared_info64.wc_sec_hi", 3136, 3084, 4, (s, v) -> SharedInfo.setWcSecHi(s, B64, (int) v), s -> SharedInfo.wcSecHi(s, B64)));
        l.add(c("shared_info64.arch.max_pfn", 3136, 3088, 8, (s, v) -> ArchSharedInfo.setMaxPfn(SharedInfo.arch(s, B64), B64, v), s -> ArchSharedInfo.maxPfn(SharedInfo.arch(s, B64), B64)));
        l.add(c("shared_info64.arch.p2m_generation", 3136, 3128, 8, (s, v) -> ArchSharedInfo.setP2mGeneration(SharedInfo.arch(s, B64), B64, v), s -> ArchSharedInfo.p2mGeneration(SharedInfo.arch(s, B64), B64)));
        l.add(c("shared_info64.vcpu_info[1].evtchn_pending_sel", 3136, 72, 8, (s, v) -> VcpuInfo.setEvtchnPendingSel(SharedInfo.vcpuInfo(s, B64, 1), B64, v), s -> VcpuInfo.evtchnPendingSel(SharedInfo.vcpuInfo(s, B64, 1), B64)));
        l.add(c("shared_info64.vcpu_info[31].evtchn_upcall_pending", 3136, 1984, 1, (s, v) -> VcpuInfo.setEvtchnUpcallPending(SharedInfo.vcpuInfo(s, B64, 31), (int) v), s -> VcpuInfo.evtchnUpcallPending(SharedInfo.vcpuInfo(s, B64, 31))));
        // shared_info, 32-bit guest
        l.add(c("shared_info32.evtchn_pending[0]", 2344, 2048, 4, (s, v) -> SharedInfo.setEvtchnPending(s, B32, 0, v), s -> SharedInfo.evtchnPending(s, B32, 0)));
        l.add(c("shared_info32.evtchn_pending[31]", 2344, 2172, 4, (s, v) -> SharedInfo.setEvtchnPending(s, B32, 31, v), s -> SharedInfo.evtchnPending(s, B32, 31)));
        l.add(c("shared_info32.evtchn_mask[0]", 2344, 2176, 4, (s, v) -> SharedInfo.setEvtchnMask(s, B32, 0, v), s -> SharedInfo.evtchnMask(s, B32, 0)));
        l.add(c("shared_info32.wc_version", 2344, 2304, 4, (s, v) -> SharedInfo.setWcVersion(s, B32, (int) v), s -> SharedInfo.wcVersion(s, B32)));
        l.add(c("shared_info32.wc_sec", 2344, 2308, 4, (s, v) -> SharedInfo.setWcSec(s, B32, (int) v), s -> SharedInfo.wcSec(s, B32)));
        l.add(c("shared_info32.wc_nsec", 2344, 2312, 4, (s, v) -> SharedInfo.setWcNsec(s, B32, (int) v), s -> SharedInfo.wcNsec(s, B32)));
        l.add(c("shared_info32.arch.wc_sec_hi", 2344, 2340, 4, (s, v) -> SharedInfo.setWcSecHi(s, B32, (int) v), s -> SharedInfo.wcSecHi(s, B32)));
        l.add(c("shared_info32.arch.max_pfn", 2344, 2316, 4, (s, v) -> ArchSharedInfo.setMaxPfn(SharedInfo.arch(s, B32), B32, v), s -> ArchSharedInfo.maxPfn(SharedInfo.arch(s, B32), B32)));
        l.add(c("shared_info32.vcpu_info[2].evtchn_pending_sel", 2344, 132, 4, (s, v) -> VcpuInfo.setEvtchnPendingSel(SharedInfo.vcpuInfo(s, B32, 2), B32, v), s -> VcpuInfo.evtchnPendingSel(SharedInfo.vcpuInfo(s, B32, 2), B32)));
        // vcpu_info and its parts
        l.add(c("vcpu_info.evtchn_upcall_mask", 64, 1, 1, (s, v) -> VcpuInfo.setEvtchnUpcallMask(s, (int) v), VcpuInfo::evtchnUpcallMask));
        l.add(c("vcpu_info64.arch.cr2", 64, 16, 8, (s, v) -> ArchVcpuInfo.setCr2(VcpuInfo.arch(s, B64), B64, v), s -> ArchVcpuInfo.cr2(VcpuInfo.arch(s, B64), B64)));
        l.add(c("vcpu_info32.arch.cr2", 64, 8, 4, (s, v) -> ArchVcpuInfo.setCr2(VcpuInfo.arch(s, B32), B32, v), s -> ArchVcpuInfo.cr2(VcpuInfo.arch(s, B32), B32)));
        l.add(c("vcpu_info32.arch.pad[4]", 64, 28, 4, (s, v) -> ArchVcpuInfo.setPad(VcpuInfo.arch(s, B32), B32, 4, v), s -> ArchVcpuInfo.pad(VcpuInfo.arch(s, B32), B32, 4)));
        l.add(c("vcpu_info64.time.system_time", 64, 48, 8, (s, v) -> VcpuTimeInfo.setSystemTime(VcpuInfo.time(s, B64), v), s -> VcpuTimeInfo.systemTime(VcpuInfo.time(s, B64))));
        l.add(c("vcpu_info32.time.version", 64, 32, 4, (s, v) -> VcpuTimeInfo.setVersion(VcpuInfo.time(s, B32), (int) v), s -> VcpuTimeInfo.version(VcpuInfo.time(s, B32))));
        // vcpu_time_info
        l.add(c("vcpu_time_info.tsc_timestamp", 32, 8, 8, VcpuTimeInfo::setTscTimestamp, VcpuTimeInfo::tscTimestamp));
        l.add(c("vcpu_time_info.tsc_to_system_mul", 32, 24, 4, (s, v) -> VcpuTimeInfo.setTscToSystemMul(s, (int) v), VcpuTimeInfo::tscToSystemMul));
        l.add(c("vcpu_time_info.tsc_shift", 32, 28, 1, (s, v) -> VcpuTimeInfo.setTscShift(s, (int) v), VcpuTimeInfo::tscShift));
        l.add(c("vcpu_time_info.flags", 32, 29, 1, (s, v) -> VcpuTimeInfo.setFlags(s, (int) v), VcpuTimeInfo::flags));
        l.add(c("vcpu_time_info.pad1[1]", 32, 31, 1, (s, v) -> VcpuTimeInfo.setPad1(s, 1, (int) v), s -> VcpuTimeInfo.pad1(s, 1)));
        // vcpu_runstate_info: 64-bit and packed 32-bit
        l.add(c("vcpu_runstate_info64.state", 48, 0, 4, (s, v) -> VcpuRunstateInfo.setState(s, (int) v), VcpuRunstateInfo::state));
        l.add(c("vcpu_runstate_info64.state_entry_time", 48, 8, 8, (s, v) -> VcpuRunstateInfo.setStateEntryTime(s, B64, v), s -> VcpuRunstateInfo.stateEntryTime(s, B64)));
        l.add(c("vcpu_runstate_info64.time[3]", 48, 40, 8, (s, v) -> VcpuRunstateInfo.setTime(s, B64, 3, v), s -> VcpuRunstateInfo.time(s, B64, 3)));
        l.add(c("vcpu_runstate_info32.state_entry_time", 44, 4, 8, (s, v) -> VcpuRunstateInfo.setStateEntryTime(s, B32, v), s -> VcpuRunstateInfo.stateEntryTime(s, B32)));
        l.add(c("vcpu_runstate_info32.time[0]", 44, 12, 8, (s, v) -> VcpuRunstateInfo.setTime(s, B32, 0, v), s -> VcpuRunstateInfo.time(s, B32, 0)));
        l.add(c("vcpu_runstate_info32.time[3]", 44, 36, 8, (s, v) -> VcpuRunstateInfo.setTime(s, B32, 3, v), s -> VcpuRunstateInfo.time(s, B32, 3)));
        // vcpu op arguments
        l.add(c("vcpu_register_vcpu_info.mfn", 16, 0, 8, VcpuRegisterVcpuInfo::setMfn, VcpuRegisterVcpuInfo::mfn));
        l.add(c("vcpu_register_vcpu_info.offset", 16, 8, 4, (s, v) -> VcpuRegisterVcpuInfo.setOffset(s, (int) v), VcpuRegisterVcpuInfo::offset));
        l.add(c("vcpu_register_vcpu_info.rsvd", 16, 12, 4, (s, v) -> VcpuRegisterVcpuInfo.setRsvd(s, (int) v), VcpuRegisterVcpuInfo::rsvd));
        l.add(c("vcpu_register_runstate_memory_area64.addr", 8, 0, 8, (s, v) -> VcpuRegisterRunstateMemoryArea.setAddr(s, B64, v), s -> VcpuRegisterRunstateMemoryArea.addr(s, B64)));
        l.add(c("vcpu_register_time_memory_area64.addr", 8, 0, 8, (s, v) -> VcpuRegisterTimeMemoryArea.setAddr(s, B64, v), s -> VcpuRegisterTimeMemoryArea.addr(s, B64)));
        l.add(c("vcpu_set_singleshot_timer.timeout_abs_ns", 16, 0, 8, VcpuSetSingleshotTimer::setTimeoutAbsNs, VcpuSetSingleshotTimer::timeoutAbsNs));
        l.add(c("vcpu_set_singleshot_timer.flags", 12, 8, 4, (s, v) -> VcpuSetSingleshotTimer.setFlags(s, (int) v), VcpuSetSingleshotTimer::flags));
        l.add(c("vcpu_set_periodic_timer.period_ns", 8, 0, 8, VcpuSetPeriodicTimer::setPeriodNs, VcpuSetPeriodicTimer::periodNs));
        l.add(c("vcpu_hvm_context.mode", 128, 0, 4, (s, v) -> VcpuHvmContext.setMode(s, (int) v), s -> VcpuHvmContext.mode(s)));
        l.add(c("vcpu_hvm_context.pad", 128, 4, 4, (s, v) -> VcpuHvmContext.setPad(s, (int) v), s -> VcpuHvmContext.pad(s)));
        l.add(c("vcpu_hvm_context.x86_64.rsp", 128, 40, 8, (s, v) -> VcpuHvmContext.set(s, VcpuHvmContext.Reg64.RSP, v), s -> VcpuHvmContext.get(s, VcpuHvmContext.Reg64.RSP)));
        l.add(c("vcpu_hvm_context.x86_64.efer", 128, 112, 8, (s, v) -> VcpuHvmContext.set(s, VcpuHvmContext.Reg64.EFER, v), s -> VcpuHvmContext.get(s, VcpuHvmContext.Reg64.EFER)));
        l.add(c("vcpu_hvm_context.x86_32.eip", 128, 40, 4, (s, v) -> VcpuHvmContext.set(s, VcpuHvmContext.Reg32.EIP, v), s -> VcpuHvmContext.get(s, VcpuHvmContext.Reg32.EIP)));
        l.add(c("vcpu_hvm_context.x86_32.pad1", 128, 60, 4, (s, v) -> VcpuHvmContext.set(s, VcpuHvmContext.Reg32.PAD1, v), s -> VcpuHvmContext.get(s, VcpuHvmContext.Reg32.PAD1)));
        l.add(c("vcpu_hvm_context.x86_32.efer", 128, 64, 8, VcpuHvmContext::setEfer32, VcpuHvmContext::efer32));
        l.add(c("vcpu_hvm_context.x86_32.ss_base", 128, 80, 4, (s, v) -> VcpuHvmContext.setBase(s, VcpuHvmContext.Segment.SS, v), s -> VcpuHvmContext.base(s, VcpuHvmContext.Segment.SS)));
        l.add(c("vcpu_hvm_context.x86_32.es_limit", 128, 104, 4, (s, v) -> VcpuHvmContext.setLimit(s, VcpuHvmContext.Segment.ES, v), s -> VcpuHvmContext.limit(s, VcpuHvmContext.Segment.ES)));
        l.add(c("vcpu_hvm_context.x86_32.ds_ar", 128, 114, 2, (s, v) -> VcpuHvmContext.setAr(s, VcpuHvmContext.Segment.DS, (int) v), s -> VcpuHvmContext.ar(s, VcpuHvmContext.Segment.DS)));
        l.add(c("vcpu_hvm_context.x86_32.pad2[2]", 128, 126, 2, (s, v) -> VcpuHvmContext.setPad2(s, 2, (int) v), s -> VcpuHvmContext.pad2(s, 2)));
        // sched
        l.add(c("multicall_entry64.op", 64, 0, 8, (s, v) -> MulticallEntry.setOp(s, B64, v), s -> MulticallEntry.op(s, B64)));
        l.add(c("multicall_entry64.result", 64, 8, 8, (s, v) -> MulticallEntry.setResult(s, B64, v), s -> MulticallEntry.result(s, B64)));
        l.add(c("multicall_entry64.args[5]", 64, 56, 8, (s, v) -> MulticallEntry.setArg(s, B64, 5, v), s -> MulticallEntry.arg(s, B64, 5)));
        l.add(c("multicall_entry32.op", 32, 0, 4, (s, v) -> MulticallEntry.setOp(s, B32, v), s -> MulticallEntry.op(s, B32)));
        l.add(c("multicall_entry32.args[5]", 32, 28, 4, (s, v) -> MulticallEntry.setArg(s, B32, 5, v), s -> MulticallEntry.arg(s, B32, 5)));
        l.add(c("sched_poll64.ports", 24, 0, 8, (s, v) -> SchedPoll.setPorts(s, B64, v), s -> SchedPoll.ports(s, B64)));
        l.add(c("sched_poll64.nr_ports", 24, 8, 4, (s, v) -> SchedPoll.setNrPorts(s, B64, (int) v), s -> SchedPoll.nrPorts(s, B64)));
        l.add(c("sched_poll64.timeout", 24, 16, 8, (s, v) -> SchedPoll.setTimeout(s, B64, v), s -> SchedPoll.timeout(s, B64)));
        l.add(c("sched_poll32.ports", 16, 0, 4, (s, v) -> SchedPoll.setPorts(s, B32, v), s -> SchedPoll.ports(s, B32)));
        l.add(c("sched_poll32.nr_ports", 16, 4, 4, (s, v) -> SchedPoll.setNrPorts(s, B32, (int) v), s -> SchedPoll.nrPorts(s, B32)));
        l.add(c("sched_poll32.timeout", 16, 8, 8, (s, v) -> SchedPoll.setTimeout(s, B32, v), s -> SchedPoll.timeout(s, B32)));
        l.add(c("sched_shutdown.reason", 4, 0, 4, (s, v) -> SchedShutdown.setReason(s, (int) v), SchedShutdown::reason));
        // event channels
        l.add(c("evtchn_send.port", 4, 0, 4, (s, v) -> EvtchnPort.setPort(s, (int) v), EvtchnPort::port));
        l.add(c("evtchn_alloc_unbound.dom", 8, 0, 2, (s, v) -> EvtchnAllocUnbound.setDom(s, (int) v), EvtchnAllocUnbound::dom));
        l.add(c("evtchn_alloc_unbound.remote_dom", 8, 2, 2, (s, v) -> EvtchnAllocUnbound.setRemoteDom(s, (int) v), EvtchnAllocUnbound::remoteDom));
        l.add(c("evtchn_alloc_unbound.port", 8, 4, 4, (s, v) -> EvtchnAllocUnbound.setPort(s, (int) v), EvtchnAllocUnbound::port));
        l.add(c("evtchn_bind_interdomain.remote_dom", 12, 0, 2, (s, v) -> EvtchnBindInterdomain.setRemoteDom(s, (int) v), EvtchnBindInterdomain::remoteDom));
        l.add(c("evtchn_bind_interdomain.remote_port", 12, 4, 4, (s, v) -> EvtchnBindInterdomain.setRemotePort(s, (int) v), EvtchnBindInterdomain::remotePort));
        l.add(c("evtchn_bind_interdomain.local_port", 12, 8, 4, (s, v) -> EvtchnBindInterdomain.setLocalPort(s, (int) v), EvtchnBindInterdomain::localPort));
        l.add(c("evtchn_bind_virq.virq", 12, 0, 4, (s, v) -> EvtchnBindVirq.setVirq(s, (int) v), EvtchnBindVirq::virq));
        l.add(c("evtchn_bind_virq.vcpu", 12, 4, 4, (s, v) -> EvtchnBindVirq.setVcpu(s, (int) v), EvtchnBindVirq::vcpu));
        l.add(c("evtchn_bind_virq.port", 12, 8, 4, (s, v) -> EvtchnBindVirq.setPort(s, (int) v), EvtchnBindVirq::port));
        l.add(c("evtchn_bind_ipi.vcpu", 8, 0, 4, (s, v) -> EvtchnBindIpi.setVcpu(s, (int) v), EvtchnBindIpi::vcpu));
        l.add(c("evtchn_bind_ipi.port", 8, 4, 4, (s, v) -> EvtchnBindIpi.setPort(s, (int) v), EvtchnBindIpi::port));
        l.add(c("evtchn_init_control.control_gfn", 24, 0, 8, (s, v) -> EvtchnInitControl.setControlGfn(s, v), EvtchnInitControl::controlGfn));
        l.add(c("evtchn_init_control.offset", 24, 8, 4, (s, v) -> EvtchnInitControl.setOffset(s, (int) v), EvtchnInitControl::offset));
        l.add(c("evtchn_init_control.vcpu", 24, 12, 4, (s, v) -> EvtchnInitControl.setVcpu(s, (int) v), EvtchnInitControl::vcpu));
        l.add(c("evtchn_init_control.link_bits", 24, 16, 1, (s, v) -> EvtchnInitControl.setLinkBits(s, (int) v), EvtchnInitControl::linkBits));
        l.add(c("evtchn_expand_array.array_gfn", 8, 0, 8, (s, v) -> EvtchnExpandArray.setArrayGfn(s, v), EvtchnExpandArray::arrayGfn));
        l.add(c("evtchn_set_priority.port", 8, 0, 4, (s, v) -> EvtchnSetPriority.setPort(s, (int) v), EvtchnSetPriority::port));
        l.add(c("evtchn_set_priority.priority", 8, 4, 4, (s, v) -> EvtchnSetPriority.setPriority(s, (int) v), EvtchnSetPriority::priority));
        l.add(c("evtchn_fifo_control_block.ready", 72, 0, 4, (s, v) -> EvtchnFifoControlBlock.setReady(s, (int) v), EvtchnFifoControlBlock::ready));
        l.add(c("evtchn_fifo_control_block.head[0]", 72, 8, 4, (s, v) -> EvtchnFifoControlBlock.setHead(s, 0, (int) v), s -> EvtchnFifoControlBlock.head(s, 0)));
        l.add(c("evtchn_fifo_control_block.head[15]", 72, 68, 4, (s, v) -> EvtchnFifoControlBlock.setHead(s, 15, (int) v), s -> EvtchnFifoControlBlock.head(s, 15)));
        l.add(c("evtchn_bind_vcpu.port", 8, 0, 4, (s, v) -> EvtchnBindVcpu.setPort(s, (int) v), EvtchnBindVcpu::port));
        l.add(c("evtchn_bind_vcpu.vcpu", 8, 4, 4, (s, v) -> EvtchnBindVcpu.setVcpu(s, (int) v), EvtchnBindVcpu::vcpu));
        l.add(c("evtchn_status.dom", 24, 0, 2, (s, v) -> EvtchnStatusArg.setDom(s, (int) v), EvtchnStatusArg::dom));
        l.add(c("evtchn_status.port", 24, 4, 4, (s, v) -> EvtchnStatusArg.setPort(s, (int) v), EvtchnStatusArg::port));
        l.add(c("evtchn_status.status", 24, 8, 4, (s, v) -> EvtchnStatusArg.setStatus(s, (int) v), EvtchnStatusArg::status));
        l.add(c("evtchn_status.vcpu", 24, 12, 4, (s, v) -> EvtchnStatusArg.setVcpu(s, (int) v), EvtchnStatusArg::vcpu));
        l.add(c("evtchn_status.u.unbound.dom", 24, 16, 2, (s, v) -> EvtchnStatusArg.setUUnboundDom(s, (int) v), EvtchnStatusArg::uUnboundDom));
        l.add(c("evtchn_status.u.interdomain.port", 24, 20, 4, (s, v) -> EvtchnStatusArg.setUInterdomainPort(s, (int) v), EvtchnStatusArg::uInterdomainPort));
        l.add(c("evtchn_status.u.virq", 24, 16, 4, (s, v) -> EvtchnStatusArg.setUVirq(s, (int) v), EvtchnStatusArg::uVirq));
        // memory, HVM, version, grants
        l.add(c("xen_add_to_physmap.domid", 24, 0, 2, (s, v) -> XenAddToPhysmap.setDomid(s, (int) v), XenAddToPhysmap::domid));
        l.add(c("xen_add_to_physmap.size", 24, 2, 2, (s, v) -> XenAddToPhysmap.setSize(s, (int) v), XenAddToPhysmap::size));
        l.add(c("xen_add_to_physmap.space", 24, 4, 4, (s, v) -> XenAddToPhysmap.setSpace(s, (int) v), XenAddToPhysmap::space));
        l.add(c("xen_add_to_physmap64.idx", 24, 8, 8, (s, v) -> XenAddToPhysmap.setIdx(s, B64, v), s -> XenAddToPhysmap.idx(s, B64)));
        l.add(c("xen_add_to_physmap64.gpfn", 24, 16, 8, (s, v) -> XenAddToPhysmap.setGpfn(s, B64, v), s -> XenAddToPhysmap.gpfn(s, B64)));
        l.add(c("xen_add_to_physmap32.idx", 16, 8, 4, (s, v) -> XenAddToPhysmap.setIdx(s, B32, v), s -> XenAddToPhysmap.idx(s, B32)));
        l.add(c("xen_add_to_physmap32.gpfn", 16, 12, 4, (s, v) -> XenAddToPhysmap.setGpfn(s, B32, v), s -> XenAddToPhysmap.gpfn(s, B32)));
        l.add(c("xen_hvm_param.domid", 16, 0, 2, (s, v) -> XenHvmParam.setDomid(s, (int) v), XenHvmParam::domid));
        l.add(c("xen_hvm_param.index", 16, 4, 4, (s, v) -> XenHvmParam.setIndex(s, (int) v), XenHvmParam::index));
        l.add(c("xen_hvm_param.value", 16, 8, 8, XenHvmParam::setValue, XenHvmParam::value));
        l.add(c("xen_feature_info.submap", 8, 4, 4, (s, v) -> XenFeatureInfo.setSubmap(s, (int) v), XenFeatureInfo::submap));
        l.add(c("xen_memory_reservation64.extent_start", 32, 0, 8, (s, v) -> XenMemoryReservation.setExtentStart(s, B64, v), s -> XenMemoryReservation.extentStart(s, B64)));
        l.add(c("xen_memory_reservation64.nr_extents", 32, 8, 8, (s, v) -> XenMemoryReservation.setNrExtents(s, B64, v), s -> XenMemoryReservation.nrExtents(s, B64)));
        l.add(c("xen_memory_reservation64.extent_order", 32, 16, 4, (s, v) -> XenMemoryReservation.setExtentOrder(s, B64, (int) v), s -> XenMemoryReservation.extentOrder(s, B64)));
        l.add(c("xen_memory_reservation64.mem_flags", 32, 20, 4, (s, v) -> XenMemoryReservation.setMemFlags(s, B64, (int) v), s -> XenMemoryReservation.memFlags(s, B64)));
        l.add(c("xen_memory_reservation64.domid", 32, 24, 2, (s, v) -> XenMemoryReservation.setDomid(s, B64, (int) v), s -> XenMemoryReservation.domid(s, B64)));
        l.add(c("xen_memory_reservation32.extent_start", 20, 0, 4, (s, v) -> XenMemoryReservation.setExtentStart(s, B32, v), s -> XenMemoryReservation.extentStart(s, B32)));
        l.add(c("xen_memory_reservation32.nr_extents", 20, 4, 4, (s, v) -> XenMemoryReservation.setNrExtents(s, B32, v), s -> XenMemoryReservation.nrExtents(s, B32)));
        l.add(c("xen_memory_reservation32.extent_order", 20, 8, 4, (s, v) -> XenMemoryReservation.setExtentOrder(s, B32, (int) v), s -> XenMemoryReservation.extentOrder(s, B32)));
        l.add(c("xen_memory_reservation32.mem_flags", 20, 12, 4, (s, v) -> XenMemoryReservation.setMemFlags(s, B32, (int) v), s -> XenMemoryReservation.memFlags(s, B32)));
        l.add(c("xen_memory_reservation32.domid", 20, 16, 2, (s, v) -> XenMemoryReservation.setDomid(s, B32, (int) v), s -> XenMemoryReservation.domid(s, B32)));
        l.add(c("xen_add_to_physmap_batch.domid", 32, 0, 2, (s, v) -> XenAddToPhysmapBatch.setDomid(s, (int) v), XenAddToPhysmapBatch::domid));
        l.add(c("xen_add_to_physmap_batch.space", 32, 2, 2, (s, v) -> XenAddToPhysmapBatch.setSpace(s, (int) v), XenAddToPhysmapBatch::space));
        l.add(c("xen_add_to_physmap_batch.size", 32, 4, 2, (s, v) -> XenAddToPhysmapBatch.setSize(s, (int) v), XenAddToPhysmapBatch::size));
        l.add(c("xen_add_to_physmap_batch.u", 32, 6, 2, (s, v) -> XenAddToPhysmapBatch.setU(s, (int) v), XenAddToPhysmapBatch::u));
        l.add(c("xen_add_to_physmap_batch64.idxs", 32, 8, 8, (s, v) -> XenAddToPhysmapBatch.setIdxs(s, B64, v), s -> XenAddToPhysmapBatch.idxs(s, B64)));
        l.add(c("xen_add_to_physmap_batch64.gpfns", 32, 16, 8, (s, v) -> XenAddToPhysmapBatch.setGpfns(s, B64, v), s -> XenAddToPhysmapBatch.gpfns(s, B64)));
        l.add(c("xen_add_to_physmap_batch64.errs", 32, 24, 8, (s, v) -> XenAddToPhysmapBatch.setErrs(s, B64, v), s -> XenAddToPhysmapBatch.errs(s, B64)));
        l.add(c("xen_add_to_physmap_batch32.idxs", 20, 8, 4, (s, v) -> XenAddToPhysmapBatch.setIdxs(s, B32, v), s -> XenAddToPhysmapBatch.idxs(s, B32)));
        l.add(c("xen_add_to_physmap_batch32.gpfns", 20, 12, 4, (s, v) -> XenAddToPhysmapBatch.setGpfns(s, B32, v), s -> XenAddToPhysmapBatch.gpfns(s, B32)));
        l.add(c("xen_add_to_physmap_batch32.errs", 20, 16, 4, (s, v) -> XenAddToPhysmapBatch.setErrs(s, B32, v), s -> XenAddToPhysmapBatch.errs(s, B32)));
        l.add(c("xen_memory_map.nr_entries", 16, 0, 4, (s, v) -> XenMemoryMap.setNrEntries(s, (int) v), XenMemoryMap::nrEntries));
        l.add(c("xen_memory_map64.buffer", 16, 8, 8, (s, v) -> XenMemoryMap.setBuffer(s, B64, v), s -> XenMemoryMap.buffer(s, B64)));
        l.add(c("xen_memory_map32.buffer", 8, 4, 4, (s, v) -> XenMemoryMap.setBuffer(s, B32, v), s -> XenMemoryMap.buffer(s, B32)));
        l.add(c("e820entry.addr", 20, 0, 8, E820Entry::setAddr, E820Entry::addr));
        l.add(c("e820entry.size", 20, 8, 8, E820Entry::setSize, E820Entry::size));
        l.add(c("e820entry.type", 20, 16, 4, (s, v) -> E820Entry.setType(s, (int) v), E820Entry::type));
        l.add(c("grant_entry_v1.flags", 8, 0, 2, (s, v) -> GrantEntryV1.setFlags(s, (int) v), GrantEntryV1::flags));
        l.add(c("gnttab_setup_table.dom", 24, 0, 2, (s, v) -> GnttabSetupTable.setDom(s, (int) v), GnttabSetupTable::dom));
        l.add(c("gnttab_setup_table.nr_frames", 24, 4, 4, (s, v) -> GnttabSetupTable.setNrFrames(s, (int) v), GnttabSetupTable::nrFrames));
        l.add(c("gnttab_setup_table.status", 24, 8, 2, (s, v) -> GnttabSetupTable.setStatus(s, (int) v), GnttabSetupTable::status));
        l.add(c("gnttab_setup_table64.frame_list", 24, 16, 8, (s, v) -> GnttabSetupTable.setFrameList(s, B64, v), s -> GnttabSetupTable.frameList(s, B64)));
        l.add(c("gnttab_setup_table32.frame_list", 16, 12, 4, (s, v) -> GnttabSetupTable.setFrameList(s, B32, v), s -> GnttabSetupTable.frameList(s, B32)));
        l.add(c("gnttab_query_size.dom", 16, 0, 2, (s, v) -> GnttabQuerySize.setDom(s, (int) v), GnttabQuerySize::dom));
        l.add(c("gnttab_query_size.nr_frames", 16, 4, 4, (s, v) -> GnttabQuerySize.setNrFrames(s, (int) v), GnttabQuerySize::nrFrames));
        l.add(c("gnttab_query_size.max_nr_frames", 16, 8, 4, (s, v) -> GnttabQuerySize.setMaxNrFrames(s, (int) v), GnttabQuerySize::maxNrFrames));
        l.add(c("gnttab_query_size.status", 16, 12, 2, (s, v) -> GnttabQuerySize.setStatus(s, (int) v), GnttabQuerySize::status));
        l.add(c("gnttab_set_version.version", 4, 0, 4, (s, v) -> GnttabSetVersion.setVersion(s, (int) v), GnttabSetVersion::version));
        l.add(c("gnttab_get_version.dom", 8, 0, 2, (s, v) -> GnttabGetVersion.setDom(s, (int) v), GnttabGetVersion::dom));
        l.add(c("gnttab_get_version.version", 8, 4, 4, (s, v) -> GnttabGetVersion.setVersion(s, (int) v), GnttabGetVersion::version));
        l.add(c("grant_entry_v1.domid", 8, 2, 2, (s, v) -> GrantEntryV1.setDomid(s, (int) v), GrantEntryV1::domid));
        l.add(c("grant_entry_v1.frame", 8, 4, 4, (s, v) -> GrantEntryV1.setFrame(s, (int) v), GrantEntryV1::frame));
        // XenStore and console
        l.add(c("xsd_sockmsg.type", 16, 0, 4, (s, v) -> XsdSockmsg.setType(s, (int) v), XsdSockmsg::type));
        l.add(c("xsd_sockmsg.req_id", 16, 4, 4, (s, v) -> XsdSockmsg.setReqId(s, (int) v), XsdSockmsg::reqId));
        l.add(c("xsd_sockmsg.tx_id", 16, 8, 4, (s, v) -> XsdSockmsg.setTxId(s, (int) v), XsdSockmsg::txId));
        l.add(c("xsd_sockmsg.len", 16, 12, 4, (s, v) -> XsdSockmsg.setLen(s, (int) v), XsdSockmsg::len));
        l.add(c("xenstore_domain_interface.req[1023]", 2076, 1023, 1, (s, v) -> XenstoreDomainInterface.setReq(s, 1023, (int) v), s -> XenstoreDomainInterface.req(s, 1023)));
        l.add(c("xenstore_domain_interface.rsp[0]", 2076, 1024, 1, (s, v) -> XenstoreDomainInterface.setRsp(s, 0, (int) v), s -> XenstoreDomainInterface.rsp(s, 0)));
        l.add(c("xenstore_domain_interface.req_cons", 2076, 2048, 4, (s, v) -> XenstoreDomainInterface.setReqCons(s, (int) v), XenstoreDomainInterface::reqCons));
        l.add(c("xenstore_domain_interface.req_prod", 2076, 2052, 4, (s, v) -> XenstoreDomainInterface.setReqProd(s, (int) v), XenstoreDomainInterface::reqProd));
        l.add(c("xenstore_domain_interface.rsp_cons", 2076, 2056, 4, (s, v) -> XenstoreDomainInterface.setRspCons(s, (int) v), XenstoreDomainInterface::rspCons));
        l.add(c("xenstore_domain_interface.rsp_prod", 2076, 2060, 4, (s, v) -> XenstoreDomainInterface.setRspProd(s, (int) v), XenstoreDomainInterface::rspProd));
        l.add(c("xenstore_domain_interface.server_features", 2076, 2064, 4, (s, v) -> XenstoreDomainInterface.setServerFeatures(s, (int) v), XenstoreDomainInterface::serverFeatures));
        l.add(c("xenstore_domain_interface.connection", 2076, 2068, 4, (s, v) -> XenstoreDomainInterface.setConnection(s, (int) v), XenstoreDomainInterface::connection));
        l.add(c("xenstore_domain_interface.error", 2076, 2072, 4, (s, v) -> XenstoreDomainInterface.setError(s, (int) v), XenstoreDomainInterface::error));
        l.add(c("xencons_interface.in[5]", 3088, 5, 1, (s, v) -> XenconsInterface.setIn(s, 5, (int) v), s -> XenconsInterface.in(s, 5)));
        l.add(c("xencons_interface.out[2047]", 3088, 3071, 1, (s, v) -> XenconsInterface.setOut(s, 2047, (int) v), s -> XenconsInterface.out(s, 2047)));
        l.add(c("xencons_interface.in_cons", 3088, 3072, 4, (s, v) -> XenconsInterface.setInCons(s, (int) v), XenconsInterface::inCons));
        l.add(c("xencons_interface.in_prod", 3088, 3076, 4, (s, v) -> XenconsInterface.setInProd(s, (int) v), XenconsInterface::inProd));
        l.add(c("xencons_interface.out_cons", 3088, 3080, 4, (s, v) -> XenconsInterface.setOutCons(s, (int) v), XenconsInterface::outCons));
        l.add(c("xencons_interface.out_prod", 3088, 3084, 4, (s, v) -> XenconsInterface.setOutProd(s, (int) v), XenconsInterface::outProd));
        return l.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void writesLandAtTheirOffsetAndNowhereElse(Case k) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment all = arena.allocate(BASE + k.structSize() + 32, 8);
            all.fill(CANARY);
            MemorySegment struct = all.asSlice(BASE, k.structSize());
            k.set().accept(struct, VALUE);
            long mask = k.width() == 8 ? -1L : (1L << (8 * k.width())) - 1;
            for (long i = 0; i < all.byteSize(); i++) {
                long rel = i - BASE - k.offset();
                byte expected = rel >= 0 && rel < k.width() ? (byte) (VALUE >>> (8 * rel)) : CANARY;
                assertEquals(expected, all.get(ValueLayout.JAVA_BYTE, i), k + ": byte " + (i - BASE) + " of the structure");
            }
            assertEquals(VALUE & mask, k.get().applyAsLong(struct) & mask, k + ": read back");
        }
    }

    @Test
    void wordGettersZeroExtendFor32BitGuests() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(SharedInfo.sizeof(B32));
            SharedInfo.setEvtchnPending(s, B32, 3, -1L);
            assertEquals(0xFFFF_FFFFL, SharedInfo.evtchnPending(s, B32, 3));
            assertEquals(0, SharedInfo.evtchnPending(s, B32, 4));
            MemorySegment v = arena.allocate(VcpuInfo.sizeof(B32));
            VcpuInfo.setEvtchnPendingSel(v, B32, 0x1_8000_0001L);
            assertEquals(0x8000_0001L, VcpuInfo.evtchnPendingSel(v, B32));
            MemorySegment a = arena.allocate(8);
            a.fill((byte) 0x77);
            VcpuRegisterRunstateMemoryArea.setAddr(a, B32, 0xFFFF_FFFF_C000_1000L);
            assertEquals(0xC000_1000L, VcpuRegisterRunstateMemoryArea.addr(a, B32));
            assertEquals(0, a.get(ValueLayout.JAVA_INT_UNALIGNED, 4), "setAddr writes the whole 8-byte union");
            // A 32-bit guest that set only the pointer: the upper half is ignored.
            a.set(ValueLayout.JAVA_INT_UNALIGNED, 4, 0xDEAD);
            assertEquals(0xC000_1000L, VcpuRegisterTimeMemoryArea.addr(a, B32));
            assertEquals(-8, VcpuTimeInfo.tscShift(writeTscShift(arena, -8)));
        }
    }

    private static MemorySegment writeTscShift(Arena arena, int shift) {
        MemorySegment t = arena.allocate(32);
        VcpuTimeInfo.setTscShift(t, shift);
        return t;
    }

    @Test
    void packedRunstateAtEveryMisalignment() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment all = arena.allocate(64 + 8, 8);
            for (int base = 0; base < 8; base++) {
                all.fill(CANARY);
                MemorySegment r = all.asSlice(base, 44);
                VcpuRunstateInfo.setState(r, Runstate.BLOCKED);
                VcpuRunstateInfo.setStateEntryTime(r, B32, Runstate.XEN_RUNSTATE_UPDATE | 12345);
                for (int i = 0; i < 4; i++) {
                    VcpuRunstateInfo.setTime(r, B32, i, 1000L * (i + 1));
                }
                assertEquals(2, all.get(ValueLayout.JAVA_INT_UNALIGNED, base));
                assertEquals(Runstate.XEN_RUNSTATE_UPDATE | 12345, all.get(ValueLayout.JAVA_LONG_UNALIGNED, base + 4));
                assertEquals(4000L, all.get(ValueLayout.JAVA_LONG_UNALIGNED, base + 36));
                assertEquals(CANARY, all.get(ValueLayout.JAVA_BYTE, base + 44), "byte after the 44-byte struct");
                if (base > 0) {
                    assertEquals(CANARY, all.get(ValueLayout.JAVA_BYTE, base - 1), "byte before the struct");
                }
                assertEquals(3000L, VcpuRunstateInfo.time(r, B32, 2));
                assertEquals(Runstate.BLOCKED, VcpuRunstateInfo.state(r));
            }
        }
    }

    @Test
    void arrayIndicesAreBoundedByTheField() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(SharedInfo.sizeof(B64));
            assertThrows(IndexOutOfBoundsException.class, () -> SharedInfo.evtchnPending(s, B64, 64));
            assertThrows(IndexOutOfBoundsException.class, () -> SharedInfo.evtchnPending(s, B32, 32));
            assertThrows(IndexOutOfBoundsException.class, () -> SharedInfo.setEvtchnMask(s, B64, -1, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> SharedInfo.vcpuInfo(s, B64, 32));
            assertThrows(IndexOutOfBoundsException.class, () -> VcpuRunstateInfo.time(s, B64, 4));
            assertThrows(IndexOutOfBoundsException.class, () -> ArchVcpuInfo.pad(s, B64, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> XenstoreDomainInterface.req(s, 1024));
            assertThrows(IndexOutOfBoundsException.class, () -> XenconsInterface.in(s, 1024));
            // A segment too small for the structure is refused by the segment itself.
            MemorySegment small = arena.allocate(2340);
            assertThrows(IndexOutOfBoundsException.class, () -> SharedInfo.wcSecHi(small, B32));
        }
    }

    @Test
    void compileInfoStrings() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(144);
            s.fill((byte) 'x');
            XenCompileInfo.setCompiler(s, "gcc (jxen) 12.2");
            XenCompileInfo.setCompileBy(s, "a-very-long-user-name-that-is-cut");
            XenCompileInfo.setCompileDomain(s, "jxen.org");
            XenCompileInfo.setCompileDate(s, "2025-01-01");
            assertEquals("gcc (jxen) 12.2", XenCompileInfo.compiler(s));
            assertEquals("a-very-long-use", XenCompileInfo.compileBy(s));
            assertEquals(0, s.get(ValueLayout.JAVA_BYTE, 79), "compile_by keeps its terminating NUL");
            assertEquals('j', s.get(ValueLayout.JAVA_BYTE, 80));
            assertEquals("jxen.org", XenCompileInfo.compileDomain(s));
            assertEquals('2', s.get(ValueLayout.JAVA_BYTE, 112));
            assertEquals("2025-01-01", XenCompileInfo.compileDate(s));
        }
    }
}

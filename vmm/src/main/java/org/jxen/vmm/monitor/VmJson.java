package org.jxen.vmm.monitor;

import java.util.Map;

/**
 * The JSON of a {@link VmView.Snapshot}, as {@code /vm} serves it; docs/monitor.md shows its shape.
 * Guest-physical addresses are hexadecimal strings ({@code "0x20000"}), times are nanoseconds of Xen
 * system time, and a value that does not exist is {@code null} (a vCPU's run-loop state without KVM,
 * a port's VIRQ when it is not a VIRQ port, the XenStore when there is none).
 *
 * <p>Threads: stateless; any thread.
 */
public final class VmJson {
    private VmJson() {
    }

    public static String of(VmView.Snapshot s) {
        JsonWriter w = new JsonWriter();
        w.beginObject();
        w.name("name").value(s.name());
        w.name("domid").value(s.domid());
        w.name("systemTimeNs").value(s.systemTimeNs());
        w.name("shutdownReason").value(s.shutdownReason() < 0 ? null : org.jxen.abi.ShutdownReason.name(s.shutdownReason()));
        w.name("vcpus").beginArray();
        for (VmView.Vcpu v : s.vcpus()) {
            w.beginObject();
            w.name("id").value(v.id());
            w.name("threadState").value(v.threadState());
            w.name("runstate").value(v.runstate());
            w.name("stateEntryTimeNs").value(v.stateEntryTimeNs());
            w.name("runstateNs").beginObject();
            for (Map.Entry<String, Long> e : v.runstateNs().entrySet()) {
                w.name(e.getKey()).value(e.getValue());
            }
            w.endObject();
            w.optional("exits", v.exits());
            w.optional("hypercalls", v.hypercalls());
            w.optional("upcalls", v.upcalls());
            w.name("hasVcpuInfo").value(v.hasVcpuInfo());
            w.name("singleShotDeadlineNs").value(v.singleShotDeadlineNs());
            w.name("periodNs").value(v.periodNs());
            w.endObject();
        }
        w.endArray();
        w.name("eventChannels").beginObject();
        w.name("sharedInfoMapped").value(s.eventChannels().sharedInfoMapped());
        w.name("ports").beginArray();
        for (VmView.Port p : s.eventChannels().ports()) {
            w.beginObject();
            w.name("port").value(p.port());
            w.name("kind").value(p.kind());
            w.name("vcpu").value(p.vcpu());
            w.optional("virq", p.virq());
            w.optional("remoteDomain", p.remoteDomain());
            w.optional("remotePort", p.remotePort());
            w.name("pending").value(p.pending());
            w.name("masked").value(p.masked());
            w.endObject();
        }
        w.endArray();
        w.endObject();
        w.name("caches").beginArray();
        for (VmView.Cache c : s.caches()) {
            w.beginObject();
            w.name("name").value(c.name());
            w.name("active").value(c.active());
            w.name("valid").value(c.valid());
            w.name("gpa").value(c.gpa() < 0 ? null : "0x" + Long.toHexString(c.gpa()));
            w.name("length").value(c.length());
            w.name("lastStatus").value(c.lastStatus());
            w.name("refreshes").value(c.refreshes());
            w.name("invalidations").value(c.invalidations());
            w.name("lockMisses").value(c.lockMisses());
            w.endObject();
        }
        w.endArray();
        w.name("xenstore");
        if (s.xenstoreNodes().isPresent()) {
            w.beginObject().name("nodes").value(s.xenstoreNodes().getAsLong()).endObject();
        } else {
            w.nullValue();
        }
        w.endObject();
        return w.toString();
    }
}

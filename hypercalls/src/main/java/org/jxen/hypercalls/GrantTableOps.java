package org.jxen.hypercalls;

import org.jxen.abi.GnttabGetVersion;
import org.jxen.abi.GnttabOp;
import org.jxen.abi.GnttabQuerySize;
import org.jxen.abi.GnttabSetVersion;
import org.jxen.abi.GnttabSetupTable;
import org.jxen.abi.Gntst;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.hypercalls.mm.GuestPointerFault;
import org.jxen.hypercalls.mm.GuestVirtualMemory;

/**
 * {@code grant_table_op} for the granting guest, version 1: {@code setup_table},
 * {@code query_size}, {@code set_version} (1 only, as a Xen built with {@code gnttab=max-ver:1}),
 * {@code get_version}. The guest places its frames with {@code XENMEM_add_to_physmap}; host
 * backends map its grants through {@link GrantTable#mapForeign}. Operations that map or copy other
 * domains' grants ({@code map_grant_ref}, {@code copy}, ...) are {@code -ENOSYS}: a jxen guest is
 * the only guest domain, with no peer to map from.
 *
 * <p>Threads: {@link #handle} on vCPU threads; the state is the {@link GrantTable}'s, under the
 * domain's p2m lock.
 */
final class GrantTableOps {
    /**
     * The bits of a {@code grant_table_op} command above these are a continuation argument, which
     * only {@code GNTTABOP_cache_flush} (12) may carry ({@code GNTTABOP_CONTINUATION_ARG_SHIFT}).
     */
    private static final int CMD_BITS = 12;
    private static final int CACHE_FLUSH = 12;

    private final XenDomain domain;
    private final GrantTable table;
    private final GuestPhysmap physmap;

    GrantTableOps(XenDomain domain, GrantTable table, GuestPhysmap physmap) {
        this.domain = domain;
        this.table = table;
        this.physmap = physmap;
    }

    long handle(GuestVirtualMemory g, XenVcpu v, HypercallRequest r) {
        long cmd = r.arg(0) & 0xffff_ffffL; // unsigned int
        long uop = r.arg(1);
        int count = (int) r.arg(2); // unsigned int; Xen refuses what is negative as an int
        if (count < 0) {
            return -XenErrno.EINVAL;
        }
        int op = (int) (cmd & ((1 << CMD_BITS) - 1));
        if (op != CACHE_FLUSH && (cmd >>> CMD_BITS) != 0) {
            return -XenErrno.EINVAL;
        }
        WordSize w = r.wordSize();
        return switch (op) {
            case GnttabOp.SETUP_TABLE -> setupTable(g, w, uop, count);
            case GnttabOp.QUERY_SIZE -> querySize(g, w, uop, count);
            case GnttabOp.SET_VERSION -> setVersion(g, w, uop);
            case GnttabOp.GET_VERSION -> getVersion(g, w, uop);
            default -> -XenErrno.ENOSYS;
        };
    }

    /**
     * Grows the table to {@code nr_frames} and writes each frame's gfn (where the guest placed it,
     * or all ones) into {@code frame_list}. The result is in {@code status}; the call returns 0, or
     * {@code -EFAULT} when the argument itself cannot be read or the status written.
     */
    private long setupTable(GuestVirtualMemory g, WordSize w, long uop, int count) {
        if (count != 1) {
            return -XenErrno.EINVAL;
        }
        int dom = g.readU16(uop + GnttabSetupTable.offsetOfDom(w));
        long nr = g.readU32(uop + GnttabSetupTable.offsetOfNrFrames(w));
        long frameList = readWord(g, w, uop + GnttabSetupTable.offsetOfFrameList(w));
        int status;
        long[] gfns = new long[0];
        if (domain.self(dom) != domain.domid()) {
            status = Gntst.BAD_DOMAIN;
        } else {
            synchronized (physmap) {
                if (!table.growTo(nr)) {
                    status = Gntst.GENERAL_ERROR;
                } else {
                    status = Gntst.OKAY;
                    gfns = new long[(int) nr];
                    for (int i = 0; i < nr; i++) {
                        gfns[i] = table.setupTableFrame(i);
                    }
                }
            }
        }
        long word = w.bits() / 8;
        for (int i = 0; i < gfns.length; i++) {
            try {
                writeWord(g, w, frameList + i * word, gfns[i]);
            } catch (GuestPointerFault e) {
                status = Gntst.BAD_VIRT_ADDR;
                break;
            }
        }
        g.writeU16(uop + GnttabSetupTable.offsetOfStatus(w), status);
        return 0;
    }

    private long querySize(GuestVirtualMemory g, WordSize w, long uop, int count) {
        if (count != 1) {
            return -XenErrno.EINVAL;
        }
        int dom = g.readU16(uop + GnttabQuerySize.offsetOfDom(w));
        if (domain.self(dom) != domain.domid()) {
            g.writeU16(uop + GnttabQuerySize.offsetOfStatus(w), Gntst.BAD_DOMAIN);
            return 0;
        }
        g.writeU32(uop + GnttabQuerySize.offsetOfNrFrames(w), table.nrFrames());
        g.writeU32(uop + GnttabQuerySize.offsetOfMaxNrFrames(w), table.maxFrames());
        g.writeU16(uop + GnttabQuerySize.offsetOfStatus(w), Gntst.OKAY);
        return 0;
    }

    /** Version 1 is kept (0); 2 is {@code -ENOSYS}, anything else {@code -EINVAL}; the version in effect is written back. */
    private long setVersion(GuestVirtualMemory g, WordSize w, long uop) {
        long version = g.readU32(uop + GnttabSetVersion.offsetOfVersion(w));
        long rc = version == 1 ? 0 : version == 2 ? -XenErrno.ENOSYS : -XenErrno.EINVAL;
        g.writeU32(uop + GnttabSetVersion.offsetOfVersion(w), table.version());
        return rc;
    }

    private long getVersion(GuestVirtualMemory g, WordSize w, long uop) {
        int dom = g.readU16(uop + GnttabGetVersion.offsetOfDom(w));
        if (domain.self(dom) != domain.domid()) {
            return -XenErrno.ESRCH;
        }
        g.writeU32(uop + GnttabGetVersion.offsetOfVersion(w), table.version());
        return 0;
    }

    private static long readWord(GuestVirtualMemory g, WordSize w, long gva) {
        return w == WordSize.BITS_64 ? g.readU64(gva) : g.readU32(gva);
    }

    private static void writeWord(GuestVirtualMemory g, WordSize w, long gva, long value) {
        if (w == WordSize.BITS_64) {
            g.writeU64(gva, value);
        } else {
            g.writeU32(gva, (int) value);
        }
    }
}

package org.jxen.hypercalls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.jxen.abi.Hypercall;
import org.jxen.abi.Runstate;
import org.jxen.abi.ShutdownReason;
import org.jxen.abi.VcpuHvmContext;
import org.jxen.abi.VcpuOp;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenErrno;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;
import org.junit.jupiter.api.Test;

/**
 * VCPUOP_initialise, up, down and is_up through the dispatcher, on a three-vCPU domain whose
 * secondaries start down, with a platform that records what the domain asks of the machine.
 */
class VcpuUpDownTest extends DomainTestBase {
    static final long CTX = ARGS + 0x400;

    /** The in-memory platform, with bring-up: secondaries start down; what the domain asks is recorded. */
    static final class BringUpPlatform extends InMemoryXenPlatform {
        final List<String> calls = new ArrayList<>();
        final List<VcpuContext> contexts = new ArrayList<>();
        volatile int refuseWith;

        BringUpPlatform(UpcallSink upcalls) {
            super("test", upcalls, Console.KEEP);
            addRam(0, RAM);
        }

        @Override
        public synchronized void shutdown(int vcpuId, int reason) {
            calls.add("shutdown " + vcpuId + " " + reason);
        }

        @Override
        public boolean vcpuStartsUp(int vcpuId) {
            return false;
        }

        @Override
        public synchronized int vcpuInitialise(int vcpuId, VcpuContext context) {
            if (refuseWith != 0) {
                calls.add("refused " + vcpuId);
                return refuseWith;
            }
            calls.add("initialise " + vcpuId);
            contexts.add(context);
            return 0;
        }

        @Override
        public synchronized void vcpuUp(int vcpuId) {
            calls.add("up " + vcpuId);
        }

        @Override
        public synchronized void vcpuDown(int vcpuId) {
            calls.add("down " + vcpuId);
        }

        synchronized List<String> calls() {
            return List.copyOf(calls);
        }
    }

    BringUpPlatform bringUp;

    /** Three vCPUs, the secondaries down. */
    @Override
    InMemoryXenPlatform newPlatform() {
        bringUp = new BringUpPlatform(upcalls);
        return bringUp;
    }

    @Override
    int vcpus() {
        return 3;
    }

    long vcpuOp(int caller, int cmd, int vcpu, long arg) {
        return domain.dispatch(new HypercallRequest(caller).set(Hypercall.VCPU_OP, cmd, vcpu, arg, 0, 0, 0,
                WordSize.BITS_64, 0));
    }

    void writeContext64(long rip) {
        MemorySegment m = platform.ram().segment().asSlice(CTX, 128);
        m.fill((byte) 0);
        VcpuHvmContext.setMode(m, VcpuHvmContext.MODE_64B);
        VcpuHvmContext.set(m, VcpuHvmContext.Reg64.RIP, rip);
        VcpuHvmContext.set(m, VcpuHvmContext.Reg64.RSP, 0x9000);
        VcpuHvmContext.set(m, VcpuHvmContext.Reg64.CR0, 0x80000011L);
        VcpuHvmContext.set(m, VcpuHvmContext.Reg64.CR3, 0x5000);
        VcpuHvmContext.set(m, VcpuHvmContext.Reg64.CR4, 0x20);
        VcpuHvmContext.set(m, VcpuHvmContext.Reg64.EFER, VcpuContext.EFER_LME);
    }

    int runstate(int vcpu) {
        return domain.vcpu(vcpu).runstate().state();
    }

    @Test
    void secondariesStartDownAndOffline() {
        assertEquals(1, vcpuOp(0, VcpuOp.IS_UP, 0, 0));
        assertEquals(0, vcpuOp(0, VcpuOp.IS_UP, 1, 0));
        assertEquals(0, vcpuOp(0, VcpuOp.IS_UP, 2, 0));
        assertTrue(domain.vcpuIsUp(0) && !domain.vcpuIsUp(1));
        assertEquals(Runstate.RUNNING, runstate(0));
        assertEquals(Runstate.OFFLINE, runstate(1));
    }

    @Test
    void upNeedsInitialiseAndInitialiseIsOnce() {
        assertEquals(-XenErrno.EINVAL, vcpuOp(0, VcpuOp.UP, 1, 0), "not initialised");
        writeContext64(0x1234);
        assertEquals(0, vcpuOp(0, VcpuOp.INITIALISE, 1, CTX));
        assertEquals(List.of("initialise 1"), bringUp.calls());
        assertEquals(0x1234, bringUp.contexts.getFirst().rip());
        assertEquals(0x5000, bringUp.contexts.getFirst().cr3());
        assertEquals(0, vcpuOp(0, VcpuOp.IS_UP, 1, 0), "initialised, still down");
        assertEquals(Runstate.OFFLINE, runstate(1));
        assertEquals(-XenErrno.EEXIST, vcpuOp(0, VcpuOp.INITIALISE, 1, CTX), "initialised already");
        assertEquals(-XenErrno.EEXIST, vcpuOp(0, VcpuOp.INITIALISE, 0, CTX), "the boot vCPU is initialised");
        platform.memory().putInt(CTX, 9); // a bad mode: still EEXIST first, as in Xen
        assertEquals(-XenErrno.EEXIST, vcpuOp(1, VcpuOp.INITIALISE, 1, CTX));

        assertEquals(0, vcpuOp(0, VcpuOp.UP, 1, 0));
        assertEquals(1, vcpuOp(0, VcpuOp.IS_UP, 1, 0));
        assertEquals(Runstate.RUNNABLE, runstate(1), "woken: runnable until its thread runs it");
        assertEquals(0, vcpuOp(0, VcpuOp.UP, 1, 0), "up again: nothing to do");
        assertEquals(List.of("initialise 1", "up 1"), bringUp.calls());
    }

    @Test
    void aBadContextIsRefusedAndLeavesTheVcpuUninitialised() {
        writeContext64(0x0000800000000000L); // not canonical
        assertEquals(-XenErrno.EINVAL, vcpuOp(0, VcpuOp.INITIALISE, 2, CTX));
        platform.memory().putInt(CTX, 5);
        assertEquals(-XenErrno.EINVAL, vcpuOp(0, VcpuOp.INITIALISE, 2, CTX), "mode 5");
        writeContext64(0x1000);
        platform.memory().putInt(CTX + 4, 1);
        assertEquals(-XenErrno.EINVAL, vcpuOp(0, VcpuOp.INITIALISE, 2, CTX), "pad");
        assertEquals(-XenErrno.EFAULT, vcpuOp(0, VcpuOp.INITIALISE, 2, platform.ram().size() - 64), "past RAM");
        assertEquals(-XenErrno.EFAULT, vcpuOp(0, VcpuOp.INITIALISE, 2, -1L), "no such address");
        writeContext64(0x1000);
        bringUp.refuseWith = -XenErrno.EINVAL; // the machine cannot run it
        assertEquals(-XenErrno.EINVAL, vcpuOp(0, VcpuOp.INITIALISE, 2, CTX));
        bringUp.refuseWith = 7; // a platform's positive answer is still a refusal
        assertEquals(-XenErrno.EINVAL, vcpuOp(0, VcpuOp.INITIALISE, 2, CTX));
        assertEquals(-XenErrno.EINVAL, vcpuOp(0, VcpuOp.UP, 2, 0), "still not initialised");
        bringUp.refuseWith = 0;
        assertEquals(0, vcpuOp(0, VcpuOp.INITIALISE, 2, CTX));
        assertEquals(List.of("refused 2", "refused 2", "initialise 2"), bringUp.calls());
    }

    @Test
    void downTakesAnyVcpuOfflineAndUpBringsItBack() {
        writeContext64(0x1000);
        assertEquals(0, vcpuOp(0, VcpuOp.INITIALISE, 1, CTX));
        assertEquals(0, vcpuOp(0, VcpuOp.UP, 1, 0));
        assertEquals(0, vcpuOp(0, VcpuOp.DOWN, 1, 0), "vCPU 0 takes vCPU 1 down");
        assertEquals(0, vcpuOp(0, VcpuOp.IS_UP, 1, 0));
        assertEquals(Runstate.OFFLINE, runstate(1));
        assertEquals(0, vcpuOp(0, VcpuOp.DOWN, 1, 0), "down again: nothing to do");
        assertEquals(-XenErrno.EEXIST, vcpuOp(0, VcpuOp.INITIALISE, 1, CTX), "it stays initialised");
        assertEquals(0, vcpuOp(0, VcpuOp.UP, 1, 0), "and comes back where it stopped");
        assertEquals(0, vcpuOp(0, VcpuOp.DOWN, 0, 0), "vCPU 0 takes itself down");
        assertEquals(0, vcpuOp(1, VcpuOp.IS_UP, 0, 0));
        assertEquals(Runstate.OFFLINE, runstate(0));
        assertEquals(List.of("initialise 1", "up 1", "down 1", "up 1", "down 0"), bringUp.calls());
    }

    @Test
    void theLastVcpuGoingDownShutsTheDomainDown() {
        assertEquals(0, vcpuOp(0, VcpuOp.DOWN, 0, 0));
        assertEquals(List.of("shutdown 0 " + ShutdownReason.POWEROFF), bringUp.calls());
        assertEquals(1, vcpuOp(0, VcpuOp.IS_UP, 0, 0), "as in Xen, it is not marked down");
        assertEquals(Runstate.RUNNING, runstate(0));
        // Xen asks whether a vCPU other than the target is up: vCPU 0 is, so downing vCPU 2 (down
        // already) is no shutdown, and nothing to do
        assertEquals(0, vcpuOp(0, VcpuOp.DOWN, 2, 0));
        assertEquals(1, bringUp.calls().size());
    }

    @Test
    void unknownVcpusAreEnoent() {
        for (int cmd : new int[] {VcpuOp.INITIALISE, VcpuOp.UP, VcpuOp.DOWN, VcpuOp.IS_UP}) {
            assertEquals(-XenErrno.ENOENT, vcpuOp(0, cmd, 3, CTX), VcpuOp.name(cmd));
            assertEquals(-XenErrno.ENOENT, vcpuOp(0, cmd, -1, CTX), VcpuOp.name(cmd));
            assertEquals(-XenErrno.ENOENT, vcpuOp(0, cmd, Integer.MAX_VALUE, CTX), VcpuOp.name(cmd));
        }
        assertEquals(List.of(), bringUp.calls());
    }

    @Test
    void theDefaultPlatformStartsEveryVcpuUpAndCannotInitialise() {
        domain.close();
        platform.close();
        platform = super.newPlatform();
        domain = new XenDomain(platform, XenDomain.Config.of(2));
        assertEquals(1, vcpuOp(0, VcpuOp.IS_UP, 1, 0));
        assertEquals(Runstate.RUNNING, runstate(1));
        writeContext64(0x1000);
        assertEquals(-XenErrno.EEXIST, vcpuOp(0, VcpuOp.INITIALISE, 1, CTX));
        assertEquals(0, vcpuOp(0, VcpuOp.DOWN, 1, 0));
        assertEquals(0, vcpuOp(0, VcpuOp.IS_UP, 1, 0));
        assertEquals(0, vcpuOp(0, VcpuOp.UP, 1, 0));
        assertEquals(1, vcpuOp(0, VcpuOp.IS_UP, 1, 0));
    }

    @Test
    void aPausedVcpuIsOfflineAndComesBackRunnable() {
        writeContext64(0x1000);
        assertEquals(0, vcpuOp(0, VcpuOp.INITIALISE, 1, CTX));
        assertEquals(0, vcpuOp(0, VcpuOp.UP, 1, 0));
        domain.vcpuPaused(1, true);
        assertEquals(Runstate.OFFLINE, runstate(1));
        assertEquals(1, vcpuOp(0, VcpuOp.IS_UP, 1, 0), "paused is not down");
        domain.vcpuPaused(1, false);
        assertEquals(Runstate.RUNNABLE, runstate(1));
        assertEquals(0, vcpuOp(0, VcpuOp.DOWN, 1, 0));
        domain.vcpuPaused(1, true);
        domain.vcpuPaused(1, false);
        assertEquals(Runstate.OFFLINE, runstate(1), "down stays offline through a pause");
        domain.vcpuPaused(1, true);
        assertEquals(0, vcpuOp(0, VcpuOp.UP, 1, 0));
        assertEquals(Runstate.OFFLINE, runstate(1), "up while paused: offline until resumed");
        domain.vcpuPaused(1, false);
        assertEquals(Runstate.RUNNABLE, runstate(1));
    }
}

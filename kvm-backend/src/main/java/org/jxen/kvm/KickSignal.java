package org.jxen.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jxen.gpc.HostCallException;
import org.jxen.gpc.Libc;

/**
 * The signal that kicks a vCPU thread out of {@code KVM_RUN} ({@code EINTR}), as QEMU and
 * Firecracker do. Its handler does nothing: it is one {@code ret} instruction in an executable page
 * that jxen writes itself, so no Java code runs in signal context and no native library of our own
 * is needed. Installed once per process, without {@code SA_RESTART}, for a real-time signal that
 * the JVM does not use; refused if something else already handles that signal.
 *
 * <p>Thread safety: {@link #install()} may be called from any thread, any number of times.
 */
final class KickSignal {
    /** {@code SIGRTMIN + 6} with glibc (SIGRTMIN is 34 there: NPTL keeps 32 and 33). */
    static final int SIGNAL = 40;
    /** {@code sizeof(struct sigaction)} on x86-64 glibc: handler 8, mask 128, flags 4 (+4), restorer 8. */
    private static final long SIGACTION_SIZE = 152;
    private static volatile boolean installed;

    private KickSignal() {
    }

    static void install() {
        if (installed) {
            return;
        }
        synchronized (KickSignal.class) {
            if (installed) {
                return;
            }
            long page = Libc.mmap(4096, Libc.PROT_READ | Libc.PROT_WRITE | Libc.PROT_EXEC,
                    Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
            MemorySegment code = MemorySegment.ofAddress(page).reinterpret(4096);
            code.set(ValueLayout.JAVA_BYTE, 0, (byte) 0xc3); // ret
            try (Arena a = Arena.ofConfined()) {
                MemorySegment old = a.allocate(SIGACTION_SIZE, 8);
                if (Libc.sigaction(SIGNAL, MemorySegment.NULL, old) != 0) {
                    throw new HostCallException("sigaction", Libc.errno(), "query signal " + SIGNAL);
                }
                long oldHandler = old.get(ValueLayout.JAVA_LONG, 0);
                if (oldHandler != 0) {
                    throw new IllegalStateException("signal " + SIGNAL + " already has a handler (0x"
                            + Long.toHexString(oldHandler) + "): jxen cannot use it to kick vCPUs");
                }
                MemorySegment act = a.allocate(SIGACTION_SIZE, 8); // empty mask, no SA_RESTART
                act.set(ValueLayout.JAVA_LONG, 0, page);
                if (Libc.sigaction(SIGNAL, act, MemorySegment.NULL) != 0) {
                    throw new HostCallException("sigaction", Libc.errno(), "install the vCPU kick handler");
                }
            }
            installed = true;
        }
    }
}

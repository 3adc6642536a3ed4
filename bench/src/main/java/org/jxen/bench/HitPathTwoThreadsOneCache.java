package org.jxen.bench;

import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/** {@link HitPath} with two threads sharing one page, so one cache (and one reference lock) for both. */
@State(Scope.Benchmark)
@Threads(2)
public class HitPathTwoThreadsOneCache extends HitPath {
    @Setup(Level.Trial)
    public void setUp(GuestPages guest) {
        page = guest.newPage();
    }
}

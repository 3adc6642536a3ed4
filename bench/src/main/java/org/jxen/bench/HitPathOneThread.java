package org.jxen.bench;

import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/** {@link HitPath} with one thread on its own page (with one thread, one cache and per-thread caches are the same case). */
@State(Scope.Thread)
@Threads(1)
public class HitPathOneThread extends HitPath {
    @Setup(Level.Trial)
    public void setUp(GuestPages guest) {
        page = guest.newPage();
    }
}

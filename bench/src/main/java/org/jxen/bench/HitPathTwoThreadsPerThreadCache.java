package org.jxen.bench;

import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/** {@link HitPath} with two threads each on its own page, with its own cache (and reference locks). */
@State(Scope.Thread)
@Threads(2)
public class HitPathTwoThreadsPerThreadCache extends HitPath {
    @Setup(Level.Trial)
    public void setUp(GuestPages guest) {
        page = guest.newPage();
    }
}

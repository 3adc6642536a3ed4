/**
 * The in-memory Xen platform and guest driver that tests, benchmarks and JCStress states build a
 * {@link org.jxen.hypercalls.XenDomain} on, so that every hypercall runs in-process: no KVM, no
 * vCPU thread, deterministic. Not for the VMM, which runs domains on KVM.
 *
 * <p>It owns:
 * <ul>
 * <li>{@link org.jxen.hypercalls.testing.InMemoryXenPlatform}: the machine in memory (guest RAM
 * it allocates, or slots over host memory the caller owns; paging off unless set; upcalls to an
 * {@link org.jxen.hypercalls.testing.UpcallSink}; console output kept or dropped; the shutdown
 * reason recorded). Variants (a hand-moved clock, vCPU bring-up, a guest TSC, a host that asks
 * vCPUs to yield) extend it.</li>
 * <li>{@link org.jxen.hypercalls.testing.UpcallSink}: what happens to an upcall: dropped, counted in
 * a plain field (one thread), counted atomically (any threads), or recorded in order.</li>
 * <li>{@link org.jxen.hypercalls.testing.DomainDriver}: the guest's side of the common set-up
 * hypercalls (map shared_info, upcall vector, bind IPI and VIRQ ports, FIFO control block and
 * event array, send), with arguments in guest memory, as one vCPU makes them.</li>
 * </ul>
 */
package org.jxen.hypercalls.testing;

/**
 * Guest-virtual memory for hypercall handlers: the translation of the guest-virtual pointers that
 * hypercalls take as arguments, by a page-table walker written in Java, and the copies to and from
 * guest memory built on it.
 *
 * <p>Owns: {@link org.jxen.hypercalls.mm.PagingMode} and {@link org.jxen.hypercalls.mm.PagingState}
 * (the calling vCPU's control registers, supplied by the platform), {@link
 * org.jxen.hypercalls.mm.PageWalker} (4-level long mode, PAE, 2-level 32-bit, paging off, with the
 * present, write and user checks of the processor), {@link org.jxen.hypercalls.mm.WalkFault} (why a
 * translation failed) and {@link org.jxen.hypercalls.mm.GuestVirtualMemory} (copies by guest-virtual
 * address, page by page, that return {@code 0} or {@code -EFAULT}).
 *
 * <p>Does not own guest-physical memory: every read and write goes through {@link
 * org.jxen.gpc.GuestMemory}, which only touches bytes inside memslots, so nothing here can write
 * outside guest RAM. Knows nothing of KVM: the KVM backend reads the control registers from the
 * vCPU's sync registers and builds a {@link org.jxen.hypercalls.mm.PagingState}.
 *
 * <p>Hypercall handlers return {@code >= 0} or a negative Xen errno and never throw for
 * guest-caused conditions: a bad guest pointer is {@code -EFAULT}.
 */
package org.jxen.hypercalls.mm;

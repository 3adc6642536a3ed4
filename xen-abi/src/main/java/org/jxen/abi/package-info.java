/**
 * Xen's guest ABI as Java values: hypercall and sub-operation numbers, errno, VIRQs,
 * HVM parameters, XenStore wire constants and CPUID leaves, and every structure a guest shares
 * with the hypervisor as a {@code java.lang.foreign} layout in its 64-bit and 32-bit guest form.
 * The guest's word size is always a value the caller passes ({@link org.jxen.abi.WordSize}),
 * never global state. Everything here is immutable and safe to use from any thread.
 */
package org.jxen.abi;

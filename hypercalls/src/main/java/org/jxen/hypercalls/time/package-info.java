/**
 * Xen time and runstate for the guest: the pvclock ({@code vcpu_time_info}) and its TSC scale,
 * the wall clock in {@code shared_info}, per-vCPU runstate accounting and the guest's registered
 * runstate area, and the host thread's run delay (steal time) from {@code schedstat}.
 *
 * <p>Every writer here follows the guest's read protocol: the {@code version} odd/even protocol of
 * {@code vcpu_time_info} and the wall clock, and {@code XEN_RUNSTATE_UPDATE} for the runstate area.
 */
package org.jxen.hypercalls.time;

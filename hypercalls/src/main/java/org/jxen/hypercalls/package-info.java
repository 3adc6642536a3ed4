/**
 * The Xen domain: hypercall dispatch and handlers, event channels, timers, runstate
 * and pvclock, the XenStore core and the PV console. Knows nothing of KVM: it reaches the vCPU
 * through a small platform interface that the KVM backend, and tests, implement.
 */
package org.jxen.hypercalls;

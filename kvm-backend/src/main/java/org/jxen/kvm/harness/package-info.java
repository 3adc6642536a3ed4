/**
 * A test harness in the spirit of Linux's KVM selftests: a VM with N vCPUs in one call, run-time
 * allocators of guest-physical pages and guest-virtual ranges (so no test picks an address), 4-level
 * page tables built by the host with kernel mappings in the supervisor half of the canonical address
 * space, one ucall slot per possible vCPU made when the VM is created, and guest asserts that reach
 * the host with file, line and values.
 */
package org.jxen.kvm.harness;

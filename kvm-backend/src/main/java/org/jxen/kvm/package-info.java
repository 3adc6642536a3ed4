/**
 * Linux KVM through {@code java.lang.foreign}: the {@code /dev/kvm}, VM and vCPU
 * handles, the vCPU run loop, the hypercall-page transport, interrupt delivery and the ELF loader.
 */
package org.jxen.kvm;

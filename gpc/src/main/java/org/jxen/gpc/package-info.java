/**
 * Guest physical memory and the gfn-to-pfn cache. Owns the memslots (guest-physical
 * ranges backed by shared host mappings), their read-copy-update snapshots, host-range
 * invalidation in the manner of KVM's MMU notifier, and {@code GfnToPfnCache}, the only way
 * other modules reach memory that they share with a guest.
 */
package org.jxen.gpc;

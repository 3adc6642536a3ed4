package org.jxen.abi;

/**
 * Feature flags that {@link XenVersion#GET_FEATURES} reports ({@code XENFEAT_*} in
 * {@code xen/features.h}): bit numbers, flag {@code n} being bit {@code n % 32} of submap
 * {@code n / 32} (there is one submap).
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class XenFeature {
    private XenFeature() {
    }

    public static final int WRITABLE_PAGE_TABLES = 0;
    public static final int WRITABLE_DESCRIPTOR_TABLES = 1;
    public static final int AUTO_TRANSLATED_PHYSMAP = 2;
    public static final int SUPERVISOR_MODE_KERNEL = 3;
    public static final int PAE_PGDIR_ABOVE_4GB = 4;
    public static final int MMU_PT_UPDATE_PRESERVE_AD = 5;
    public static final int HIGHMEM_ASSIST = 6;
    public static final int GNTTAB_MAP_AVAIL_BITS = 7;
    /** The event-channel upcall may be an interrupt vector (HVM_PARAM_CALLBACK_IRQ type 2). */
    public static final int HVM_CALLBACK_VECTOR = 8;
    /** The pvclock in vcpu_info is safe to use in an HVM guest. */
    public static final int HVM_SAFE_PVCLOCK = 9;
    public static final int HVM_PIRQS = 10;
    public static final int DOM0 = 11;
    // 12, XENFEAT_grant_map_identity, is deprecated and commented out in the header
    public static final int MEMORY_OP_VNODE_SUPPORTED = 13;
    public static final int ARM_SMCCC_SUPPORTED = 14;
    public static final int LINUX_RSDP_UNRESTRICTED = 15;
    public static final int NOT_DIRECT_MAPPED = 16;
    public static final int DIRECT_MAPPED = 17;
    /** {@code XENFEAT_NR_SUBMAPS}: submaps of 32 flags. */
    public static final int NR_SUBMAPS = 1;
}

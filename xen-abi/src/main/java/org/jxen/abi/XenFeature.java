package org.jxen.abi;

/**
 * Feature bits a guest reads with {@code XENVER_get_features} (submap 0; Xen defines one submap).
 * Which of them jxen offers is the domain's choice ({@code XenVersionOps}).
 */
public final class XenFeature {
    private XenFeature() {
    }

    public static final int WRITABLE_PAGE_TABLES = 0;
    public static final int WRITABLE_DESCRIPTOR_TABLES = 1;
    /** The guest's physical addresses are translated by the hypervisor (every HVM guest). */
    public static final int AUTO_TRANSLATED_PHYSMAP = 2;
    public static final int SUPERVISOR_MODE_KERNEL = 3;
    public static final int PAE_PGDIR_ABOVE_4GB = 4;
    public static final int MMU_PT_UPDATE_PRESERVE_AD = 5;
    public static final int HIGHMEM_ASSIST = 6;
    public static final int GNTTAB_MAP_AVAIL_BITS = 7;
    /** Events may be delivered by a vector ({@code HVM_PARAM_CALLBACK_IRQ} type 2 or the per-vCPU vector). */
    public static final int HVM_CALLBACK_VECTOR = 8;
    /** The pvclock in vcpu_time_info is safe for an HVM guest to use. */
    public static final int HVM_SAFE_PVCLOCK = 9;
    public static final int HVM_PIRQS = 10;
    public static final int DOM0 = 11;
    public static final int GRANT_MAP_IDENTITY = 12;
    public static final int MEMORY_OP_VNODE_SUPPORTED = 13;
    public static final int ARM_SMCCC_SUPPORTED = 14;
    public static final int LINUX_RSDP_UNRESTRICTED = 15;
    public static final int NOT_DIRECT_MAPPED = 16;
    public static final int DIRECT_MAPPED = 17;
    /** How many 32-bit submaps {@code XENVER_get_features} knows. */
    public static final int NR_SUBMAPS = 1;
}

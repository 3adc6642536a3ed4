package org.jxen.abi;

/**
 * Sub-operations of {@link Hypercall#MEMORY_OP} ({@code XENMEM_*} in {@code xen/memory.h}).
 *
 * <p>Constants only; immutable and safe from any thread.
 */
public final class XenMem {
    private XenMem() {
    }

    public static final int INCREASE_RESERVATION = 0;
    public static final int DECREASE_RESERVATION = 1;
    public static final int MAXIMUM_RAM_PAGE = 2;
    public static final int POPULATE_PHYSMAP = 6;
    public static final int ADD_TO_PHYSMAP = 7;
    public static final int MEMORY_MAP = 9;
    public static final int REMOVE_FROM_PHYSMAP = 15;
    public static final int ADD_TO_PHYSMAP_BATCH = 23;
    public static final int ACQUIRE_RESOURCE = 28;

    /** The Xen name of a value (e.g. "increase_reservation"), or "xenmem_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case INCREASE_RESERVATION -> "increase_reservation";
            case DECREASE_RESERVATION -> "decrease_reservation";
            case MAXIMUM_RAM_PAGE -> "maximum_ram_page";
            case POPULATE_PHYSMAP -> "populate_physmap";
            case ADD_TO_PHYSMAP -> "add_to_physmap";
            case MEMORY_MAP -> "memory_map";
            case REMOVE_FROM_PHYSMAP -> "remove_from_physmap";
            case ADD_TO_PHYSMAP_BATCH -> "add_to_physmap_batch";
            case ACQUIRE_RESOURCE -> "acquire_resource";
            default -> "xenmem_" + value;
        };
    }
}

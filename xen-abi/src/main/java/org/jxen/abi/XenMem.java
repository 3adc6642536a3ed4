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
    public static final int CURRENT_RESERVATION = 3;
    public static final int MAXIMUM_RESERVATION = 4;
    public static final int POPULATE_PHYSMAP = 6;
    public static final int ADD_TO_PHYSMAP = 7;
    public static final int MEMORY_MAP = 9;
    public static final int MAXIMUM_GPFN = 14;
    public static final int REMOVE_FROM_PHYSMAP = 15;
    public static final int ADD_TO_PHYSMAP_BATCH = 23;
    public static final int ACQUIRE_RESOURCE = 28;

    /**
     * The bits of a {@code memory_op} command above this shift are the extent (or entry) to start
     * at: Xen encodes its continuations that way ({@code MEMOP_EXTENT_SHIFT}, part of the ABI
     * although it is not in the public headers).
     */
    public static final int EXTENT_SHIFT = 6;
    /** The operation bits of a {@code memory_op} command ({@code MEMOP_CMD_MASK}). */
    public static final int CMD_MASK = (1 << EXTENT_SHIFT) - 1;
    /** {@code XENMEMF_populate_on_demand} in {@link XenMemoryReservation}'s {@code mem_flags}. */
    public static final int MEMF_POPULATE_ON_DEMAND = 1 << 16;
    /** {@code XENMEMF_get_address_bits}: the low byte of {@code mem_flags}. */
    public static final int MEMF_ADDRESS_BITS_MASK = 0xff;

    /** The Xen name of a value (e.g. "increase_reservation"), or "xenmem_" followed by the number if it has none here. */
    public static String name(int value) {
        return switch (value) {
            case INCREASE_RESERVATION -> "increase_reservation";
            case DECREASE_RESERVATION -> "decrease_reservation";
            case MAXIMUM_RAM_PAGE -> "maximum_ram_page";
            case CURRENT_RESERVATION -> "current_reservation";
            case MAXIMUM_RESERVATION -> "maximum_reservation";
            case POPULATE_PHYSMAP -> "populate_physmap";
            case ADD_TO_PHYSMAP -> "add_to_physmap";
            case MEMORY_MAP -> "memory_map";
            case MAXIMUM_GPFN -> "maximum_gpfn";
            case REMOVE_FROM_PHYSMAP -> "remove_from_physmap";
            case ADD_TO_PHYSMAP_BATCH -> "add_to_physmap_batch";
            case ACQUIRE_RESOURCE -> "acquire_resource";
            default -> "xenmem_" + value;
        };
    }
}

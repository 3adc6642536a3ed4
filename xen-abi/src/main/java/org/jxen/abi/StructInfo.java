package org.jxen.abi;

import java.lang.foreign.StructLayout;
import java.util.Objects;

/**
 * One entry of the {@link AbiCatalog}: a Xen structure, how to name it in C, and its layout in
 * both guest forms. Immutable and safe from any thread.
 *
 * @param cName    the structure's C name without {@code struct}, e.g. "shared_info"
 * @param cType    the C type expression for {@code sizeof}/{@code offsetof}, e.g.
 *                 "struct shared_info" or "xen_add_to_physmap_t"
 * @param header   the include path that declares it, e.g. "xen/xen.h"
 * @param layout64 the layout for a 64-bit guest
 * @param layout32 the layout for a 32-bit guest
 */
public record StructInfo(String cName, String cType, String header, StructLayout layout64, StructLayout layout32) {
    public StructInfo {
        Objects.requireNonNull(cName);
        Objects.requireNonNull(cType);
        Objects.requireNonNull(header);
        Objects.requireNonNull(layout64);
        Objects.requireNonNull(layout32);
    }

    /** The layout for the given guest form. */
    public StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? layout64 : layout32;
    }

    /** The size in bytes for the given guest form. */
    public long size(WordSize w) {
        return layout(w).byteSize();
    }
}

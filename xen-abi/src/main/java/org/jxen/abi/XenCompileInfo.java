package org.jxen.abi;

import static org.jxen.abi.CTypes.*;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct xen_compile_info} ({@code xen/version.h}): the answer to
 * {@link XenVersion#COMPILE_INFO}, four NUL-terminated strings; 144 bytes in both forms.
 *
 * <pre>
 *   0 compiler        char[64]
 *  64 compile_by      char[16]
 *  80 compile_domain  char[32]
 * 112 compile_date    char[32]
 * </pre>
 *
 * <p>Stateless, safe from any thread. The string accessors allocate (not for hot paths); the
 * setters truncate to leave room for the NUL and zero the rest of the field.
 */
public final class XenCompileInfo {
    private XenCompileInfo() {
    }

    private static final StructLayout L64 = MemoryLayout.structLayout(
            bytes(64).withName("compiler"),
            bytes(16).withName("compile_by"),
            bytes(32).withName("compile_domain"),
            bytes(32).withName("compile_date")).withName("xen_compile_info");
    private static final StructLayout L32 = L64;

    private static final long COMPILER = CTypes.offset(L64, "compiler");
    private static final long COMPILE_BY = CTypes.offset(L64, "compile_by");
    private static final long COMPILE_DOMAIN = CTypes.offset(L64, "compile_domain");
    private static final long COMPILE_DATE = CTypes.offset(L64, "compile_date");

    /** The layout; identical for both guest forms. */
    public static StructLayout layout(WordSize w) {
        return w == WordSize.BITS_64 ? L64 : L32;
    }

    /** 144 in both forms. */
    public static long sizeof(WordSize w) {
        return layout(w).byteSize();
    }

    public static long offsetOfCompiler(WordSize w) { return COMPILER; }
    public static long offsetOfCompileBy(WordSize w) { return COMPILE_BY; }
    public static long offsetOfCompileDomain(WordSize w) { return COMPILE_DOMAIN; }
    public static long offsetOfCompileDate(WordSize w) { return COMPILE_DATE; }

    public static String compiler(MemorySegment seg) { return getCString(seg, COMPILER, 64); }
    public static void setCompiler(MemorySegment seg, String value) { setCString(seg, COMPILER, 64, value); }
    public static String compileBy(MemorySegment seg) { return getCString(seg, COMPILE_BY, 16); }
    public static void setCompileBy(MemorySegment seg, String value) { setCString(seg, COMPILE_BY, 16, value); }
    public static String compileDomain(MemorySegment seg) { return getCString(seg, COMPILE_DOMAIN, 32); }
    public static void setCompileDomain(MemorySegment seg, String value) { setCString(seg, COMPILE_DOMAIN, 32, value); }
    public static String compileDate(MemorySegment seg) { return getCString(seg, COMPILE_DATE, 32); }
    public static void setCompileDate(MemorySegment seg, String value) { setCString(seg, COMPILE_DATE, 32, value); }
}

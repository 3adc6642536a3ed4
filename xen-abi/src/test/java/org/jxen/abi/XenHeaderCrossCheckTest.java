package org.jxen.abi;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.SequenceLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.UnionLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Checks the Java layouts and constants against Xen's real public headers: generates a C program
 * that prints {@code sizeof}, {@code _Alignof}, {@code offsetof} and member sizes for every
 * structure in {@link AbiCatalog} (recursively into nested members) and the value of every
 * constant's C macro, compiles it with {@code gcc} (and {@code gcc -m32} for the 32-bit guest
 * form), runs it, and compares. All mismatches are reported in one failure.
 *
 * <p>Where the headers or gcc are missing the test is skipped with a loud message, except under
 * {@code CI=true}, where that is a failure. A missing {@code -m32} toolchain skips only the 32-bit
 * form. {@code XEN_INCLUDE_DIR} overrides the include directory (default {@code /usr/include}).
 */
class XenHeaderCrossCheckTest {

    private static final long TIMEOUT_SECONDS = 120;
    private static final boolean CI = "true".equals(System.getenv("CI"));
    private static final String INCLUDE_DIR = System.getenv().getOrDefault("XEN_INCLUDE_DIR", "/usr/include");

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @EnumSource(WordSize.class)
    void layoutsMatchXenHeaders(WordSize w) throws Exception {
        requireToolchain(w);

        Map<String, String> expected = new LinkedHashMap<>();
        StringBuilder body = new StringBuilder();
        int fields = 0;
        for (StructInfo s : AbiCatalog.structs()) {
            StructLayout layout = s.layout(w);
            expected.put(s.cName() + " size", Long.toString(layout.byteSize()));
            expected.put(s.cName() + " align", Long.toString(layout.byteAlignment()));
            body.append(String.format(Locale.ROOT,
                    "    printf(\"%s size %%lu\\n\", (unsigned long) sizeof(%s));%n", s.cName(), s.cType()));
            body.append(String.format(Locale.ROOT,
                    "    printf(\"%s align %%lu\\n\", (unsigned long) _Alignof(%s));%n", s.cName(), s.cType()));
            List<Member> members = new ArrayList<>();
            collect(layout, "", 0, members);
            for (Member m : members) {
                String key = s.cName() + "." + m.path();
                expected.put(key, m.offset() + " " + m.size());
                body.append(String.format(Locale.ROOT,
                        "    printf(\"%s %%lu %%lu\\n\", (unsigned long) offsetof(%s, %s),"
                                + " (unsigned long) sizeof(((%s *) 0)->%s));%n",
                        key, s.cType(), m.path(), s.cType(), m.path()));
                fields++;
            }
        }

        Map<String, String> actual = parse(compileAndRun(w, "layouts", "", body.toString()));
        List<String> mismatches = compare(expected, actual);
        System.out.printf(Locale.ROOT,
                "XenHeaderCrossCheck %s: compared %d structs, %d fields (%d values) with %s/xen, %d mismatches%n",
                w, AbiCatalog.structs().size(), fields, expected.size(), INCLUDE_DIR, mismatches.size());
        if (!mismatches.isEmpty()) {
            fail(w + " layouts differ from Xen's headers (Java expected vs C actual):\n  "
                    + String.join("\n  ", mismatches));
        }
        assertTrue(fields > 100, "suspiciously few fields compared: " + fields);
    }

    @Test
    void constantsMatchXenHeaders() throws Exception {
        requireToolchain(WordSize.BITS_64);

        Map<String, String> expected = new LinkedHashMap<>();
        StringBuilder body = new StringBuilder();
        for (Map.Entry<String, Long> c : constantMacros().entrySet()) {
            expected.put("const " + c.getKey(), Long.toString(c.getValue()));
            body.append(String.format(Locale.ROOT,
                    "    printf(\"const %s %%lld\\n\", (long long) (%s));%n", c.getKey(), c.getKey()));
        }
        // The XenStore error table: names in order, each with its errno value.
        List<String> names = XenStoreError.names();
        expected.put("xsd_errors count", Integer.toString(names.size()));
        body.append("    printf(\"xsd_errors count %lu\\n\","
                + " (unsigned long) (sizeof(xsd_errors) / sizeof(xsd_errors[0])));\n");
        for (int i = 0; i < names.size(); i++) {
            expected.put("xsd_errors " + i, names.get(i) + " " + XenStoreError.errno(names.get(i)));
            body.append(String.format(Locale.ROOT,
                    "    printf(\"xsd_errors %d %%s %%d\\n\", xsd_errors[%d].errstring, xsd_errors[%d].errnum);%n",
                    i, i, i));
        }

        Map<String, String> actual = parse(compileAndRun(WordSize.BITS_64, "constants", HYPERVISOR_INTERNAL, body.toString()));
        List<String> mismatches = compare(expected, actual);
        System.out.printf(Locale.ROOT,
                "XenHeaderCrossCheck constants: compared %d macros and %d XenStore error names with %s/xen,"
                        + " %d mismatches%n",
                expected.size() - names.size() - 1, names.size(), INCLUDE_DIR, mismatches.size());
        if (!mismatches.isEmpty()) {
            fail("constants differ from Xen's headers (Java expected vs C actual):\n  "
                    + String.join("\n  ", mismatches));
        }
    }

    // ---- layouts -----------------------------------------------------------------------------

    record Member(String path, long offset, long size) {
    }

    /** Every named member, depth first; nested groups recurse, arrays of groups via element 0. */
    private static void collect(GroupLayout group, String prefix, long base, List<Member> out) {
        long offset = base;
        for (MemoryLayout m : group.memberLayouts()) {
            long at = group instanceof UnionLayout ? base : offset;
            if (!(m instanceof PaddingLayout)) {
                String name = m.name().orElseThrow(() -> new AssertionError("unnamed member in " + group));
                String path = prefix + name;
                out.add(new Member(path, at, m.byteSize()));
                if (m instanceof GroupLayout g) {
                    collect(g, path + ".", at, out);
                } else if (m instanceof SequenceLayout seq && seq.elementLayout() instanceof GroupLayout g) {
                    collect(g, path + "[0].", at, out);
                }
            }
            offset += m.byteSize();
        }
    }

    // ---- constants ---------------------------------------------------------------------------

    /** Rules mapping a constant class's fields to C macro names: prefix, and whether lower-cased. */
    private record Rule(Class<?> type, String prefix, boolean lower) {
    }

    private static final List<Rule> RULES = List.of(
            new Rule(Hypercall.class, "__HYPERVISOR_", true),
            new Rule(ConsoleIo.class, "CONSOLEIO_", true),
            new Rule(XenVersion.class, "XENVER_", true),
            new Rule(SchedOp.class, "SCHEDOP_", true),
            new Rule(ShutdownReason.class, "SHUTDOWN_", true),
            new Rule(VcpuOp.class, "VCPUOP_", true),
            new Rule(Runstate.class, "RUNSTATE_", true),
            new Rule(VcpuHvmContext.class, "VCPU_HVM_", false),
            new Rule(EvtchnOp.class, "EVTCHNOP_", true),
            new Rule(EvtchnStatus.class, "EVTCHNSTAT_", true),
            new Rule(Virq.class, "VIRQ_", false),
            new Rule(XenMem.class, "XENMEM_", true),
            new Rule(XenMapSpace.class, "XENMAPSPACE_", true),
            new Rule(HvmOp.class, "HVMOP_", true),
            new Rule(HvmParam.class, "HVM_PARAM_", false),
            new Rule(GnttabOp.class, "GNTTABOP_", true),
            new Rule(Gtf.class, "GTF_", true),
            new Rule(Gntst.class, "GNTST_", true),
            new Rule(XenErrno.class, "XEN_", false),
            new Rule(XenStoreOp.class, "XS_", false),
            new Rule(XenCpuid.class, "XEN_CPUID_", false),
            new Rule(PvClock.class, "XEN_PVCLOCK_", false),
            new Rule(XenElfNote.class, "XEN_ELFNOTE_", false),
            new Rule(Evtchn.class, "", false),
            new Rule(EvtchnFifo.class, "EVTCHN_FIFO_", false),
            new Rule(SharedInfo.class, "XEN_", false),
            new Rule(XsdSockmsg.class, "XENSTORE_", false),
            new Rule(XenstoreDomainInterface.class, "XENSTORE_", false),
            new Rule(XenAbi.class, "", false),
            new Rule(HypercallPage.class, "", false),
            new Rule(XenFeature.class, "XENFEAT_", true));

    /** Java constant (Class.FIELD) to C expression where the rule does not fit; "" = no C name. */
    private static final Map<String, String> OVERRIDES = Map.ofEntries(
            Map.entry("XenVersion.EXTRAVERSION_LEN", "sizeof(xen_extraversion_t)"),
            Map.entry("XenVersion.COMPILE_INFO_LEN", "sizeof(xen_compile_info_t)"),
            Map.entry("XenVersion.CAPABILITIES_LEN", "XEN_CAPABILITIES_INFO_LEN"),
            Map.entry("XenVersion.CHANGESET_LEN", "sizeof(xen_changeset_info_t)"),
            Map.entry("VcpuOp.VCPU_SSHOTTMR_FUTURE", "VCPU_SSHOTTMR_future"),
            Map.entry("Runstate.XEN_RUNSTATE_UPDATE", "XEN_RUNSTATE_UPDATE"),
            Map.entry("Virq.NR_VIRQS", "NR_VIRQS"),
            Map.entry("HvmParam.HVM_NR_PARAMS", "HVM_NR_PARAMS"),
            Map.entry("HvmParam.CALLBACK_TYPE_SHIFT", ""),
            Map.entry("XenMem.EXTENT_SHIFT", ""),
            Map.entry("XenMem.CMD_MASK", ""),
            Map.entry("XenMem.MEMF_POPULATE_ON_DEMAND", "XENMEMF_populate_on_demand"),
            Map.entry("XenMem.MEMF_ADDRESS_BITS_MASK", "XENMEMF_get_address_bits(0xffffffffu)"),
            Map.entry("XenMapSpace.IDX_GRANT_TABLE_STATUS", "XENMAPIDX_grant_table_status"),
            Map.entry("XenCpuid.BASE", "XEN_CPUID_FIRST_LEAF"),
            Map.entry("XenCpuid.BASE_STEP", ""),
            Map.entry("XenCpuid.LEAF_SIGNATURE", ""),
            Map.entry("XenCpuid.LEAF_VERSION", ""),
            Map.entry("XenCpuid.LEAF_HYPERCALL", ""),
            Map.entry("XenCpuid.LEAF_TIME", ""),
            Map.entry("XenCpuid.LEAF_HVM", ""),
            Map.entry("XenCpuid.HVM_APIC_ACCESS_VIRT", "XEN_HVM_CPUID_APIC_ACCESS_VIRT"),
            Map.entry("XenCpuid.HVM_X2APIC_VIRT", "XEN_HVM_CPUID_X2APIC_VIRT"),
            Map.entry("XenCpuid.HVM_IOMMU_MAPPINGS", "XEN_HVM_CPUID_IOMMU_MAPPINGS"),
            Map.entry("XenCpuid.HVM_VCPU_ID_PRESENT", "XEN_HVM_CPUID_VCPU_ID_PRESENT"),
            Map.entry("XenCpuid.HVM_DOMID_PRESENT", "XEN_HVM_CPUID_DOMID_PRESENT"),
            Map.entry("XenCpuid.HVM_EXT_DEST_ID", "XEN_HVM_CPUID_EXT_DEST_ID"),
            Map.entry("XenCpuid.HVM_UPCALL_VECTOR", "XEN_HVM_CPUID_UPCALL_VECTOR"),
            Map.entry("PvClock.TSC_STABLE", "XEN_PVCLOCK_TSC_STABLE_BIT"),
            Map.entry("XenFeature.ARM_SMCCC_SUPPORTED", "XENFEAT_ARM_SMCCC_supported"),
            Map.entry("XenFeature.NR_SUBMAPS", "XENFEAT_NR_SUBMAPS"),
            Map.entry("XenElfNote.HVM_START_MAGIC_VALUE", "XEN_HVM_START_MAGIC_VALUE"),
            Map.entry("XenAbi.XEN_VERSION_MAJOR", ""),
            Map.entry("XenAbi.XEN_VERSION_MINOR", ""),
            Map.entry("XenAbi.XEN_VERSION", ""),
            Map.entry("XenAbi.XEN_INTERFACE_VERSION", "__XEN_LATEST_INTERFACE_VERSION__"),
            Map.entry("EvtchnFifo.EVENT_WORDS_PER_PAGE", ""), // Xen-internal (common/event_fifo.c)
            Map.entry("EvtchnFifo.MAX_EVENT_ARRAY_PAGES", ""),
            Map.entry("SharedInfo.LEGACY_MAX_VCPUS", "XEN_LEGACY_MAX_VCPUS"),
            Map.entry("XenstoreDomainInterface.RING_SIZE", "XENSTORE_RING_SIZE"),
            Map.entry("HypercallPage.ENTRIES", ""),
            Map.entry("HypercallPage.ENTRY_SIZE", ""),
            Map.entry("HypercallPage.PAGE_SIZE", ""),
            Map.entry("HypercallPage.IRET_SLOT", "__HYPERVISOR_iret"),
            Map.entry("HypercallPage.DEFAULT_MSR", ""),
            Map.entry("HypercallPage.OP_MOV_EAX_IMM32", ""),
            Map.entry("HypercallPage.OP_0F", ""),
            Map.entry("HypercallPage.OP_01", ""),
            Map.entry("HypercallPage.OP_VMCALL_MODRM", ""),
            Map.entry("HypercallPage.OP_VMMCALL_MODRM", ""),
            Map.entry("HypercallPage.OP_UD2_2", ""),
            Map.entry("HypercallPage.OP_RET", ""),
            Map.entry("HypercallPage.OP_INT3", ""));

    /**
     * EINTR, ERESTART and EVTCHNOP_reset_cont exist only for the hypervisor ({@code __XEN__}); jxen
     * is one, so they are checked too: these two self-contained headers are included first with
     * {@code __XEN__} defined, and everything else without it.
     */
    private static final String HYPERVISOR_INTERNAL = "#include <xen/xen.h>\n"
            + "#define __XEN__\n#include <xen/errno.h>\n#include <xen/event_channel.h>\n#undef __XEN__\n";

    private static Map<String, Long> constantMacros() throws IllegalAccessException {
        Map<String, Long> out = new LinkedHashMap<>();
        for (Rule r : RULES) {
            for (Field f : r.type().getDeclaredFields()) {
                int mod = f.getModifiers();
                if (!Modifier.isPublic(mod) || !Modifier.isStatic(mod) || !Modifier.isFinal(mod)
                        || !(f.getType() == int.class || f.getType() == long.class)) {
                    continue;
                }
                String key = r.type().getSimpleName() + "." + f.getName();
                String macro = OVERRIDES.get(key);
                if (macro == null) {
                    macro = r.prefix() + (r.lower() ? f.getName().toLowerCase(Locale.ROOT) : f.getName());
                }
                if (!macro.isEmpty()) {
                    out.put(macro, ((Number) f.get(null)).longValue());
                }
            }
        }
        return out;
    }

    // ---- toolchain ---------------------------------------------------------------------------

    private void requireToolchain(WordSize w) throws Exception {
        Path xenH = Path.of(INCLUDE_DIR, "xen", "xen.h");
        String arch = System.getProperty("os.arch");
        String problem = null;
        if (!Files.isRegularFile(xenH)) {
            problem = xenH + " not found; install libxen-dev (Debian/Ubuntu) or set XEN_INCLUDE_DIR";
        } else if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            problem = "the host is " + arch + ", not x86_64: gcc would compile Xen's headers for the wrong architecture";
        } else {
            Result r = run(List.of("gcc", "--version"));
            if (r == null || r.exit() != 0) {
                problem = "gcc not found or not working; install gcc";
            }
        }
        if (problem != null) {
            if (CI) {
                fail("CI=true but the Xen header cross-check cannot run: " + problem);
            }
            System.err.println("SKIPPED: XenHeaderCrossCheckTest: " + problem);
            Assumptions.assumeTrue(false, problem);
        }
        if (w == WordSize.BITS_32) {
            Path probe = dir.resolve("probe32.c");
            Files.writeString(probe, "#include <stdint.h>\n#include <stdio.h>\n"
                    + "int main(void) { printf(\"%d\\n\", (int) sizeof(void *)); return sizeof(void *) == 4 ? 0 : 1; }\n");
            Path exe = dir.resolve("probe32");
            Result c = run(List.of("gcc", "-m32", "-o", exe.toString(), probe.toString()));
            Result x = c != null && c.exit() == 0 ? run(List.of(exe.toString())) : null;
            if (x == null || x.exit() != 0) {
                String why = "gcc -m32 cannot build and run a trivial program (install gcc-multilib)"
                        + (c != null ? ": " + c.stderr().strip() : "");
                if (CI) {
                    // .ci/run installs gcc-multilib: in CI the 32-bit check must run
                    fail("CI=true but the 32-bit Xen header cross-check cannot run: " + why);
                }
                System.err.println("SKIPPED: XenHeaderCrossCheckTest 32-bit guest form: " + why);
                Assumptions.assumeTrue(false, why);
            }
        }
    }

    private String compileAndRun(WordSize w, String name, String prelude, String body) throws Exception {
        Set<String> headers = new LinkedHashSet<>();
        headers.add("xen/xen.h");
        for (StructInfo s : AbiCatalog.structs()) {
            headers.add(s.header());
        }
        headers.addAll(List.of("xen/errno.h", "xen/elfnote.h", "xen/arch-x86/cpuid.h",
                "xen/arch-x86/hvm/start_info.h", "xen/hvm/params.h", "xen/features.h"));
        StringBuilder src = new StringBuilder();
        src.append("/* generated by XenHeaderCrossCheckTest */\n");
        src.append(String.format(Locale.ROOT, "#define __XEN_INTERFACE_VERSION__ 0x%08x%n", XenAbi.XEN_INTERFACE_VERSION));
        src.append("#include <stddef.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <errno.h>\n");
        src.append(prelude);
        for (String h : headers) {
            src.append("#include <").append(h).append(">\n");
        }
        src.append("\nint main(void)\n{\n").append(body).append("    return 0;\n}\n");

        Path c = dir.resolve(name + "-" + w + ".c");
        Path exe = dir.resolve(name + "-" + w);
        Files.writeString(c, src);
        List<String> cmd = new ArrayList<>(List.of("gcc", "-std=gnu11", "-O0"));
        if (w == WordSize.BITS_32) {
            cmd.add("-m32");
        }
        if (!INCLUDE_DIR.equals("/usr/include")) {
            cmd.add("-I" + INCLUDE_DIR);
        }
        cmd.addAll(List.of("-o", exe.toString(), c.toString()));
        Result compiled = run(cmd);
        if (compiled == null || compiled.exit() != 0) {
            fail("gcc failed to compile the generated " + c + " (" + String.join(" ", cmd) + "):\n"
                    + (compiled == null ? "(did not run)" : compiled.stderr()) + "\n--- source ---\n" + src);
        }
        Result out = run(List.of(exe.toString()));
        if (out == null || out.exit() != 0) {
            fail("the generated program " + exe + " failed: " + (out == null ? "(did not run)" : out.stderr()));
        }
        return out.stdout();
    }

    record Result(int exit, String stdout, String stderr) {
    }

    /** Runs a command with a timeout, collecting its output in files; null if it could not start. */
    private Result run(List<String> cmd) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        } catch (IOException e) {
            return null;
        }
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            fail(String.join(" ", cmd) + " did not finish within " + TIMEOUT_SECONDS + " s");
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    /** Lines "key value..." where the key is everything up to the first space after the name. */
    private static Map<String, String> parse(String output) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] parts = line.strip().split(" ", 3);
            if (parts[0].equals("const") || parts[0].equals("xsd_errors")
                    || parts[1].equals("size") || parts[1].equals("align")) {
                m.put(parts[0] + " " + parts[1], parts[2]);
            } else {
                m.put(parts[0], parts[1] + (parts.length > 2 ? " " + parts[2] : ""));
            }
        }
        return m;
    }

    private static List<String> compare(Map<String, String> expected, Map<String, String> actual) {
        List<String> mismatches = new ArrayList<>();
        for (Map.Entry<String, String> e : expected.entrySet()) {
            String got = actual.get(e.getKey());
            if (got == null) {
                mismatches.add(e.getKey() + ": no value printed by the C program");
            } else if (!got.equals(e.getValue())) {
                mismatches.add(e.getKey() + ": Java " + e.getValue() + " vs C " + got);
            }
        }
        return mismatches;
    }
}

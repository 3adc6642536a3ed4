package org.jxen.stress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.openjdk.jcstress.annotations.JCStressTest;

/**
 * Checks that the JCStress annotation processor ran: every class of {@code org.jxen.stress}
 * annotated {@link JCStressTest} is listed in {@code META-INF/TestList} of the build output, and
 * there are at least 19 (10 of the gfn-to-pfn cache, 6 of the 2-level and 3 of the FIFO event
 * channels). Without the processor (JDK 23+ runs none from the class path) the list would be empty
 * and JCStress would run nothing and report success.
 */
class StressTestListTest {
    private static final Path CLASSES = Path.of("target", "classes");
    private static final int AT_LEAST = 19;

    @Test
    void everyAnnotatedTestIsListed() throws IOException, ClassNotFoundException {
        Set<String> annotated = annotatedTests();
        Set<String> listed = listedTests();
        assertTrue(annotated.size() >= AT_LEAST,
                "expected at least " + AT_LEAST + " @JCStressTest classes in org.jxen.stress, found " + annotated);
        assertEquals(annotated, listed, "META-INF/TestList does not list exactly the @JCStressTest classes: "
                + "was the JCStress annotation processor configured (annotationProcessorPaths)?");
    }

    /** The runstate update protocol's tests (issue 5) are generated and listed. */
    @Test
    void runstateProtocolTestsAreListed() throws IOException {
        Set<String> listed = listedTests();
        for (String t : List.of("org.jxen.stress.RunstateUpdateVsGuestRead",
                "org.jxen.stress.RunstateSplitUpdateVsGuestRead")) {
            assertTrue(listed.contains(t), t + " is not in META-INF/TestList: " + listed);
        }
    }

    private static Set<String> annotatedTests() throws IOException, ClassNotFoundException {
        Set<String> names = new TreeSet<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(CLASSES.resolve("org/jxen/stress"))) {
            files = s.filter(p -> p.toString().endsWith(".class")).toList();
        }
        for (Path f : files) {
            String simple = f.getFileName().toString().replace(".class", "");
            String name = "org.jxen.stress." + simple;
            // load without initialising: the tests' static state allocates host memory
            Class<?> c = Class.forName(name, false, StressTestListTest.class.getClassLoader());
            if (c.isAnnotationPresent(JCStressTest.class)) {
                names.add(name);
            }
        }
        return names;
    }

    /** Each TestList line is {@code JCTEST} then length-prefixed fields ({@code <n>S<n chars>}); the first is the test class. */
    private static Set<String> listedTests() throws IOException {
        Path list = CLASSES.resolve("META-INF/TestList");
        assertTrue(Files.isRegularFile(list), list + " is missing: the JCStress annotation processor did not run");
        Set<String> names = new TreeSet<>();
        for (String line : Files.readAllLines(list)) {
            if (!line.startsWith("JCTEST")) {
                continue;
            }
            int i = "JCTEST".length();
            int s = line.indexOf('S', i);
            int n = Integer.parseInt(line.substring(i, s));
            names.add(line.substring(s + 1, s + 1 + n));
        }
        return names;
    }
}

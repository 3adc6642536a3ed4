package org.jxen.guests;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The guest images built from {@code guests/src/main/c} by {@code build-guests.sh}
 * and carried in this jar as resources {@code org/jxen/guests/<name>.elf}.
 *
 * <p>Two kinds, told apart by name:
 * <ul>
 *   <li>harness test guests ({@code test-*} except {@code test-pvh-*}): 64-bit ELF files
 *       linked at {@code 0xffffffff80000000} with {@code p_paddr} starting at
 *       {@code 0x100000}, entered in long mode with {@code rdi} = vCPU id,
 *       {@code rsi} = ucall slot gpa, {@code rdx} = ucall slot gva;</li>
 *   <li>direct-boot guests ({@code pvh-*}, {@code test-pvh-*}, {@code demo}): entered in
 *       32-bit flat protected mode at their {@code XEN_ELFNOTE_PHYS32_ENTRY}
 *       with {@code ebx} = gpa of an {@code hvm_start_info}.</li>
 * </ul>
 * What each guest expects from the host is in the comment at the top of its C source.
 *
 * <p>Thread safety: stateless; every call reads the resource again and returns a fresh array.
 */
public final class Guests {

    private static final String INDEX = "guests.index";

    private Guests() {
    }

    /**
     * The names of all guests in this jar, as listed by the generated index, in order.
     *
     * @return an unmodifiable list of names such as {@code test-cpuid}
     * @throws IllegalStateException if the index is missing (the jar was built without gcc)
     */
    public static List<String> names() {
        try (InputStream in = Guests.class.getResourceAsStream(INDEX)) {
            if (in == null) {
                throw new IllegalStateException("guests: resource org/jxen/guests/" + INDEX
                        + " is missing; the guests module was built without its gcc step");
            }
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return text.lines().map(String::strip).filter(s -> !s.isEmpty()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("guests: cannot read " + INDEX, e);
        }
    }

    /**
     * The ELF image of one guest.
     *
     * @param name a guest name from {@link #names()}, e.g. {@code test-hypercall-args}
     * @return the whole ELF file, a fresh array
     * @throws IllegalArgumentException naming the available guests if there is no such guest
     */
    public static byte[] image(String name) {
        List<String> names = names();
        if (name == null || !names.contains(name)) {
            throw new IllegalArgumentException("no guest named " + name + "; available: "
                    + String.join(", ", names));
        }
        try (InputStream in = Guests.class.getResourceAsStream(name + ".elf")) {
            if (in == null) {
                throw new IllegalStateException("guests: " + name + " is in the index but "
                        + name + ".elf is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("guests: cannot read " + name + ".elf", e);
        }
    }
}

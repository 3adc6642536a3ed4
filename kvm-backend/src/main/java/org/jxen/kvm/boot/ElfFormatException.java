package org.jxen.kvm.boot;

/**
 * An ELF image that jxen cannot boot: malformed, truncated, of the wrong class or machine, or
 * beyond a limit. The message names the problem and the file offset or header it was found in.
 */
public final class ElfFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    public ElfFormatException(String message) {
        super(message);
    }
}

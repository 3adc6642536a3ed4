package org.jxen.kvm.boot;

/**
 * A well-formed image that does not fit the guest: a segment not backed by writable guest RAM, a
 * boot entry out of reach of 32-bit protected mode, or a memory map that changed during the load.
 * The message names the segment and the guest-physical address.
 */
public final class ElfLoadException extends Exception {
    private static final long serialVersionUID = 1L;

    public ElfLoadException(String message) {
        super(message);
    }
}

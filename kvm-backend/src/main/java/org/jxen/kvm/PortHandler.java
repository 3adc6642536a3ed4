package org.jxen.kvm;

/**
 * Handles guest port I/O on one or more ports. Called on the vCPU's thread with the exit's details;
 * what it does with shared state is its own to order.
 */
public interface PortHandler {
    /** A guest {@code out} of {@code size} bytes (1, 2 or 4) of {@code value} to {@code port}. */
    void out(Vcpu vcpu, int port, int size, int value);

    /** A guest {@code in} of {@code size} bytes from {@code port}; the default reads all ones, as an empty bus does. */
    default int in(Vcpu vcpu, int port, int size) {
        return -1;
    }
}

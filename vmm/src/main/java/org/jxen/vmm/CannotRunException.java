package org.jxen.vmm;

/**
 * The guest cannot run, for a reason the user can act on (no /dev/kvm, a missing or unbootable
 * kernel, too little memory): its message is the one line {@code jxen} prints.
 */
final class CannotRunException extends Exception {
    private static final long serialVersionUID = 1L;

    CannotRunException(String message) {
        super(message);
    }

    CannotRunException(String message, Throwable cause) {
        super(message, cause);
    }
}

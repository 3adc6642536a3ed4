/**
 * Access to the guest images built from the C sources in {@code guests/src/main/c}.
 */
package org.jxen.guests;

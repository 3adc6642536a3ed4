/**
 * The PV console of a domain, host side: the {@code xencons_interface} ring in the guest's console
 * page ({@link org.jxen.hypercalls.console.ConsoleRing}) and the one output stream that every console
 * source of a VM writes to ({@link org.jxen.hypercalls.console.ConsoleSink}).
 */
package org.jxen.hypercalls.console;

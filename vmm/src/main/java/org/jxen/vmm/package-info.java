/**
 * The jxen program: the {@code jxen} command line, and (later) the XenStore socket,
 * HTTP monitor and metrics that serve a running VM.
 */
package org.jxen.vmm;

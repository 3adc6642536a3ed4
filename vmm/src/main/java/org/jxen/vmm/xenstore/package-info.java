/**
 * The host's XenStore socket: {@link org.jxen.vmm.xenstore.XenStoreSocketServer} serves the
 * XenStore wire protocol on a Unix stream socket with Netty, so that Xen's own command-line tools
 * can read and change a running VM's store. Each client is a privileged
 * {@link org.jxen.hypercalls.xenstore.XenStoreConnection} of the shared
 * {@link org.jxen.hypercalls.xenstore.XenStore}.
 *
 * <p>Threads: one Netty event-loop thread runs the decoder and handler of every client; the store
 * may push watch events from other threads, which only schedule a flush on that loop.
 */
package org.jxen.vmm.xenstore;

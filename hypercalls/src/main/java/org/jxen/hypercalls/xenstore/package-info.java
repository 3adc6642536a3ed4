/**
 * The XenStore: the tree of nodes with permissions, watches, transactions, quotas and the
 * domain-management requests ({@link org.jxen.hypercalls.xenstore.XenStore}); the wire message
 * ({@link org.jxen.hypercalls.xenstore.XenStoreMessage}); one client's view
 * ({@link org.jxen.hypercalls.xenstore.XenStoreConnection}); and the guest's transport, the shared
 * ring in its store page ({@link org.jxen.hypercalls.xenstore.XenStoreRing}). The host's Unix
 * socket transport lives in the {@code vmm} module and uses the same connection API.
 *
 * <p>Threads: the store is used from several threads at once (a guest ring is serviced on whatever
 * thread kicks it, the socket on its event loop, the host API from anywhere); one lock inside
 * {@code XenStore} serialises every request and host call, and each class says which of its
 * methods may be called from where. Nothing here throws for what a guest or a socket client sends:
 * a bad request is answered with an {@code ERROR} reply, a broken ring is logged and left.
 */
package org.jxen.hypercalls.xenstore;

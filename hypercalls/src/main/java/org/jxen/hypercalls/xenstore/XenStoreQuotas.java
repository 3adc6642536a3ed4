package org.jxen.hypercalls.xenstore;

/**
 * The limits the XenStore puts on unprivileged domains (dom0 is exempt from all but
 * {@link #outputBytes}), with xenstored's defaults and error names:
 *
 * <ul>
 * <li>{@code nodesPerDomain}: nodes a domain may own; creating one more fails with ENOSPC.</li>
 * <li>{@code valueSize}: bytes in a node's value; a longer write fails with ENOSPC (xenstored's
 * entry-size quota, which also counts the permissions and child names; here it is the value).</li>
 * <li>{@code permissionsPerNode}: entries in a node's permission list; more fail with ENOSPC.</li>
 * <li>{@code watchesPerConnection}: watches one connection may hold; one more fails with E2BIG.</li>
 * <li>{@code transactionsPerConnection}: open transactions per connection; one more fails with
 * ENOSPC.</li>
 * <li>{@code transactionNodes}: distinct nodes one transaction may look at (including missing ones)
 * and changes it may make; the request that goes beyond fails with ENOSPC and so does every later
 * request in that transaction and its commit (xenstored's transaction-nodes quota). This bounds the
 * memory a transaction holds.</li>
 * <li>{@code outputBytes}: bytes of replies and watch events queued for a connection that has not
 * taken them yet; watch events beyond it are dropped (and counted), replies never are. Applies to
 * every connection.</li>
 * </ul>
 *
 * <p>Immutable; safe from any thread.
 */
public record XenStoreQuotas(int nodesPerDomain, int valueSize, int permissionsPerNode, int watchesPerConnection,
        int transactionsPerConnection, int transactionNodes, int outputBytes) {

    public XenStoreQuotas {
        if (nodesPerDomain < 1 || valueSize < 0 || permissionsPerNode < 1 || watchesPerConnection < 0
                || transactionsPerConnection < 0 || transactionNodes < 1 || outputBytes < 0) {
            throw new IllegalArgumentException("bad quotas " + nodesPerDomain + ", " + valueSize + ", "
                    + permissionsPerNode + ", " + watchesPerConnection + ", " + transactionsPerConnection
                    + ", " + transactionNodes + ", " + outputBytes);
        }
    }

    /**
     * xenstored's defaults: 1000 nodes, 2048-byte values, 5 permission entries, 128 watches, 10
     * transactions of at most 1024 nodes; and 256 KiB of queued output.
     */
    public static XenStoreQuotas defaults() {
        return new XenStoreQuotas(1000, 2048, 5, 128, 10, 1024, 256 * 1024);
    }
}

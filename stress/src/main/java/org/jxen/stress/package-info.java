/**
 * JCStress tests: one class per concurrency contract of the gfn-to-pfn cache and the
 * event-channel protocols, each with a reviewed outcome table and a FORBIDDEN catch-all.
 */
package org.jxen.stress;

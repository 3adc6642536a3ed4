/**
 * JMH benchmarks of jxen's hot paths, with raw-access floors and reference
 * implementations measured in the same run.
 */
package org.jxen.bench;

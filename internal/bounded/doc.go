// Package bounded is a map with a bound on its entries, safe for concurrent
// use: the memory of caches whose values never go stale because their keys
// name content (an image digest, a layer's uncompressed digest, a pinned
// reference). When it is full, adding drops an entry, any one.
package bounded

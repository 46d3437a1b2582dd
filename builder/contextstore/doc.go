// Package contextstore stores uploaded build contexts by digest and
// extracts them safely.
//
// A Store keeps each uploaded archive on disk under the sha256 digest of its
// bytes, so that a build names its context by content and only a caller
// holding the content can name it. Each archive is owned by the identities
// that uploaded it, within a per-identity quota and until a TTL after its
// last use; Collect removes the rest. Put reads an upload once: it writes,
// hashes and indexes it in the same pass (the index is the tree of names
// extraction would make, applied in memory with the same code, and where
// each entry's content lies). Extract checks that the stored bytes still
// hash to their name while ExtractTar unpacks them, in the same read.
// ReadFile reads one file as extraction would lay it out, from the index
// and the entry's bytes, without reading the rest of the archive.
//
// ExtractTar unpacks a plain or gzip-compressed tar stream through an
// os.Root: nothing is written outside the destination, links that would
// lead out of it are refused, device and fifo entries are refused, and the
// entries and bytes an archive may expand to are bounded.
package contextstore

// Package contextstore stores uploaded build contexts by digest and
// extracts them safely.
//
// A Store keeps each uploaded archive on disk under the sha256 digest of its
// bytes, so that a build names its context by content and only a caller
// holding the content can name it. Extract checks that the stored bytes
// still hash to their name while ExtractTar unpacks them.
//
// ExtractTar unpacks a plain or gzip-compressed tar stream through an
// os.Root: nothing is written outside the destination, links that would
// lead out of it are refused, device and fifo entries are refused, and the
// entries and bytes an archive may expand to are bounded.
package contextstore

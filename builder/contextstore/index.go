package contextstore

import (
	"archive/tar"
	"slices"
	"strings"
	"sync"
)

// archiveIndex is what Put learns about an archive while it receives it,
// by applying it to a memTree with extraction's rules: the tree of names,
// and where each entry's content is. ReadFile uses it instead of reading
// the stored archive again.
type archiveIndex struct {
	tree    *memTree
	entries []indexEntry // by entry number
	// plain: the archive is an uncompressed tar, so offsets are positions
	// in the stored file.
	plain bool
}

// indexEntry locates an entry's content in the uncompressed tar stream.
type indexEntry struct {
	offset, size int64
	// direct: the entry is a regular file whose content is stored as is
	// (not sparse), so its bytes are size bytes at offset.
	direct bool
}

// record is applyTar's entryFunc for building the index.
func (ix *archiveIndex) record(n int, hdr *tar.Header, offset int64, plain bool) {
	ix.tree.entry = n
	ix.plain = plain
	ix.entries = append(ix.entries, indexEntry{offset: offset, size: hdr.Size, direct: hdr.Typeflag == tar.TypeReg && !isSparse(hdr)})
}

// isSparse reports whether hdr is a PAX sparse file, whose stored bytes
// start with a map and leave out the holes.
func isSparse(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// cost is the memory an index holds, roughly.
func (ix *archiveIndex) cost() int64 {
	return ix.tree.bytes + int64(len(ix.entries))*24
}

// maxIndexBytes bounds the memory of the indexes a Store keeps.
const maxIndexBytes = 64 << 20

// indexCache keeps the indexes of recent uploads, by digest hex, the oldest
// dropped first once they hold more than max bytes. It is safe for
// concurrent use.
type indexCache struct {
	mu    sync.Mutex
	max   int64
	used  int64
	order []string
	m     map[string]*archiveIndex
}

func newIndexCache(max int64) *indexCache {
	return &indexCache{max: max, m: map[string]*archiveIndex{}}
}

func (c *indexCache) get(hex string) *archiveIndex {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[hex]
}

func (c *indexCache) put(hex string, ix *archiveIndex) {
	cost := ix.cost()
	c.mu.Lock()
	defer c.mu.Unlock()
	if cost > c.max {
		return
	}
	if old, ok := c.m[hex]; ok {
		c.used -= old.cost()
		c.order = slices.DeleteFunc(c.order, func(h string) bool { return h == hex })
	}
	for c.used+cost > c.max && len(c.order) > 0 {
		c.used -= c.m[c.order[0]].cost()
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[hex] = ix
	c.order = append(c.order, hex)
	c.used += cost
}

func (c *indexCache) remove(hex string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[hex]; ok {
		c.used -= old.cost()
		delete(c.m, hex)
		c.order = slices.DeleteFunc(c.order, func(h string) bool { return h == hex })
	}
}

package secretscan

import (
	"slices"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxCachedLayers bounds the layers whose findings a Scanner remembers.
const maxCachedLayers = 4096

// layerCache holds the findings of layers scanned in full, by uncompressed
// digest, with their layer index cleared.
type layerCache struct {
	mu      sync.Mutex
	entries map[v1.Hash][]finding
}

func (c *layerCache) get(id v1.Hash) ([]finding, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.entries[id]
	return f, ok
}

func (c *layerCache) put(id v1.Hash, found []finding) {
	found = slices.Clone(found)
	for i := range found {
		found[i].layer = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[v1.Hash][]finding{}
	}
	if len(c.entries) >= maxCachedLayers {
		for k := range c.entries { // any one: layers are rebuilt rarely
			delete(c.entries, k)
			break
		}
	}
	c.entries[id] = found
}

// add records cached findings as found in the layer at index.
func (s *scan) add(found []finding, index int) {
	for _, f := range found {
		f.layer = index
		s.findings = append(s.findings, f)
	}
}

package secretscan

import (
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hallmark-dev/hallmark/internal/bounded"
)

// maxCachedLayers bounds the layers whose findings a Scanner remembers.
const maxCachedLayers = 4096

// layerCache holds the findings of layers scanned in full, by uncompressed
// digest, with their layer index cleared.
type layerCache struct {
	entries *bounded.Map[v1.Hash, []finding]
}

func newLayerCache() *layerCache {
	return &layerCache{entries: bounded.New[v1.Hash, []finding](maxCachedLayers)}
}

func (c *layerCache) get(id v1.Hash) ([]finding, bool) { return c.entries.Get(id) }

func (c *layerCache) put(id v1.Hash, found []finding) {
	found = slices.Clone(found)
	for i := range found {
		found[i].layer = 0
	}
	c.entries.Put(id, found)
}

// add records cached findings as found in the layer at index.
func (s *scan) add(found []finding, index int) {
	for _, f := range found {
		f.layer = index
		s.findings = append(s.findings, f)
	}
}

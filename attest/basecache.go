package attest

import (
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark/attest/sbom"
)

// Bounds of the cache of verified base SBOMs.
const (
	// baseSBOMTTL is how long a base image's verified SBOM is reused without
	// verifying it again. The digest pins the base's content; the TTL bounds
	// how long a change of trust (a new trusted root, a removed bundle) takes
	// to be noticed.
	baseSBOMTTL = 10 * time.Minute
	// maxBaseSBOMs bounds the cache; most gateways build on a handful of
	// bases.
	maxBaseSBOMs = 64
)

// baseCache holds the verified SBOMs of base images by pinned reference,
// so that every build on a base does not fetch and verify its bundles
// again. Only verified documents are stored; a base without one is looked
// up every time.
type baseCache struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]baseEntry
}

type baseEntry struct {
	doc     *sbom.Document
	expires time.Time
}

func (c *baseCache) get(pinned string) *sbom.Document {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[pinned]
	if !ok {
		return nil
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, pinned)
		return nil
	}
	return e.doc
}

func (c *baseCache) put(pinned string, doc *sbom.Document) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]baseEntry{}
	}
	now := c.now()
	if len(c.entries) >= maxBaseSBOMs {
		// Drop the expired ones, else the one that expires first.
		var first string
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			} else if first == "" || e.expires.Before(c.entries[first].expires) {
				first = k
			}
		}
		if len(c.entries) >= maxBaseSBOMs {
			delete(c.entries, first)
		}
	}
	c.entries[pinned] = baseEntry{doc: doc, expires: now.Add(baseSBOMTTL)}
}

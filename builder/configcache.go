package builder

import (
	"context"
	"fmt"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/registry"
)

// maxCachedConfigs bounds the images whose configs a configCache holds.
const maxCachedConfigs = 64

// configCache holds the configs of the platform images of images named by
// digest ("repo@sha256:…"), which never change, so that the builds on a
// base read them from the registry once. The images it returns hold only
// the config: they have no layers.
type configCache struct {
	mu      sync.Mutex
	entries map[string][]v1.Image
}

// images returns the config-only platform images of pinned, reading them
// with read the first time.
func (c *configCache) images(ctx context.Context, pinned string, read func(context.Context, string) ([]v1.Image, error)) ([]v1.Image, error) {
	c.mu.Lock()
	imgs, ok := c.entries[pinned]
	c.mu.Unlock()
	if ok {
		return imgs, nil
	}
	remote, err := read(ctx, pinned)
	if err != nil {
		return nil, err
	}
	imgs = make([]v1.Image, len(remote))
	for i, r := range remote {
		cfg, err := r.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("read config of %s: %w", pinned, registry.Error(ctx, err))
		}
		if imgs[i], err = mutate.ConfigFile(empty.Image, cfg); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string][]v1.Image{}
	}
	if len(c.entries) >= maxCachedConfigs {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[pinned] = imgs
	return imgs, nil
}

// maxCachedManifests bounds the manifests a manifestCache holds.
const maxCachedManifests = 256

// rawManifest is a manifest as a registry served it, which remote.Tag can
// push again under a tag.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// manifestCache holds the manifests of images read by digest
// ("repo@sha256:…"), which never change: the manifest the checks after a
// solve read is the one its tags then name, without reading it again.
type manifestCache struct {
	mu      sync.Mutex
	entries map[string]rawManifest
}

func (c *manifestCache) get(ref string) (rawManifest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.entries[ref]
	return m, ok
}

func (c *manifestCache) put(ref string, m rawManifest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]rawManifest{}
	}
	if len(c.entries) >= maxCachedManifests {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[ref] = m
}

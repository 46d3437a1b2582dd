package builder

import (
	"context"
	"fmt"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

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

package builder

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/internal/bounded"
	"github.com/hallmark-dev/hallmark/registry"
)

// Bounds of the Builder's caches of what images named by digest hold.
const (
	// maxCachedConfigs bounds the runtime bases whose configs are kept.
	maxCachedConfigs = 64
	// maxCachedManifests bounds the pushed images whose manifests are kept.
	maxCachedManifests = 256
)

// configCache holds the configs of the platform images of images named by
// digest ("repo@sha256:…"), which never change, so that the builds on a
// base read them from the registry once. The images it returns hold only
// the config: they have no layers.
type configCache struct {
	entries *bounded.Map[string, []v1.Image]
}

func newConfigCache() *configCache {
	return &configCache{entries: bounded.New[string, []v1.Image](maxCachedConfigs)}
}

// images returns the config-only platform images of pinned, reading them
// with read the first time.
func (c *configCache) images(ctx context.Context, pinned string, read func(context.Context, string) ([]v1.Image, error)) ([]v1.Image, error) {
	if imgs, ok := c.entries.Get(pinned); ok {
		return imgs, nil
	}
	remote, err := read(ctx, pinned)
	if err != nil {
		return nil, err
	}
	imgs := make([]v1.Image, len(remote))
	for i, r := range remote {
		cfg, err := r.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("read config of %s: %w", pinned, registry.Error(ctx, err))
		}
		if imgs[i], err = mutate.ConfigFile(empty.Image, cfg); err != nil {
			return nil, err
		}
	}
	c.entries.Put(pinned, imgs)
	return imgs, nil
}

// rawManifest is a manifest as a registry served it, which remote.Tag can
// push again under a tag.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// newManifestCache holds the manifests of images read by digest
// ("repo@sha256:…"), which never change: the manifest the checks after a
// solve read is the one its tags then name, without reading it again.
func newManifestCache() *bounded.Map[string, rawManifest] {
	return bounded.New[string, rawManifest](maxCachedManifests)
}

package verify

import (
	"bytes"
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// imageLimits bound what describeImage reads, in bytes.
type imageLimits struct {
	manifest int64 // each manifest or index; ctx should carry it too
	config   int64
	noConfig bool // the config is not read
}

// describeImage reads subject's manifest and, for an image, its config
// unless lim.noConfig (for an index the config is nil: its platform
// manifests are described on their own). It returns the index when subject
// is one. Errors wrap a *LimitError for a manifest or config over its
// limit, and the classes of registry.Error.
func describeImage(ctx context.Context, subject name.Digest, lim imageLimits, ropts []remote.Option) (policy.Image, v1.ImageIndex, error) {
	img := policy.Image{Digest: subject.DigestStr(), Repository: subject.Context().String()}
	desc, err := getManifest(ctx, subject, lim.manifest, "image manifest", ropts)
	if err != nil {
		return img, nil, fmt.Errorf("read %s: %w", subject, err)
	}
	img.Manifest = object(desc.Manifest)
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return img, nil, fmt.Errorf("read %s: %w", subject, registry.Error(ctx, err))
		}
		return img, idx, nil
	}
	if !desc.MediaType.IsImage() || lim.noConfig {
		return img, nil, nil
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return img, nil, fmt.Errorf("read %s: %w", subject, err)
	}
	// The config is read as a bounded, digest-checked blob: its size and
	// content come from the registry, which may be hostile.
	cfg := subject.Context().Digest(m.Config.Digest.String())
	data, err := registry.ReadBlob(ctx, cfg, m.Config.Size, lim.config, ropts...)
	if err != nil {
		return img, nil, fmt.Errorf("read config of %s: %w", subject, overLimit(err, "image config", subject.String(), SettingMaxConfigBytes))
	}
	img.Config = object(data)
	return img, nil, nil
}

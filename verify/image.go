package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"

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
}

// describeImage reads subject's manifest and image config (for an index,
// those of the image for this platform's architecture on linux, else the
// first). Errors wrap a *LimitError for a manifest or config over its
// limit, and the classes of registry.Error.
func describeImage(ctx context.Context, subject name.Digest, lim imageLimits, ropts []remote.Option) (policy.Image, error) {
	img := policy.Image{Digest: subject.DigestStr(), Repository: subject.Context().String()}
	desc, err := getManifest(ctx, subject, lim.manifest, "image manifest", ropts)
	if err != nil {
		return img, fmt.Errorf("read %s: %w", subject, err)
	}
	img.Manifest = object(desc.Manifest)
	raw, mediaType := desc.Manifest, desc.MediaType
	if mediaType.IsIndex() {
		d, err := platformImage(raw)
		if err != nil {
			return img, fmt.Errorf("read %s: %w", subject, err)
		}
		ref := subject.Context().Digest(d.Digest.String())
		if d.Size > lim.manifest {
			return img, &LimitError{What: "image manifest", Of: ref.String(), Size: d.Size, Limit: lim.manifest, Setting: SettingMaxManifestBytes}
		}
		child, err := getManifest(ctx, ref, lim.manifest, "image manifest", ropts)
		if err != nil {
			return img, fmt.Errorf("read %s: %w", subject, err)
		}
		raw, mediaType = child.Manifest, d.MediaType
	}
	if !mediaType.IsImage() {
		return img, nil
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return img, fmt.Errorf("read %s: %w", subject, err)
	}
	// The config is read as a bounded, digest-checked blob: its size and
	// content come from the registry, which may be hostile.
	cfg := subject.Context().Digest(m.Config.Digest.String())
	data, err := registry.ReadBlob(ctx, cfg, m.Config.Size, lim.config, ropts...)
	if err != nil {
		return img, fmt.Errorf("read config of %s: %w", subject, overLimit(err, "image config", subject.String(), SettingMaxConfigBytes))
	}
	img.Config = object(data)
	return img, nil
}

// platformImage returns the entry of the image index raw for this
// platform's architecture on linux, else its first image.
func platformImage(raw []byte) (v1.Descriptor, error) {
	var m v1.IndexManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return v1.Descriptor{}, fmt.Errorf("parse index: %w", err)
	}
	var pick *v1.Descriptor
	for i, d := range m.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		if pick == nil {
			pick = &m.Manifests[i]
		}
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH {
			pick = &m.Manifests[i]
			break
		}
	}
	if pick == nil {
		return v1.Descriptor{}, errors.New("index has no image")
	}
	return *pick, nil
}

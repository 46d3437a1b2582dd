package verify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// Resolved is an image reference resolved to a digest, once, and the
// manifest selected for one platform: Verifier.Resolve. Verifier.Verify
// verifies the bundles attached to the selected manifest.
type Resolved struct {
	// Ref is the reference as given; Digest what it resolved to, an image
	// manifest or an index; Pinned "registry/repository@sha256:<hex>" of
	// it.
	Ref    string
	Digest hallmark.Digest
	Pinned string
	// Platforms are the platform manifests of the index Ref resolved to,
	// in index order (registry.PlatformManifests); nil for an image.
	Platforms []PlatformManifest
	// Platform is the selected platform as the index entry or the image
	// config names it; empty when none was asked for.
	Platform string
	// Selected is the manifest whose attestations Verify verifies: the
	// platform manifest of Platform in an index, else Digest.
	Selected PlatformManifest
	subject  name.Digest
}

// PlatformManifest is one manifest of an index, or the image itself.
type PlatformManifest struct {
	// Platform is "os/arch[/variant]"; empty if the index names none.
	Platform string
	Digest   hallmark.Digest
	// Pinned is "registry/repository@sha256:<hex>".
	Pinned string
}

// IsIndex says that the reference resolved to an image index.
func (r *Resolved) IsIndex() bool { return r.Platforms != nil }

// PlatformList lists the index's named platforms for a message ("linux/amd64,
// linux/arm64"), or "none named".
func (r *Resolved) PlatformList() string {
	pms := make([]registry.PlatformManifest, len(r.Platforms))
	for i, p := range r.Platforms {
		pms[i].Platform = p.Platform
	}
	return platformList(pms)
}

// Resolve resolves ref to a digest, once, as Image does, and selects the
// manifest for platform ("os/arch[/variant]", normalized as
// registry.MatchPlatform does; "" selects what ref names):
//
//   - for an index, the first platform manifest of that platform; an index
//     without one is an error wrapping hallmark.ErrNotFound that lists the
//     platforms it has;
//   - for an image, the image itself, if its config names that platform;
//     otherwise (another platform, or none) an error wrapping
//     hallmark.ErrInvalid.
//
// Reads are bounded as Image's; the image config is read only when a
// platform is asked for, at most DefaultMaxConfigSize bytes. Errors mean
// the image could not be evaluated, with the classes Image documents.
func (v *Verifier) Resolve(ctx context.Context, ref, platform string) (*Resolved, error) {
	if err := hallmark.ValidatePlatform(platform); err != nil {
		return nil, err
	}
	r, err := v.parseRef(ref)
	if err != nil {
		return nil, err
	}
	ctx = v.withManifestLimit(ctx)
	ropts := v.opts.registry.RemoteOptions(ctx)
	subject, d, desc, err := resolveManifest(ctx, r, v.opts.maxManifestSize, ropts)
	if err != nil {
		return nil, err
	}
	res := &Resolved{Ref: ref, Digest: d, Pinned: subject.String(), subject: subject,
		Selected: PlatformManifest{Digest: d, Pinned: subject.String()}}

	if desc.MediaType.IsIndex() {
		if err := res.selectFromIndex(desc.Manifest, platform); err != nil {
			return nil, fmt.Errorf("resolve %s: %w", r, err)
		}
		return res, nil
	}
	if platform == "" {
		return res, nil
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w: %w", subject, hallmark.ErrInvalid, err)
	}
	data, err := registry.ReadBlob(ctx, subject.Context().Digest(m.Config.Digest.String()), m.Config.Size, DefaultMaxConfigSize, ropts...)
	if err != nil {
		return nil, fmt.Errorf("read config of %s: %w", subject, overLimit(err, "image config", subject.String(), SettingMaxConfigBytes))
	}
	// Only the platform: the rest of a config is not this function's to
	// judge.
	var cfg struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("read config of %s: %w: %w", subject, hallmark.ErrInvalid, err)
	}
	if cfg.OS == "" || cfg.Architecture == "" {
		return nil, fmt.Errorf("%w: %s is not a multi-platform image and its config names no platform, so it cannot be shown to be %s", hallmark.ErrInvalid, subject, platform)
	}
	p := v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
	if ok, err := registry.MatchPlatform(&p, platform); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("%w: %s is a %s image, not %s", hallmark.ErrInvalid, subject, hallmark.Clip(p.String(), 80), platform)
	}
	res.Platform = p.String()
	res.Selected.Platform = res.Platform
	return res, nil
}

// selectFromIndex lists the platforms of the index whose manifest is data
// and selects platform's manifest.
func (r *Resolved) selectFromIndex(data []byte, platform string) error {
	var im v1.IndexManifest
	if err := json.Unmarshal(data, &im); err != nil {
		return fmt.Errorf("%w: read index: %w", hallmark.ErrInvalid, err)
	}
	pms, err := registry.PlatformManifests(&im)
	if err != nil {
		return err
	}
	r.Platforms = make([]PlatformManifest, len(pms))
	found := false
	for i, pm := range pms {
		d, err := hallmark.ParseDigest(pm.Descriptor.Digest.String())
		if err != nil {
			return err
		}
		r.Platforms[i] = PlatformManifest{Platform: pm.Platform, Digest: d, Pinned: r.subject.Context().Digest(d.String()).String()}
		if platform == "" || found {
			continue
		}
		ok, err := registry.MatchPlatform(pm.Descriptor.Platform, platform)
		if err != nil {
			return err
		}
		if ok {
			r.Platform, r.Selected, found = pm.Platform, r.Platforms[i], true
		}
	}
	if platform != "" && !found {
		return fmt.Errorf("%w: the index has no %s image; it has %s", hallmark.ErrNotFound, platform, platformList(pms))
	}
	return nil
}

// Verify verifies the Sigstore bundles attached to the manifest r
// selected (r must come from Resolve), as Image does for what a reference
// names: the result's Ref is r.Ref, its Digest and Pinned r.Selected's.
func (v *Verifier) Verify(ctx context.Context, r *Resolved) (*ImageResult, error) {
	subject := r.subject.Context().Digest(r.Selected.Digest.String())
	return v.verifyDigest(v.withManifestLimit(ctx), r.Ref, subject, r.Selected.Digest, false)
}

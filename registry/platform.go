package registry

import (
	"fmt"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hallmark-dev/hallmark"
)

// MaxPlatformManifests bounds the platform manifests read from one index.
const MaxPlatformManifests = 32

// PlatformManifest is one platform's image manifest in an image index.
type PlatformManifest struct {
	// Platform is "os/arch[/variant]", e.g. "linux/arm64"; empty when the
	// index names no platform for the manifest.
	Platform string
	// Descriptor is the manifest's entry in the index.
	Descriptor v1.Descriptor
}

// PlatformManifests lists the platform image manifests of an index in
// index order: its image manifests, without BuildKit's attestation
// manifests (annotation vnd.docker.reference.type, platform
// unknown/unknown). Nested indexes are not followed. An index with more
// than MaxPlatformManifests is hallmark.ErrTooLarge; one with none is
// hallmark.ErrInvalid.
func PlatformManifests(m *v1.IndexManifest) ([]PlatformManifest, error) {
	var out []PlatformManifest
	for _, d := range m.Manifests {
		if !d.MediaType.IsImage() || d.Annotations["vnd.docker.reference.type"] != "" {
			continue
		}
		p := ""
		if d.Platform != nil {
			if d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown" {
				continue
			}
			p = d.Platform.String()
		}
		if len(out) == MaxPlatformManifests {
			return nil, fmt.Errorf("%w: index has more than %d platform manifests", hallmark.ErrTooLarge, MaxPlatformManifests)
		}
		out = append(out, PlatformManifest{Platform: p, Descriptor: d})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: index has no image manifest", hallmark.ErrInvalid)
	}
	return out, nil
}

// MatchPlatform says whether the platform of an index entry, p, is want
// ("os/arch[/variant]"), after containerd's normalization: "linux/arm64"
// and "linux/arm64/v8" are the same platform, as are "linux/arm" and
// "linux/arm/v7"; "linux/arm/v6" and "linux/arm/v7" are not. An entry
// without a platform matches nothing. A want that does not parse is
// hallmark.ErrInvalid.
func MatchPlatform(p *v1.Platform, want string) (bool, error) {
	w, err := platforms.Parse(want)
	if err != nil {
		return false, fmt.Errorf("%w: platform %q: %w", hallmark.ErrInvalid, hallmark.Clip(want, 100), err)
	}
	if p == nil {
		return false, nil
	}
	got, err := platforms.Parse(p.String())
	if err != nil {
		return false, nil //nolint:nilerr // an index entry with a malformed platform matches nothing
	}
	return platforms.FormatAll(platforms.Normalize(got)) == platforms.FormatAll(platforms.Normalize(w)), nil
}

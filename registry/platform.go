package registry

import (
	"fmt"
	"strings"

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
// ("os/arch[/variant]"), after normalizing both as containerd does:
// "linux/arm64" and "linux/arm64/v8" are the same platform, as are
// "linux/arm" and "linux/arm/v7", and "x86_64" is "amd64"; "linux/arm/v6"
// and "linux/arm/v7" are not. An entry without a platform matches nothing.
// A want that does not parse is hallmark.ErrInvalid.
func MatchPlatform(p *v1.Platform, want string) (bool, error) {
	w, err := v1.ParsePlatform(want)
	if err != nil || w.OS == "" || w.Architecture == "" || strings.Contains(w.Variant, "/") {
		return false, fmt.Errorf("%w: platform %q is not os/arch[/variant]", hallmark.ErrInvalid, hallmark.Clip(want, 100))
	}
	if p == nil {
		return false, nil
	}
	a, b := normalize(*p), normalize(*w)
	return a.OS == b.OS && a.Architecture == b.Architecture && a.Variant == b.Variant, nil
}

// normalize is containerd's platform normalization (platforms.Normalize)
// of OS, architecture and variant.
func normalize(p v1.Platform) v1.Platform {
	p.OS = strings.ToLower(p.OS)
	if p.OS == "macos" {
		p.OS = "darwin"
	}
	arch, variant := strings.ToLower(p.Architecture), strings.ToLower(p.Variant)
	switch arch {
	case "i386":
		arch, variant = "386", ""
	case "x86_64", "x86-64", "amd64":
		arch = "amd64"
		if variant == "v1" {
			variant = ""
		}
	case "aarch64", "arm64":
		arch = "arm64"
		if variant == "8" || variant == "v8" {
			variant = ""
		}
	case "armhf":
		arch, variant = "arm", "v7"
	case "armel":
		arch, variant = "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
	}
	return v1.Platform{OS: p.OS, Architecture: arch, Variant: variant}
}

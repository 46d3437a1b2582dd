package builder

import (
	"context"
	"fmt"
	"slices"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/bounded"
)

// maxCheckedImages bounds the pushed images whose checks are kept.
const maxCheckedImages = 256

// checked is what the checks after a solve read and found in a pushed
// image that passed them: the config User of each platform image, the
// secret scan's warnings, and the manifest its tags will name. All of it
// follows from the image's digest, the runtime base's pin and the Builder's
// options, none of which change.
type checked struct {
	users    []string
	warnings []string
	manifest rawManifest
}

func newCheckCache() *bounded.Map[string, checked] {
	return bounded.New[string, checked](maxCheckedImages)
}

// checkPushed runs the checks after a solve on the pushed image img: the
// non-root rule (the config user of every platform image, refused when it
// runs as root unless the gateway or the request allows root) and the
// secret scan (scanSecrets). It
// returns the scan's warnings and whether the findings were kept from an
// earlier build. A rebuild that BuildKit answers from its cache pushes the
// same digest, and its checks then read nothing from the registry: an
// image is kept only once it passed both, by its digest and its runtime
// base's, and whether root is allowed is decided on every build.
func (b *Builder) checkPushed(ctx context.Context, img *pushedImage, info *DockerfileInfo, allowRoot bool, runtime *hallmark.ResolvedBase) ([]string, bool, error) {
	r, err := b.opts.registry.ParseDigest(img.ref)
	if err != nil {
		return nil, false, fmt.Errorf("image %s: %w", img.ref, err)
	}
	key := r.String()
	if runtime != nil {
		key += " on " + runtime.Pinned
	}
	if c, ok := b.checked.Get(key); ok {
		if !b.rootAllowed(allowRoot) {
			if err := refuseRoot(c.users, info); err != nil {
				return nil, true, err
			}
		}
		b.manifests.Put(r.String(), c.manifest)
		return slices.Clone(c.warnings), true, nil
	}
	users, err := img.users(ctx)
	if err != nil {
		return nil, false, err
	}
	if !b.rootAllowed(allowRoot) {
		if err := refuseRoot(users, info); err != nil {
			return nil, false, err
		}
	}
	warnings, err := b.scanSecrets(ctx, img, runtime)
	if err != nil {
		return nil, false, err
	}
	if m, ok := b.manifests.Get(r.String()); ok {
		b.checked.Put(key, checked{users: users, warnings: slices.Clone(warnings), manifest: m})
	}
	return warnings, false, nil
}

package verify

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// Defaults of the limits on what one verification reads.
const (
	// DefaultMaxManifestSize bounds every manifest, index and referrers
	// response read: the OCI distribution spec's guidance is that
	// registries accept manifests of at least 4 MiB, and real ones are a
	// few KiB.
	DefaultMaxManifestSize = 4 << 20
	// DefaultMaxReferrers bounds the entries of an image's referrers index
	// (of every artifact type) that are examined.
	DefaultMaxReferrers = 1024
	// maxManifestSizeCap is go-containerregistry's own manifest limit,
	// which a larger WithMaxManifestSize could not lift.
	maxManifestSizeCap = 100 << 20
)

// Settings of the gateway's configuration that set each limit, named in
// LimitError and in the error of a request that gave up waiting for a
// verification slot.
const (
	SettingMaxManifestBytes = "verify.limits.maxManifestBytes"
	SettingMaxReferrers     = "verify.limits.maxReferrers"
	SettingMaxBundles       = "verify.limits.maxBundles"
	SettingMaxBundleBytes   = "verify.limits.maxBundleBytes"
	SettingMaxConfigBytes   = "verify.limits.maxConfigBytes"
	SettingMaxConcurrent    = "verify.maxConcurrent"
)

// LimitError says that what a registry sent for an image is over one of
// the limits of a verification, so the image could not be evaluated. It
// wraps hallmark.ErrTooLarge.
type LimitError struct {
	// What names what was too large: "image manifest", "referrers index",
	// "bundle referrers", "image config", …
	What string
	// Of names the image (or blob) it belongs to.
	Of string
	// Size is the size or count the registry declared, or -1 when the
	// answer was cut off at the limit.
	Size int64
	// Limit is the limit, in bytes, or in entries when Unit is set.
	Limit int64
	// Unit is what a count counts ("entries", "bundle referrers"); "" for
	// bytes.
	Unit string
	// Setting is the configuration setting that raises the limit.
	Setting string
}

func (e *LimitError) Error() string {
	var size string
	switch {
	case e.Unit != "":
		size = fmt.Sprintf("has %d %s, over the limit of %d", e.Size, e.Unit, e.Limit)
	case e.Size < 0:
		size = fmt.Sprintf("is over the %d-byte limit", e.Limit)
	default:
		size = fmt.Sprintf("is %d bytes, over the %d-byte limit", e.Size, e.Limit)
	}
	return fmt.Sprintf("%s of %s %s (limit set by %s)", e.What, e.Of, size, e.Setting)
}

func (e *LimitError) Unwrap() error { return hallmark.ErrTooLarge }

// overLimit returns err, from reading what of "of", as a *LimitError naming
// setting when a registry limit stopped the read; other errors are returned
// as they are.
func overLimit(err error, what, of, setting string) error {
	var tl *registry.TooLargeError
	if !errors.As(err, &tl) {
		return err
	}
	return &LimitError{What: what, Of: of, Size: tl.Size, Limit: tl.Limit, Setting: setting}
}

// getManifest fetches the manifest or index ref names, what of "of", reading
// at most limit bytes (ctx must carry the limit for the Client's transport
// to stop the read early: withManifestLimit). Errors wrap a *LimitError
// over the limit, and the classes of registry.Error.
func getManifest(ctx context.Context, ref name.Reference, limit int64, what string, ropts []remote.Option) (*remote.Descriptor, error) {
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return nil, overLimit(registry.Error(ctx, err), what, ref.String(), SettingMaxManifestBytes)
	}
	// The transport stops the read early; this holds for remote options
	// that do not come from a registry.Client too.
	if int64(len(desc.Manifest)) > limit {
		return nil, &LimitError{What: what, Of: ref.String(), Size: int64(len(desc.Manifest)), Limit: limit, Setting: SettingMaxManifestBytes}
	}
	return desc, nil
}

// withManifestLimit bounds the manifests read under ctx by a Verifier.
func (v *Verifier) withManifestLimit(ctx context.Context) context.Context {
	return registry.WithManifestLimit(ctx, v.opts.maxManifestSize)
}

// WithMaxManifestSize bounds every manifest, index and referrers response
// a verification reads (the image's manifest or index, its referrers index
// from the API or the fallback tag, each referrer manifest), in bytes: a
// larger one, declared or sent, is an error wrapping a *LimitError
// (hallmark.ErrTooLarge) before more than n bytes are held. n may not
// exceed 100 MiB, go-containerregistry's own limit. The default is
// DefaultMaxManifestSize (4 MiB).
func WithMaxManifestSize(n int64) ImageOption {
	return imageOption(func(o *options) error {
		if n < 1 || n > maxManifestSizeCap {
			return fmt.Errorf("%w: max manifest size %d is not between 1 and %d", hallmark.ErrInvalid, n, maxManifestSizeCap)
		}
		o.maxManifestSize = n
		return nil
	})
}

// WithMaxReferrers bounds the entries of an image's referrers index, of
// every artifact type, that a verification examines: an image with more is
// an error wrapping a *LimitError (hallmark.ErrTooLarge), never a verdict
// on some of them. The default is DefaultMaxReferrers (1024).
func WithMaxReferrers(n int) ImageOption {
	return imageOption(func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: max referrers %d is below 1", hallmark.ErrInvalid, n)
		}
		o.maxReferrers = n
		return nil
	})
}

package verify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// Size limits for what is read from a registry (and registry.MaxBundleSize
// for bundles).
const (
	// MaxManifestSize is the largest referrer manifest List reads.
	MaxManifestSize = 4 << 20
	// MaxReferrers is the most bundle referrer manifests List fetches for one
	// subject; a registry that lists more gets the newest MaxReferrers
	// considered.
	MaxReferrers = 1024
)

// bundlePrefix is the media type prefix of every Sigstore bundle version;
// List accepts layers with it, as cosign does, and verification decides
// which versions it supports.
const bundlePrefix = "application/vnd.dev.sigstore.bundle"

// Referrer is a Sigstore bundle attached to an image as an OCI referrer. Its
// fields come from the registry and are untrusted until the bundle is
// verified.
type Referrer struct {
	// Ref names the referrer manifest: the subject's repository @ Digest.
	Ref name.Digest
	// Digest is the referrer manifest's digest.
	Digest hallmark.Digest
	// ArtifactType is the manifest's artifactType.
	ArtifactType string
	// PredicateType is the registry.AnnotationPredicateType annotation, if
	// any.
	PredicateType string
	// Created is the registry.AnnotationCreated annotation, or zero.
	Created time.Time
	// SignerIssuer and SignerIdentity are the registry.AnnotationSignerIssuer
	// and registry.AnnotationSignerIdentity hints, if any: what the
	// publisher says the bundle's certificate holds.
	SignerIssuer, SignerIdentity string
	// Annotations are all of the manifest's annotations.
	Annotations map[string]string
	// BundleDigest, BundleSize and BundleMediaType describe the layer that
	// holds the bundle.
	BundleDigest    hallmark.Digest
	BundleSize      int64
	BundleMediaType string
}

// List returns the Sigstore bundle referrers of subject, oldest first: from
// the referrers API, or from the "sha256-<hex>" fallback tag on registries
// without it. Referrers of other artifact types, manifests that are not
// bundle referrers of subject and referrers whose manifest is gone are left
// out; of more than MaxReferrers candidates, the newest are kept. A subject
// without referrers, or one that does not exist, has none. The referrers
// index and each manifest are read up to MaxManifestSize bytes.
//
// List fetches every referrer manifest; a Verifier reads fewer (see
// ImageResult.Superseded).
//
// Errors wrap hallmark.ErrUnavailable when the registry could not be
// reached or failed, hallmark.ErrPermissionDenied when it refused access,
// hallmark.ErrCanceled when ctx ended (registry.Error), and a *LimitError
// (hallmark.ErrTooLarge) for a manifest over the size limit.
func List(ctx context.Context, subject name.Digest, opts ...remote.Option) ([]Referrer, error) {
	ctx = registry.WithManifestLimit(ctx, MaxManifestSize)
	ropts := withContext(ctx, opts)
	cands, err := list(ctx, subject, listLimits{manifest: MaxManifestSize}, ropts)
	if err != nil {
		return nil, err
	}
	if len(cands) > MaxReferrers {
		cands = cands[len(cands)-MaxReferrers:]
	}
	var out []Referrer
	for _, d := range cands {
		r, err := describe(ctx, subject, d, MaxManifestSize, ropts)
		if errors.Is(err, errNotBundle) || errors.Is(err, hallmark.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list referrers of %s: %w", subject, err)
		}
		out = append(out, r)
	}
	sortReferrers(out)
	return out, nil
}

// listLimits bound what list reads.
type listLimits struct {
	// manifest bounds the referrers index and each referrer manifest, in
	// bytes; ctx should carry it too (registry.WithManifestLimit).
	manifest int64
	// referrers bounds the entries of the referrers index; 0 is no limit.
	referrers int
}

// list reads subject's referrers index and returns the entries that may be
// bundle referrers (candidates), oldest first, without fetching any of
// them.
func list(ctx context.Context, subject name.Digest, lim listLimits, ropts []remote.Option) ([]v1.Descriptor, error) {
	// A registry without the referrers API costs no second round trip.
	idx, err := remote.Referrers(subject, withContext(registry.WithFallbackAhead(ctx), ropts)...)
	if err != nil {
		err = overLimit(registry.Error(ctx, err), "referrers index", subject.String(), SettingMaxManifestBytes)
		return nil, fmt.Errorf("list referrers of %s: %w", subject, err)
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", subject, registry.Error(ctx, err))
	}
	if int64(len(raw)) > lim.manifest {
		return nil, &LimitError{What: "referrers index", Of: subject.String(), Size: int64(len(raw)), Limit: lim.manifest, Setting: SettingMaxManifestBytes}
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", subject, registry.Error(ctx, err))
	}
	if lim.referrers > 0 && len(im.Manifests) > lim.referrers {
		return nil, &LimitError{What: "referrers index", Of: subject.String(), Size: int64(len(im.Manifests)),
			Limit: int64(lim.referrers), Unit: "entries", Setting: SettingMaxReferrers}
	}
	return candidates(im.Manifests, lim.manifest), nil
}

// candidates returns the index entries that may be bundle referrers (none
// declared over maxSize bytes), without repeats, oldest first by the
// creation annotation the registry copied into the index (entries without
// one count as oldest).
func candidates(ds []v1.Descriptor, maxSize int64) []v1.Descriptor {
	type entry struct {
		d       v1.Descriptor
		created time.Time
	}
	var es []entry
	seen := map[v1.Hash]bool{}
	for _, d := range ds {
		if seen[d.Digest] || !maybeBundle(d, maxSize) {
			continue
		}
		seen[d.Digest] = true
		t, _ := time.Parse(time.RFC3339, d.Annotations[registry.AnnotationCreated])
		es = append(es, entry{d, t})
	}
	slices.SortStableFunc(es, func(a, b entry) int { return a.created.Compare(b.created) })
	out := make([]v1.Descriptor, len(es))
	for i, e := range es {
		out[i] = e.d
	}
	return out
}

func sortReferrers(rs []Referrer) {
	slices.SortFunc(rs, func(a, b Referrer) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(string(a.Digest), string(b.Digest)))
	})
}

// maybeBundle skips index entries that cannot be bundle referrers without
// fetching them. Some registries (go-containerregistry's own among them)
// report the config media type as artifactType, so "empty" is a maybe.
func maybeBundle(d v1.Descriptor, maxSize int64) bool {
	if (d.MediaType != types.OCIManifestSchema1 && d.MediaType != "") || d.Size > maxSize {
		return false
	}
	switch d.ArtifactType {
	case "", registry.MediaTypeEmpty:
		return true
	default:
		return strings.HasPrefix(d.ArtifactType, bundlePrefix)
	}
}

var errNotBundle = errors.New("not a bundle referrer")

// describe fetches a referrer manifest of at most limit bytes and checks
// that it is a bundle referrer of subject.
func describe(ctx context.Context, subject name.Digest, d v1.Descriptor, limit int64, ropts []remote.Option) (Referrer, error) {
	ref := subject.Context().Digest(d.Digest.String())
	got, err := getManifest(ctx, ref, limit, "referrer manifest", ropts)
	if err != nil {
		return Referrer{}, fmt.Errorf("fetch referrer %s: %w", ref, err)
	}
	r, err := parseReferrer(got.Manifest, subject.DigestStr())
	if err != nil {
		return Referrer{}, err
	}
	r.Ref = ref
	r.Digest = hallmark.Digest(d.Digest.String())
	return r, nil
}

// parseReferrer reads a referrer manifest from untrusted bytes: an OCI
// manifest whose subject is subjectDigest and whose only layer has a
// Sigstore bundle media type and a sha256 digest. Anything else is
// errNotBundle. Ref and Digest are left for the caller.
func parseReferrer(raw []byte, subjectDigest string) (Referrer, error) {
	if len(raw) > MaxManifestSize {
		return Referrer{}, errNotBundle
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return Referrer{}, errNotBundle
	}
	if m.Subject == nil || m.Subject.Digest.String() != subjectDigest || len(m.Layers) != 1 {
		return Referrer{}, errNotBundle
	}
	l := m.Layers[0]
	d, err := hallmark.ParseDigest(l.Digest.String())
	if err != nil || !strings.HasPrefix(string(l.MediaType), bundlePrefix) || l.Size < 0 {
		return Referrer{}, errNotBundle
	}
	artifactType := m.ArtifactType
	if artifactType == "" {
		artifactType = string(m.Config.MediaType)
	}
	r := Referrer{
		ArtifactType:    artifactType,
		PredicateType:   m.Annotations[registry.AnnotationPredicateType],
		SignerIssuer:    m.Annotations[registry.AnnotationSignerIssuer],
		SignerIdentity:  m.Annotations[registry.AnnotationSignerIdentity],
		Annotations:     m.Annotations,
		BundleDigest:    d,
		BundleSize:      l.Size,
		BundleMediaType: string(l.MediaType),
	}
	if t, err := time.Parse(time.RFC3339, m.Annotations[registry.AnnotationCreated]); err == nil {
		r.Created = t
	}
	return r, nil
}

// Fetch returns the bundle of a referrer found by List, checked against its
// digest and at most registry.MaxBundleSize bytes. The bundle is still
// unverified.
//
// Errors wrap hallmark.ErrTooLarge for a bundle over the limit,
// hallmark.ErrInvalid for one that does not match its digest or size, and
// the classes of registry.Error for registry failures: hallmark.ErrNotFound
// when the registry does not have it, hallmark.ErrPermissionDenied when it
// refused access, hallmark.ErrUnavailable when it could not be reached or
// failed.
func Fetch(ctx context.Context, r Referrer, opts ...remote.Option) ([]byte, error) {
	return fetch(ctx, r, registry.MaxBundleSize, withContext(ctx, opts))
}

// fetch is Fetch with a size limit.
func fetch(ctx context.Context, r Referrer, limit int64, ropts []remote.Option) ([]byte, error) {
	want, err := hallmark.ParseDigest(string(r.BundleDigest))
	if err != nil {
		return nil, fmt.Errorf("fetch bundle: %w", err)
	}
	ref := r.Ref.Context().Digest(want.String())
	b, err := registry.ReadBlob(ctx, ref, r.BundleSize, limit, ropts...)
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s: %w", ref, err)
	}
	return b, nil
}

func withContext(ctx context.Context, opts []remote.Option) []remote.Option {
	return append(slices.Clip(opts), remote.WithContext(ctx))
}

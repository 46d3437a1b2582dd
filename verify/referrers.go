package verify

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark"
)

// Identifiers of a Sigstore bundle referrer manifest, as cosign v3 writes
// them (attest/publish writes exactly that layout).
const (
	// ArtifactType is the referrer manifest's artifactType and its layer's
	// media type.
	ArtifactType = hallmark.MediaTypeBundleV03
	// MediaTypeEmpty is the media type of the empty config, "{}".
	MediaTypeEmpty = "application/vnd.oci.empty.v1+json"
	// AnnotationPredicateType is the in-toto predicate type of the bundle's
	// statement. It is unsigned: only the verified statement says what the
	// predicate type is.
	AnnotationPredicateType = "dev.sigstore.bundle.predicateType"
	// AnnotationCreated is the OCI creation time, RFC 3339 in UTC.
	AnnotationCreated = "org.opencontainers.image.created"
)

// Size limits for what is read from a registry.
const (
	// MaxBundleSize is the largest bundle Fetch reads (and the largest
	// attest/publish writes).
	MaxBundleSize = 16 << 20
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
	// PredicateType is the AnnotationPredicateType annotation, if any.
	PredicateType string
	// Created is the AnnotationCreated annotation, or zero.
	Created time.Time
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
// without referrers, or one that does not exist, has none.
//
// Errors wrap hallmark.ErrUnavailable when the registry could not be
// reached or failed, and hallmark.ErrCanceled when ctx ended.
func List(ctx context.Context, subject name.Digest, opts ...remote.Option) ([]Referrer, error) {
	refs, _, err := list(ctx, subject, MaxReferrers, withContext(ctx, opts))
	return refs, err
}

// list is List with a limit on the referrer manifests fetched. It also
// returns how many candidates were left out because of the limit.
func list(ctx context.Context, subject name.Digest, limit int, ropts []remote.Option) ([]Referrer, int, error) {
	idx, err := remote.Referrers(subject, ropts...)
	if err != nil {
		return nil, 0, fmt.Errorf("list referrers of %s: %w", subject, RegistryError(ctx, err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, 0, fmt.Errorf("list referrers of %s: %w", subject, RegistryError(ctx, err))
	}
	candidates := candidates(im.Manifests)
	omitted := 0
	if len(candidates) > limit {
		omitted = len(candidates) - limit
		candidates = candidates[len(candidates)-limit:]
	}
	var out []Referrer
	for _, d := range candidates {
		r, err := describe(ctx, subject, d, ropts)
		if errors.Is(err, errNotBundle) || errors.Is(err, hallmark.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("list referrers of %s: %w", subject, err)
		}
		out = append(out, r)
	}
	sortReferrers(out)
	return out, omitted, nil
}

// candidates returns the index entries that may be bundle referrers, without
// repeats, oldest first by the creation annotation the registry copied
// into the index (entries without one count as oldest).
func candidates(ds []v1.Descriptor) []v1.Descriptor {
	var out []v1.Descriptor
	seen := map[v1.Hash]bool{}
	for _, d := range ds {
		if seen[d.Digest] || !maybeBundle(d) {
			continue
		}
		seen[d.Digest] = true
		out = append(out, d)
	}
	created := func(d v1.Descriptor) time.Time {
		t, _ := time.Parse(time.RFC3339, d.Annotations[AnnotationCreated])
		return t
	}
	slices.SortStableFunc(out, func(a, b v1.Descriptor) int { return created(a).Compare(created(b)) })
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
func maybeBundle(d v1.Descriptor) bool {
	if (d.MediaType != types.OCIManifestSchema1 && d.MediaType != "") || d.Size > MaxManifestSize {
		return false
	}
	switch d.ArtifactType {
	case "", MediaTypeEmpty:
		return true
	default:
		return strings.HasPrefix(d.ArtifactType, bundlePrefix)
	}
}

var errNotBundle = errors.New("not a bundle referrer")

// describe fetches a referrer manifest and checks that it is a bundle
// referrer of subject.
func describe(ctx context.Context, subject name.Digest, d v1.Descriptor, ropts []remote.Option) (Referrer, error) {
	ref := subject.Context().Digest(d.Digest.String())
	got, err := remote.Get(ref, ropts...)
	if err != nil {
		return Referrer{}, fmt.Errorf("fetch referrer %s: %w", ref, RegistryError(ctx, err))
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
		PredicateType:   m.Annotations[AnnotationPredicateType],
		Annotations:     m.Annotations,
		BundleDigest:    d,
		BundleSize:      l.Size,
		BundleMediaType: string(l.MediaType),
	}
	if t, err := time.Parse(time.RFC3339, m.Annotations[AnnotationCreated]); err == nil {
		r.Created = t
	}
	return r, nil
}

// Fetch returns the bundle of a referrer found by List, checked against its
// digest and at most MaxBundleSize bytes. The bundle is still unverified.
//
// Errors wrap hallmark.ErrTooLarge for a bundle over the limit,
// hallmark.ErrInvalid for one that does not match its digest or size,
// hallmark.ErrNotFound when the registry does not have it, and
// hallmark.ErrUnavailable when the registry could not be reached or failed.
func Fetch(ctx context.Context, r Referrer, opts ...remote.Option) ([]byte, error) {
	return fetch(ctx, r, MaxBundleSize, withContext(ctx, opts))
}

// fetch is Fetch with a size limit.
func fetch(ctx context.Context, r Referrer, limit int64, ropts []remote.Option) ([]byte, error) {
	want, err := hallmark.ParseDigest(string(r.BundleDigest))
	if err != nil {
		return nil, fmt.Errorf("fetch bundle: %w", err)
	}
	if r.BundleSize > limit {
		return nil, fmt.Errorf("fetch bundle %s: %w: %d bytes, over the %d-byte limit", want, hallmark.ErrTooLarge, r.BundleSize, limit)
	}
	ref := r.Ref.Context().Digest(want.String())
	layer, err := remote.Layer(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s: %w", ref, RegistryError(ctx, err))
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s: %w", ref, RegistryError(ctx, err))
	}
	defer func() { _ = rc.Close() }()
	h := sha256.New()
	b, err := io.ReadAll(io.TeeReader(io.LimitReader(rc, limit+1), h))
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s: %w", ref, RegistryError(ctx, err))
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("fetch bundle %s: %w: over the %d-byte limit", ref, hallmark.ErrTooLarge, limit)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != want.String() || int64(len(b)) != r.BundleSize {
		return nil, fmt.Errorf("fetch bundle %s: %w: registry sent %d bytes with digest %s", ref, hallmark.ErrInvalid, len(b), got)
	}
	return b, nil
}

func withContext(ctx context.Context, opts []remote.Option) []remote.Option {
	return append(slices.Clip(opts), remote.WithContext(ctx))
}

// RegistryError classifies an error from a registry call made under ctx:
// retryable failures (5xx, 429, network, deadline) wrap
// hallmark.ErrUnavailable, a missing manifest or blob hallmark.ErrNotFound,
// and cancellation hallmark.ErrCanceled. Other errors are returned as they
// are. attest/publish uses it too.
func RegistryError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("%w: %w", hallmark.ErrCanceled, err)
		}
		return fmt.Errorf("%w: %w", hallmark.ErrUnavailable, err)
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w: %w", hallmark.ErrNotFound, err)
		case terr.StatusCode >= 500 || terr.StatusCode == http.StatusTooManyRequests:
			return fmt.Errorf("%w: %w", hallmark.ErrUnavailable, err)
		}
		return err
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		return fmt.Errorf("%w: %w", hallmark.ErrUnavailable, err)
	}
	return err
}

package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark"
)

// Identifiers of the referrer manifest, as cosign v3 writes them.
const (
	// ArtifactType is the referrer manifest's artifactType and its layer's
	// media type.
	ArtifactType = hallmark.MediaTypeBundleV03
	// MediaTypeEmpty is the media type of the empty config, "{}".
	MediaTypeEmpty = "application/vnd.oci.empty.v1+json"
	// AnnotationContent says what the bundle carries; Hallmark's bundles
	// always carry ContentDSSE.
	AnnotationContent = "dev.sigstore.bundle.content"
	// ContentDSSE is AnnotationContent's value for a DSSE envelope.
	ContentDSSE = "dsse-envelope"
	// AnnotationPredicateType is the in-toto predicate type of the bundle's
	// statement.
	AnnotationPredicateType = "dev.sigstore.bundle.predicateType"
	// AnnotationCreated is the OCI creation time, RFC 3339 in UTC.
	AnnotationCreated = "org.opencontainers.image.created"
)

// Size limits for what is read from or written to a registry.
const (
	// MaxBundleSize is the largest bundle Publish writes and Fetch reads.
	MaxBundleSize = 16 << 20
	// MaxManifestSize is the largest referrer manifest List reads.
	MaxManifestSize = 4 << 20
)

// emptyConfig is the OCI empty descriptor's content.
var emptyConfig = []byte("{}")

// bundlePrefix is the media type prefix of every Sigstore bundle version;
// List accepts layers with it, as cosign does.
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

// Publish pushes bundle as an OCI referrer of subject, an image manifest (or
// index) that must exist, and returns the referrer manifest's digest. The
// manifest is the one cosign v3 writes (see the package doc), annotated with
// predicateType. On registries without the referrers API, the subject's
// "sha256-<hex>" fallback tag is updated too.
//
// Publishing the same bundle with the same predicate type again returns the
// existing referrer without pushing. Errors wrap hallmark.ErrNotFound when
// the subject does not exist, hallmark.ErrUnavailable when the registry could
// not be reached or failed, hallmark.ErrInvalid or hallmark.ErrTooLarge for a
// bundle that cannot be published.
func Publish(ctx context.Context, subject name.Digest, bundle []byte, predicateType string, opts ...remote.Option) (hallmark.Digest, error) {
	if err := checkBundle(bundle, predicateType); err != nil {
		return "", fmt.Errorf("publish bundle for %s: %w", subject, err)
	}
	mu := subjectLock(subject)
	mu.Lock()
	defer mu.Unlock()

	ropts := withContext(ctx, opts)
	desc, err := remote.Head(subject, ropts...)
	if err != nil {
		err = classify(ctx, err)
		if errors.Is(err, hallmark.ErrNotFound) {
			return "", fmt.Errorf("publish bundle: subject %s does not exist: %w", subject, err)
		}
		return "", fmt.Errorf("publish bundle: look up subject %s: %w", subject, err)
	}
	if desc.Digest.String() != subject.DigestStr() {
		return "", fmt.Errorf("publish bundle: registry answered digest %s for subject %s", desc.Digest, subject)
	}

	sum := sha256.Sum256(bundle)
	bundleDigest := hallmark.Digest("sha256:" + hex.EncodeToString(sum[:]))
	existing, err := List(ctx, subject, opts...)
	if err != nil {
		return "", fmt.Errorf("publish bundle: %w", err)
	}
	for _, r := range existing {
		if r.BundleDigest == bundleDigest && r.PredicateType == predicateType && r.ArtifactType == ArtifactType {
			return r.Digest, nil
		}
	}

	repo := subject.Context()
	config := static.NewLayer(emptyConfig, MediaTypeEmpty)
	layer := static.NewLayer(bundle, ArtifactType)
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(repo, l, ropts...); err != nil {
			return "", fmt.Errorf("publish bundle: upload blob to %s: %w", repo, classify(ctx, err))
		}
	}
	raw, err := referrerManifest(desc, bundle, predicateType, time.Now())
	if err != nil {
		return "", fmt.Errorf("publish bundle: %w", err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("publish bundle: hash manifest: %w", err)
	}
	ref := repo.Digest(h.String())
	if err := remote.Put(ref, manifest(raw), ropts...); err != nil {
		return "", fmt.Errorf("publish bundle: push referrer %s: %w", ref, classify(ctx, err))
	}
	return hallmark.Digest(h.String()), nil
}

// referrerManifest builds the manifest bytes exactly as cosign v3's
// WriteReferrer does, including the artifactType inside the config
// descriptor.
func referrerManifest(subject *v1.Descriptor, bundle []byte, predicateType string, created time.Time) ([]byte, error) {
	config := static.NewLayer(emptyConfig, MediaTypeEmpty)
	configDigest, err := config.Digest()
	if err != nil {
		return nil, fmt.Errorf("hash config: %w", err)
	}
	layer := static.NewLayer(bundle, ArtifactType)
	layerDigest, err := layer.Digest()
	if err != nil {
		return nil, fmt.Errorf("hash bundle: %w", err)
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{
			MediaType:    MediaTypeEmpty,
			ArtifactType: ArtifactType,
			Digest:       configDigest,
			Size:         int64(len(emptyConfig)),
		},
		Layers: []v1.Descriptor{{
			MediaType: ArtifactType,
			Digest:    layerDigest,
			Size:      int64(len(bundle)),
		}},
		Subject: &v1.Descriptor{
			MediaType: subject.MediaType,
			Digest:    subject.Digest,
			Size:      subject.Size,
		},
		Annotations: map[string]string{
			AnnotationCreated:       created.UTC().Format(time.RFC3339),
			AnnotationContent:       ContentDSSE,
			AnnotationPredicateType: predicateType,
		},
		ArtifactType: ArtifactType,
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return b, nil
}

// manifest is a raw OCI image manifest for remote.Put.
type manifest []byte

var _ remote.Taggable = manifest(nil)

func (m manifest) RawManifest() ([]byte, error)        { return m, nil }
func (m manifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// checkBundle accepts a bundle v0.3 JSON with a DSSE envelope, the only kind
// the referrer's AnnotationContent describes.
func checkBundle(bundle []byte, predicateType string) error {
	if len(bundle) > MaxBundleSize {
		return fmt.Errorf("%w: bundle is %d bytes, over %d", hallmark.ErrTooLarge, len(bundle), MaxBundleSize)
	}
	if predicateType == "" {
		return fmt.Errorf("%w: no predicate type", hallmark.ErrInvalid)
	}
	var b struct {
		MediaType    string `json:"mediaType"`
		DsseEnvelope *struct {
			PayloadType string `json:"payloadType"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return fmt.Errorf("%w: bundle is not JSON: %w", hallmark.ErrInvalid, err)
	}
	if b.MediaType != hallmark.MediaTypeBundleV03 {
		return fmt.Errorf("%w: bundle media type is %q, want %q", hallmark.ErrInvalid, b.MediaType, hallmark.MediaTypeBundleV03)
	}
	if b.DsseEnvelope == nil {
		return fmt.Errorf("%w: bundle has no DSSE envelope", hallmark.ErrInvalid)
	}
	return nil
}

// List returns the Sigstore bundle referrers of subject, oldest first: from
// the referrers API, or from the "sha256-<hex>" fallback tag on registries
// without it. Referrers of other artifact types, manifests that are not
// bundle referrers of subject and referrers whose manifest is gone are left
// out. A subject without referrers, or one that does not exist, has none.
func List(ctx context.Context, subject name.Digest, opts ...remote.Option) ([]Referrer, error) {
	ropts := withContext(ctx, opts)
	idx, err := remote.Referrers(subject, ropts...)
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", subject, classify(ctx, err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", subject, classify(ctx, err))
	}
	var out []Referrer
	seen := map[v1.Hash]bool{}
	for _, d := range im.Manifests {
		if seen[d.Digest] || !maybeBundle(d) {
			continue
		}
		seen[d.Digest] = true
		r, err := describe(ctx, subject, d, ropts)
		if errors.Is(err, errNotBundle) || errors.Is(err, hallmark.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list referrers of %s: %w", subject, err)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Referrer) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(string(a.Digest), string(b.Digest))
	})
	return out, nil
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
		return Referrer{}, fmt.Errorf("fetch referrer %s: %w", ref, classify(ctx, err))
	}
	if len(got.Manifest) > MaxManifestSize {
		return Referrer{}, errNotBundle
	}
	var m v1.Manifest
	if err := json.Unmarshal(got.Manifest, &m); err != nil {
		return Referrer{}, errNotBundle
	}
	if m.Subject == nil || m.Subject.Digest.String() != subject.DigestStr() || len(m.Layers) != 1 {
		return Referrer{}, errNotBundle
	}
	l := m.Layers[0]
	if !strings.HasPrefix(string(l.MediaType), bundlePrefix) || l.Digest.Algorithm != "sha256" {
		return Referrer{}, errNotBundle
	}
	artifactType := m.ArtifactType
	if artifactType == "" {
		artifactType = string(m.Config.MediaType)
	}
	r := Referrer{
		Ref:             ref,
		Digest:          hallmark.Digest(d.Digest.String()),
		ArtifactType:    artifactType,
		PredicateType:   m.Annotations[AnnotationPredicateType],
		Annotations:     m.Annotations,
		BundleDigest:    hallmark.Digest(l.Digest.String()),
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
func Fetch(ctx context.Context, r Referrer, opts ...remote.Option) ([]byte, error) {
	want, err := hallmark.ParseDigest(string(r.BundleDigest))
	if err != nil {
		return nil, fmt.Errorf("fetch bundle: %w", err)
	}
	if r.BundleSize > MaxBundleSize {
		return nil, fmt.Errorf("fetch bundle %s: %w: %d bytes, over %d", want, hallmark.ErrTooLarge, r.BundleSize, MaxBundleSize)
	}
	ref := r.Ref.Context().Digest(want.String())
	layer, err := remote.Layer(ref, withContext(ctx, opts)...)
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s: %w", ref, classify(ctx, err))
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s: %w", ref, classify(ctx, err))
	}
	defer func() { _ = rc.Close() }()
	h := sha256.New()
	b, err := io.ReadAll(io.TeeReader(io.LimitReader(rc, MaxBundleSize+1), h))
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s: %w", ref, classify(ctx, err))
	}
	if len(b) > MaxBundleSize {
		return nil, fmt.Errorf("fetch bundle %s: %w: over %d bytes", ref, hallmark.ErrTooLarge, MaxBundleSize)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != want.String() || int64(len(b)) != r.BundleSize {
		return nil, fmt.Errorf("fetch bundle %s: %w: registry sent %d bytes with digest %s", ref, hallmark.ErrInvalid, len(b), got)
	}
	return b, nil
}

func withContext(ctx context.Context, opts []remote.Option) []remote.Option {
	return append(slices.Clip(opts), remote.WithContext(ctx))
}

// classify marks registry errors that retrying may fix, a missing manifest
// or blob, and cancellation.
func classify(ctx context.Context, err error) error {
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

// subjectLocks serialise Publish calls per subject, because the fallback tag
// is updated read-modify-write.
var subjectLocks [64]sync.Mutex

func subjectLock(subject name.Digest) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(subject.Context().Name() + "@" + subject.DigestStr()))
	return &subjectLocks[h.Sum32()%uint32(len(subjectLocks))]
}

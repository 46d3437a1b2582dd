package publish

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"golang.org/x/sync/errgroup"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/verify"
)

// emptyConfig is the OCI empty descriptor's content.
var emptyConfig = []byte("{}")

// Bundle is a Sigstore bundle to publish, with its statement's predicate
// type.
type Bundle struct {
	Data          []byte
	PredicateType string
}

// Publish pushes bundle as an OCI referrer of subject, an image manifest (or
// index) that must exist, and returns the referrer manifest's digest. The
// manifest is the one cosign v3 writes (see the package doc), annotated with
// predicateType and Hallmark's hints. On registries without the referrers
// API, the subject's "sha256-<hex>" fallback tag is updated too.
//
// Publishing the same bundle with the same predicate type again returns the
// existing referrer without pushing. opts are the options of the registry
// calls (registry.Client.RemoteOptions, say). Errors wrap
// hallmark.ErrNotFound when the subject does not exist,
// hallmark.ErrPermissionDenied when the registry refuses access,
// hallmark.ErrUnavailable when it could not be reached or failed (see
// registry.Error), hallmark.ErrInvalid or hallmark.ErrTooLarge for a bundle
// that cannot be published.
func Publish(ctx context.Context, subject name.Digest, bundle []byte, predicateType string, opts ...remote.Option) (hallmark.Digest, error) {
	ds, err := PublishAll(ctx, subject, []Bundle{{Data: bundle, PredicateType: predicateType}}, opts...)
	if err != nil {
		return "", err
	}
	return ds[0], nil
}

// PublishAll is Publish for several bundles about one subject, with one
// look-up of the subject and of its referrers, and the blobs uploaded in
// parallel. It returns the referrer digests in the order of bundles. A
// failure can leave some bundles published: publishing them again is
// harmless.
func PublishAll(ctx context.Context, subject name.Digest, bundles []Bundle, opts ...remote.Option) ([]hallmark.Digest, error) {
	hints := make([]map[string]string, len(bundles))
	for i, b := range bundles {
		var err error
		if hints[i], err = checkBundle(b.Data, b.PredicateType); err != nil {
			return nil, fmt.Errorf("publish bundle for %s: %w", subject, err)
		}
	}
	mu := subjectLock(subject)
	mu.Lock()
	defer mu.Unlock()

	ropts := withContext(ctx, opts)
	desc, err := remote.Head(subject, ropts...)
	if err != nil {
		err = registry.Error(ctx, err)
		if errors.Is(err, hallmark.ErrNotFound) {
			return nil, fmt.Errorf("publish bundle: subject %s does not exist: %w", subject, err)
		}
		return nil, fmt.Errorf("publish bundle: look up subject %s: %w", subject, err)
	}
	if desc.Digest.String() != subject.DigestStr() {
		return nil, fmt.Errorf("publish bundle: registry answered digest %s for subject %s", desc.Digest, subject)
	}
	existing, err := referrers(ctx, subject, opts)
	if err != nil {
		return nil, fmt.Errorf("publish bundle: %w", err)
	}
	out := make([]hallmark.Digest, len(bundles))
	var todo []int
	for i, b := range bundles {
		if out[i] = published(ctx, subject, existing, b, hints[i][registry.AnnotationBundleDigest], opts); out[i] == "" {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return out, nil
	}

	repo := subject.Context()
	layers := []v1.Layer{static.NewLayer(emptyConfig, registry.MediaTypeEmpty)}
	for _, i := range todo {
		layers = append(layers, static.NewLayer(bundles[i].Data, registry.BundleArtifactType))
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, l := range layers {
		g.Go(func() error {
			if err := remote.WriteLayer(repo, l, withContext(gctx, opts)...); err != nil {
				return fmt.Errorf("publish bundle: upload blob to %s: %w", repo, registry.Error(gctx, err))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// One manifest at a time: on registries without the referrers API each
	// put rewrites the fallback tag.
	now := time.Now()
	for _, i := range todo {
		raw, err := referrerManifest(desc, bundles[i].Data, bundles[i].PredicateType, now, hints[i])
		if err != nil {
			return nil, fmt.Errorf("publish bundle: %w", err)
		}
		h, _, err := v1.SHA256(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("publish bundle: hash manifest: %w", err)
		}
		ref := repo.Digest(h.String())
		if err := remote.Put(ref, registry.OCIManifest(raw), ropts...); err != nil {
			return nil, fmt.Errorf("publish bundle: push referrer %s: %w", ref, registry.Error(ctx, err))
		}
		out[i] = hallmark.Digest(h.String())
	}
	return out, nil
}

// referrers reads the referrers index of subject, in one round trip on a
// registry without the referrers API too.
func referrers(ctx context.Context, subject name.Digest, opts []remote.Option) ([]v1.Descriptor, error) {
	ctx = registry.WithFallbackAhead(registry.WithManifestLimit(ctx, verify.MaxManifestSize))
	idx, err := remote.Referrers(subject, withContext(ctx, opts)...)
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", subject, registry.Error(ctx, err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", subject, registry.Error(ctx, err))
	}
	return im.Manifests, nil
}

// published returns the digest of a referrer among existing that holds b,
// or "" if there is none. It trusts an entry's hints only after fetching
// that entry's manifest.
func published(ctx context.Context, subject name.Digest, existing []v1.Descriptor, b Bundle, bundleDigest string, opts []remote.Option) hallmark.Digest {
	ctx = registry.WithManifestLimit(ctx, verify.MaxManifestSize)
	for _, d := range existing {
		// Not the artifactType: go-containerregistry's own registry reports
		// the config's media type there.
		if d.Annotations[registry.AnnotationBundleDigest] != bundleDigest || d.Annotations[registry.AnnotationPredicateType] != b.PredicateType {
			continue
		}
		got, err := remote.Get(subject.Context().Digest(d.Digest.String()), withContext(ctx, opts)...)
		if err != nil {
			continue
		}
		var m v1.Manifest
		if json.Unmarshal(got.Manifest, &m) == nil && m.Subject != nil && m.Subject.Digest.String() == subject.DigestStr() &&
			len(m.Layers) == 1 && m.Layers[0].Digest.String() == bundleDigest && m.ArtifactType == registry.BundleArtifactType &&
			m.Annotations[registry.AnnotationPredicateType] == b.PredicateType {
			return hallmark.Digest(d.Digest.String())
		}
	}
	return ""
}

// referrerManifest builds the manifest bytes exactly as cosign v3's
// WriteReferrer does, including the artifactType inside the config
// descriptor, with hints added to its annotations.
func referrerManifest(subject *v1.Descriptor, bundle []byte, predicateType string, created time.Time, hints map[string]string) ([]byte, error) {
	config := static.NewLayer(emptyConfig, registry.MediaTypeEmpty)
	configDigest, err := config.Digest()
	if err != nil {
		return nil, fmt.Errorf("hash config: %w", err)
	}
	layer := static.NewLayer(bundle, registry.BundleArtifactType)
	layerDigest, err := layer.Digest()
	if err != nil {
		return nil, fmt.Errorf("hash bundle: %w", err)
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{
			MediaType:    registry.MediaTypeEmpty,
			ArtifactType: registry.BundleArtifactType,
			Digest:       configDigest,
			Size:         int64(len(emptyConfig)),
		},
		Layers: []v1.Descriptor{{
			MediaType: registry.BundleArtifactType,
			Digest:    layerDigest,
			Size:      int64(len(bundle)),
		}},
		Subject: &v1.Descriptor{
			MediaType: subject.MediaType,
			Digest:    subject.Digest,
			Size:      subject.Size,
		},
		Annotations: map[string]string{
			registry.AnnotationCreated:       created.UTC().Format(time.RFC3339),
			registry.AnnotationBundleContent: registry.BundleContentDSSE,
			registry.AnnotationPredicateType: predicateType,
		},
		ArtifactType: registry.BundleArtifactType,
	}
	for k, v := range hints {
		m.Annotations[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return b, nil
}

// checkBundle accepts a bundle v0.3 JSON with a DSSE envelope, the only kind
// the referrer's registry.AnnotationBundleContent annotation describes, and
// returns the hint annotations for its referrer: the bundle's digest and,
// when the bundle holds a Fulcio certificate, its identity.
func checkBundle(bundle []byte, predicateType string) (map[string]string, error) {
	if len(bundle) > registry.MaxBundleSize {
		return nil, fmt.Errorf("%w: bundle is %d bytes, over %d", hallmark.ErrTooLarge, len(bundle), registry.MaxBundleSize)
	}
	if predicateType == "" {
		return nil, fmt.Errorf("%w: no predicate type", hallmark.ErrInvalid)
	}
	var b struct {
		MediaType    string `json:"mediaType"`
		DsseEnvelope *struct {
			PayloadType string `json:"payloadType"`
		} `json:"dsseEnvelope"`
		VerificationMaterial struct {
			Certificate struct {
				RawBytes []byte `json:"rawBytes"`
			} `json:"certificate"`
		} `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, fmt.Errorf("%w: bundle is not JSON: %w", hallmark.ErrInvalid, err)
	}
	if b.MediaType != hallmark.MediaTypeBundleV03 {
		return nil, fmt.Errorf("%w: bundle media type is %q, want %q", hallmark.ErrInvalid, b.MediaType, hallmark.MediaTypeBundleV03)
	}
	if b.DsseEnvelope == nil {
		return nil, fmt.Errorf("%w: bundle has no DSSE envelope", hallmark.ErrInvalid)
	}
	hints := map[string]string{registry.AnnotationBundleDigest: hallmark.SHA256(bundle).String()}
	if cert, err := x509.ParseCertificate(b.VerificationMaterial.Certificate.RawBytes); err == nil {
		if s, err := certificate.SummarizeCertificate(cert); err == nil && s.Issuer != "" && s.SubjectAlternativeName != "" {
			hints[registry.AnnotationSignerIssuer] = s.Issuer
			hints[registry.AnnotationSignerIdentity] = s.SubjectAlternativeName
		}
	}
	return hints, nil
}

func withContext(ctx context.Context, opts []remote.Option) []remote.Option {
	return append(slices.Clip(opts), remote.WithContext(ctx))
}

// subjectLocks serialise Publish calls per subject, because the fallback tag
// is updated read-modify-write.
var subjectLocks [64]sync.Mutex

func subjectLock(subject name.Digest) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(subject.Context().Name() + "@" + subject.DigestStr()))
	return &subjectLocks[h.Sum32()%uint32(len(subjectLocks))]
}

package publish

import (
	"bytes"
	"context"
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

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify"
)

// Identifiers of the referrer manifest, as cosign v3 writes them. Those a
// reader needs are package verify's; Publish writes them all.
const (
	// ArtifactType is the referrer manifest's artifactType and its layer's
	// media type.
	ArtifactType = verify.ArtifactType
	// MediaTypeEmpty is the media type of the empty config, "{}".
	MediaTypeEmpty = verify.MediaTypeEmpty
	// AnnotationContent says what the bundle carries; Hallmark's bundles
	// always carry ContentDSSE.
	AnnotationContent = "dev.sigstore.bundle.content"
	// ContentDSSE is AnnotationContent's value for a DSSE envelope.
	ContentDSSE = "dsse-envelope"
	// AnnotationPredicateType is the in-toto predicate type of the bundle's
	// statement.
	AnnotationPredicateType = verify.AnnotationPredicateType
	// AnnotationCreated is the OCI creation time, RFC 3339 in UTC.
	AnnotationCreated = verify.AnnotationCreated
)

// MaxBundleSize is the largest bundle Publish writes: the largest that
// verify.Fetch reads.
const MaxBundleSize = verify.MaxBundleSize

// emptyConfig is the OCI empty descriptor's content.
var emptyConfig = []byte("{}")

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
		err = verify.RegistryError(ctx, err)
		if errors.Is(err, hallmark.ErrNotFound) {
			return "", fmt.Errorf("publish bundle: subject %s does not exist: %w", subject, err)
		}
		return "", fmt.Errorf("publish bundle: look up subject %s: %w", subject, err)
	}
	if desc.Digest.String() != subject.DigestStr() {
		return "", fmt.Errorf("publish bundle: registry answered digest %s for subject %s", desc.Digest, subject)
	}

	bundleDigest := hallmark.SHA256(bundle)
	existing, err := verify.List(ctx, subject, opts...)
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
			return "", fmt.Errorf("publish bundle: upload blob to %s: %w", repo, verify.RegistryError(ctx, err))
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
		return "", fmt.Errorf("publish bundle: push referrer %s: %w", ref, verify.RegistryError(ctx, err))
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

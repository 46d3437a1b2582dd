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

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/verify"
)

// emptyConfig is the OCI empty descriptor's content.
var emptyConfig = []byte("{}")

// Publish pushes bundle as an OCI referrer of subject, an image manifest (or
// index) that must exist, and returns the referrer manifest's digest. The
// manifest is the one cosign v3 writes (see the package doc), annotated with
// predicateType. On registries without the referrers API, the subject's
// "sha256-<hex>" fallback tag is updated too.
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
	hints, err := checkBundle(bundle, predicateType)
	if err != nil {
		return "", fmt.Errorf("publish bundle for %s: %w", subject, err)
	}
	mu := subjectLock(subject)
	mu.Lock()
	defer mu.Unlock()

	ropts := withContext(ctx, opts)
	desc, err := remote.Head(subject, ropts...)
	if err != nil {
		err = registry.Error(ctx, err)
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
		if r.BundleDigest == bundleDigest && r.PredicateType == predicateType && r.ArtifactType == registry.BundleArtifactType {
			return r.Digest, nil
		}
	}

	repo := subject.Context()
	config := static.NewLayer(emptyConfig, registry.MediaTypeEmpty)
	layer := static.NewLayer(bundle, registry.BundleArtifactType)
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(repo, l, ropts...); err != nil {
			return "", fmt.Errorf("publish bundle: upload blob to %s: %w", repo, registry.Error(ctx, err))
		}
	}
	raw, err := referrerManifest(desc, bundle, predicateType, time.Now(), hints)
	if err != nil {
		return "", fmt.Errorf("publish bundle: %w", err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("publish bundle: hash manifest: %w", err)
	}
	ref := repo.Digest(h.String())
	if err := remote.Put(ref, manifest(raw), ropts...); err != nil {
		return "", fmt.Errorf("publish bundle: push referrer %s: %w", ref, registry.Error(ctx, err))
	}
	return hallmark.Digest(h.String()), nil
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

// manifest is a raw OCI image manifest for remote.Put.
type manifest []byte

var _ remote.Taggable = manifest(nil)

func (m manifest) RawManifest() ([]byte, error)        { return m, nil }
func (m manifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

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

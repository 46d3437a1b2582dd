package registry

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Identifiers of a Sigstore bundle referrer manifest, as cosign v3 writes
// them: attest/publish writes exactly that layout and verify reads it.
const (
	// BundleArtifactType is the referrer manifest's artifactType and its
	// layer's media type.
	BundleArtifactType = hallmark.MediaTypeBundleV03
	// MediaTypeEmpty is the media type of the empty config, "{}".
	MediaTypeEmpty = "application/vnd.oci.empty.v1+json"
	// AnnotationBundleContent says what the bundle carries; Hallmark's
	// bundles always carry BundleContentDSSE.
	AnnotationBundleContent = "dev.sigstore.bundle.content"
	// BundleContentDSSE is AnnotationBundleContent's value for a DSSE
	// envelope.
	BundleContentDSSE = "dsse-envelope"
	// AnnotationPredicateType is the in-toto predicate type of the bundle's
	// statement. It is unsigned: only the verified statement says what the
	// predicate type is.
	AnnotationPredicateType = "dev.sigstore.bundle.predicateType"
	// AnnotationCreated is the OCI creation time, RFC 3339 in UTC.
	AnnotationCreated = "org.opencontainers.image.created"
)

// Hints Hallmark adds to the cosign layout: the identity in the bundle's
// certificate and the bundle's digest, so that a reader can order and pick
// referrers from the referrers index alone, without fetching each manifest
// and bundle. Like every annotation they are unsigned: a verifier may use
// them only to choose what to verify, never as the result of verifying.
const (
	// AnnotationSignerIssuer is the OIDC issuer in the bundle's
	// certificate.
	AnnotationSignerIssuer = "dev.hallmark.signer.issuer"
	// AnnotationSignerIdentity is the subject alternative name of the
	// bundle's certificate.
	AnnotationSignerIdentity = "dev.hallmark.signer.identity"
	// AnnotationBundleDigest is the sha256 digest of the bundle layer.
	AnnotationBundleDigest = "dev.hallmark.bundle.digest"
)

// MaxBundleSize is the largest Sigstore bundle Hallmark publishes or reads
// from a registry.
const MaxBundleSize = 16 << 20

// FallbackTag returns the tag that lists subject's referrers on registries
// without the referrers API: "sha256-<hex>" in subject's repository (the
// OCI distribution spec's referrers tag schema). go-containerregistry's
// remote.Put maintains it and remote.Referrers reads it.
func FallbackTag(subject name.Digest) name.Tag {
	return subject.Context().Tag(strings.Replace(subject.DigestStr(), ":", "-", 1))
}

// OCIManifest is the bytes of an OCI image manifest, as remote.Put and
// remote.Tag push them.
type OCIManifest []byte

var _ remote.Taggable = OCIManifest(nil)

// RawManifest returns the bytes.
func (m OCIManifest) RawManifest() ([]byte, error) { return m, nil }

// MediaType is the OCI image manifest's.
func (m OCIManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

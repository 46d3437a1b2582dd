package hallmark

import (
	"context"
	"time"
)

// Exact identifiers of the formats Hallmark writes and reads.
const (
	// StatementTypeV1 is the in-toto Statement v1 type.
	StatementTypeV1 = "https://in-toto.io/Statement/v1"
	// StatementTypeV01 is the in-toto Statement v0.1 type, which
	// `cosign attest` (v3) still writes. Hallmark reads it, never writes it.
	StatementTypeV01 = "https://in-toto.io/Statement/v0.1"
	// PayloadTypeInToto is the DSSE payload type of in-toto statements.
	PayloadTypeInToto = "application/vnd.in-toto+json"
	// PredicateSLSAProvenanceV1 is SLSA Provenance v1.
	PredicateSLSAProvenanceV1 = "https://slsa.dev/provenance/v1"
	// PredicateSPDX is an SPDX document (Hallmark writes SPDX 2.3 JSON).
	PredicateSPDX = "https://spdx.dev/Document"
	// PredicateVulns is the in-toto vulnerability scan predicate v0.1,
	// which the gateway signs for every scanned build.
	PredicateVulns = "https://in-toto.io/attestation/vulns/v0.1"
	// PredicateVSA is the SLSA Verification Summary Attestation v1.
	PredicateVSA = "https://slsa.dev/verification_summary/v1"
	// MediaTypeBundleV03 is the Sigstore bundle v0.3 media type, also the
	// artifact type of the OCI referrer that carries one.
	MediaTypeBundleV03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
)

// Attestation is a signed statement about an image, published next to it
// in the registry as an OCI referrer.
type Attestation struct {
	// PredicateType is the statement's predicate type, e.g.
	// PredicateSLSAProvenanceV1.
	PredicateType string
	// Digest is the digest of the referrer manifest that carries the bundle.
	Digest Digest
	// Subject is the digest of the manifest the statement is about and the
	// bundle is a referrer of: the image, or for a multi-platform build the
	// index or one platform's manifest.
	Subject Digest
	// Platform is the platform ("linux/arm64") of the manifest Subject
	// names, for a platform manifest of an index; empty for an image that
	// is not in an index and for the index itself.
	Platform string
	// BundleDigest is the sha256 of the bundle JSON (the referrer's layer).
	BundleDigest Digest
	// SignerIdentity and SignerIssuer are the signing certificate's subject
	// alternative name and OIDC issuer.
	SignerIdentity string
	SignerIssuer   string
	// LogIndex is the transparency log index of the entry, or -1 if the
	// bundle has none.
	LogIndex int64
	// Timestamp is the signed RFC 3161 time, if the bundle has one.
	Timestamp time.Time
	// Packages are the package URLs of an SPDX SBOM's packages, for the
	// store's package index; nil for other statements. The API does not
	// carry them: the signed SBOM is the source of truth.
	Packages []string
}

// Predicate is an in-toto predicate to sign about an image.
type Predicate struct {
	// Type is the predicate type.
	Type string
	// JSON is the predicate, a JSON object.
	JSON []byte
}

// AlsoSign returns more predicates to sign about a built image (for a
// multi-platform build, its index) in the same batch as its SBOMs and
// provenance, so that they cost no extra round of signing. described are
// those attestations before signing: their PredicateType, Subject, Platform
// and Packages are set, nothing else. An error fails the attestation before
// anything is signed.
type AlsoSign func(ctx context.Context, described []Attestation) ([]Predicate, error)

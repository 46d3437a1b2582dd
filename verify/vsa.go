package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/intoto"
)

// StatementSigner signs an in-toto statement into a Sigstore bundle. The
// gateway's attest/sign.Signer does, through a small adapter in cmd/.
type StatementSigner interface {
	SignStatement(ctx context.Context, statement []byte) (*SignedStatement, error)
}

// SignedStatement is a statement signed into a Sigstore bundle.
type SignedStatement struct {
	// Bundle is the Sigstore bundle v0.3 JSON.
	Bundle []byte
	// SignerIdentity and SignerIssuer name the signing certificate.
	SignerIdentity, SignerIssuer string
	// LogIndex is the transparency log index, or -1.
	LogIndex int64
}

// VSA is a signed SLSA Verification Summary Attestation for an allowed
// verdict: downstream systems verify this one bundle instead of repeating
// the whole verification.
type VSA struct {
	// Statement is the in-toto statement that was signed.
	Statement []byte
	// Signed is its bundle.
	Signed *SignedStatement
}

// Verified levels a VSA claims. Hallmark claims SLSA Build L3 only when
// the policy names the allowed builders and a provenance from one of them
// verified (the policy author vouches that those builders are L3 platforms,
// as Hallmark is); any other allowed image gets L1, "provenance exists".
const (
	levelL3 = "SLSA_BUILD_LEVEL_3"
	levelL1 = "SLSA_BUILD_LEVEL_1"
)

// vsaStatement builds the VSA statement for an allowed verdict.
//
// For an image index the VSA is about what was verified: the index when
// every platform was (no platform selected), else the one platform
// manifest selected; its input attestations are the index's and the
// platforms'.
func vsaStatement(v *Verdict, verifierID string, builderChecked bool, at time.Time) ([]byte, error) {
	pinned, digest := v.Pinned, v.Digest
	if v.Platform != "" && len(v.Platforms) == 1 {
		pinned, digest = v.Platforms[0].Pinned, v.Platforms[0].Digest
	}
	repo, _, _ := strings.Cut(pinned, "@")
	level := levelL1
	if builderChecked {
		level = levelL3
	}
	atts := slices.Clone(v.Attestations)
	for _, p := range v.Platforms {
		atts = append(atts, p.Attestations...)
	}
	var inputs []map[string]any
	for _, a := range atts {
		if !a.Verified {
			continue
		}
		inputs = append(inputs, map[string]any{
			"uri":    a.Referrer.Ref.String(),
			"digest": map[string]string{"sha256": a.Referrer.BundleDigest.Hex()},
		})
	}
	policyHex := strings.TrimPrefix(v.PolicyHash, "sha256:")
	predicate := map[string]any{
		"verifier":           map[string]any{"id": verifierID},
		"timeVerified":       at.UTC().Format(time.RFC3339),
		"resourceUri":        pinned,
		"policy":             map[string]any{"uri": "https://hallmark.dev/policies/" + v.Policy, "digest": map[string]string{"sha256": policyHex}},
		"inputAttestations":  inputs,
		"verificationResult": "PASSED",
		"verifiedLevels":     []string{level},
		"slsaVersion":        "1.0",
	}
	st, err := intoto.Statement(repo, digest, hallmark.PredicateVSA, predicate)
	if err != nil {
		return nil, fmt.Errorf("build verification summary: %w", err)
	}
	return st, nil
}

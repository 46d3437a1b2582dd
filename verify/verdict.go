package verify

import (
	"time"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// Verdict is the answer to "may this image run under this policy, and
// why?". A denial is a Verdict with Allowed false and reasons, not an error;
// errors mean the image could not be evaluated.
type Verdict struct {
	// Ref is the reference as given; Digest what it resolved to, once;
	// Pinned "registry/repository@sha256:<hex>".
	Ref    string
	Digest hallmark.Digest
	Pinned string
	// Platform is the platform selection asked for ("" for every
	// platform of an index).
	Platform string
	// Policy and PolicyHash identify the policy evaluated.
	Policy     string
	PolicyHash string
	// Allowed is true when at least one attestation verified and every
	// rule passed; for an index, also on every platform in Platforms.
	Allowed bool
	// Attestations are the bundle referrers evaluated, verified or not
	// (for an index, the index's own): ImageResult.Attestations.
	Attestations []Attestation
	// Superseded are the bundle referrers the rules did not see because a
	// newer verified attestation of the same predicate type and signer
	// exists: ImageResult.Superseded.
	Superseded []Attestation
	// Rules are the policy's rule outcomes (built-ins first); for an index
	// the rules of the index itself (policy.Policy.EvaluateIndex).
	Rules []policy.RuleResult
	// Reasons summarise why the image was denied, one line each; empty
	// when allowed. For an index each starts "index: " or with the
	// platform ("linux/arm64: ").
	Reasons []string
	// Platforms are the verdicts of the platform manifests Platform
	// selected, in index order, when Ref is an image index; nil otherwise.
	Platforms []PlatformVerdict
	// Input is what the rules saw; the admission webhook evaluates its
	// Pod rules on it (for an index, on each platform's). For an index with
	// one platform selected, it is that platform's.
	Input policy.Input
	// EvaluatedAt is when the verification ran (for a cached verdict, the
	// original time); Cached says it came from the verdict cache.
	EvaluatedAt time.Time
	Cached      bool
	// VSA is the signed Verification Summary Attestation, when one was
	// asked for and the image is allowed.
	VSA *VSA
}

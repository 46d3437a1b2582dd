package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/verify"
)

// Timestamp is t in the API's form; nil for a nil or zero time.
func Timestamp(t *time.Time) *timestamppb.Timestamp {
	if t == nil || t.IsZero() {
		return nil
	}
	return timestamppb.New(*t)
}

// Verdict is the API form of a verdict; the CLI prints offline verdicts in
// the same form.
func Verdict(v *verify.Verdict) *hallmarkv1.VerifyResponse {
	out := &hallmarkv1.VerifyResponse{
		Allowed: v.Allowed, Image: v.Ref, Digest: v.Digest.String(), Pinned: v.Pinned,
		Policy: v.Policy, PolicyHash: v.PolicyHash, Reasons: v.Reasons,
		EvaluatedAt: Timestamp(&v.EvaluatedAt), Cached: v.Cached,
	}
	for _, a := range v.Attestations {
		out.Attestations = append(out.Attestations, &hallmarkv1.CheckedAttestation{
			PredicateType: a.PredicateType, ReferrerDigest: a.Referrer.Digest.String(),
			Verified: a.Verified, Failure: a.Failure,
			SignerIdentity: a.SignerIdentity, SignerIssuer: a.SignerIssuer,
			LogIndex: a.LogIndex, Timestamp: Timestamp(&a.Timestamp),
		})
	}
	for _, r := range v.Rules {
		out.Rules = append(out.Rules, &hallmarkv1.RuleResult{Name: r.Name, Passed: r.Passed, Message: r.Message})
	}
	if v.VSA != nil && v.VSA.Signed != nil {
		out.VsaBundle = v.VSA.Signed.Bundle
	}
	return out
}

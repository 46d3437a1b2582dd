package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
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
		EvaluatedAt: Timestamp(&v.EvaluatedAt), Cached: v.Cached, Platform: v.Platform,
		Attestations: checkedAttestations(v.Attestations), Rules: rules(v.Rules),
	}
	for _, p := range v.Platforms {
		out.Platforms = append(out.Platforms, &hallmarkv1.PlatformVerdict{
			Platform: p.Platform, Digest: p.Digest.String(), Pinned: p.Pinned, Allowed: p.Allowed,
			Reasons: p.Reasons, Attestations: checkedAttestations(p.Attestations), Rules: rules(p.Rules),
		})
	}
	if v.VSA != nil && v.VSA.Signed != nil {
		out.VsaBundle = v.VSA.Signed.Bundle
	}
	return out
}

func checkedAttestations(in []verify.Attestation) []*hallmarkv1.CheckedAttestation {
	var out []*hallmarkv1.CheckedAttestation
	for _, a := range in {
		out = append(out, &hallmarkv1.CheckedAttestation{
			PredicateType: a.PredicateType, ReferrerDigest: a.Referrer.Digest.String(),
			Verified: a.Verified, Failure: a.Failure,
			SignerIdentity: a.SignerIdentity, SignerIssuer: a.SignerIssuer,
			LogIndex: a.LogIndex, Timestamp: Timestamp(&a.Timestamp),
		})
	}
	return out
}

func rules(in []policy.RuleResult) []*hallmarkv1.RuleResult {
	var out []*hallmarkv1.RuleResult
	for _, r := range in {
		out = append(out, &hallmarkv1.RuleResult{Name: r.Name, Passed: r.Passed, Message: r.Message})
	}
	return out
}

package admission

import (
	"context"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// indexVerdict is the verdict of an index ref whose platforms' images run
// as users (platform → user); platforms in denied fail rule "signers".
func indexVerdict(ref string, users map[string]string, denied ...string) *verify.Verdict {
	v := allowed(ref, "")
	v.Input.Image.Config = nil // an index has no config
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		d := hallmark.SHA256([]byte(ref + p))
		pv := verify.PlatformVerdict{Platform: p, Digest: d, Allowed: true,
			Rules: []policy.RuleResult{{Name: "signers", Passed: true}},
			Input: policy.Input{Image: policy.Image{Ref: ref, Digest: d.String(), Config: map[string]any{
				"architecture": strings.TrimPrefix(p, "linux/"), "config": map[string]any{"User": users[p]},
			}}}}
		for _, dp := range denied {
			if dp == p {
				pv.Allowed = false
				pv.Rules = []policy.RuleResult{{Name: "signers", Message: "the image has no attestations"}}
				v.Allowed = false
				v.Reasons = append(v.Reasons, p+`: rule "signers": the image has no attestations`)
			}
		}
		v.Platforms = append(v.Platforms, pv)
	}
	return v
}

// TestAdmissionIndexPlatforms: every platform of an index must pass, since
// the node's platform is unknown; a denial names the failing platform, Pod
// rules and runAsNonRoot look at every platform's image.
func TestAdmissionIndexPlatforms(t *testing.T) {
	const ref = "reg/multi:v1"
	nonroot := map[string]string{"linux/amd64": "65532", "linux/arm64": "65532"}
	armDigest := hallmark.SHA256([]byte(ref + "linux/arm64")).Hex()[:12]

	t.Run("arm64 unattested", func(t *testing.T) {
		f := &fakeVerifier{verify: func(context.Context, string) (*verify.Verdict, error) {
			return indexVerdict(ref, nonroot, "linux/arm64"), nil
		}}
		resp := admit(t, newWebhook(t, f, newPolicy()).Validate(), request(t, podKind, newPod(podSpec(goodContainer("app", ref)))))
		want := `platform linux/arm64 (sha256:` + armDigest + `…): rule "signers": the image has no attestations`
		if resp.Allowed || !strings.Contains(msg(resp), want) || strings.Contains(msg(resp), "linux/amd64") {
			t.Fatalf("got %q, want a denial with %q", msg(resp), want)
		}
	})
	t.Run("all platforms pass", func(t *testing.T) {
		f := &fakeVerifier{verify: func(context.Context, string) (*verify.Verdict, error) { return indexVerdict(ref, nonroot), nil }}
		c := goodContainer("app", ref)
		c.SecurityContext.RunAsNonRoot = nil
		if resp := admit(t, newWebhook(t, f, newPolicy()).Validate(), request(t, podKind, newPod(podSpec(c)))); !resp.Allowed {
			t.Fatalf("denied: %s", msg(resp))
		}
	})
	t.Run("arm64 runs as root", func(t *testing.T) {
		f := &fakeVerifier{verify: func(context.Context, string) (*verify.Verdict, error) {
			return indexVerdict(ref, map[string]string{"linux/amd64": "65532", "linux/arm64": "root"}), nil
		}}
		c := goodContainer("app", ref)
		c.SecurityContext.RunAsNonRoot = nil
		resp := admit(t, newWebhook(t, f, newPolicy()).Validate(), request(t, podKind, newPod(podSpec(c))))
		if resp.Allowed || !strings.Contains(msg(resp), `rule "runAsNonRoot"`) {
			t.Fatalf("got %q, want runAsNonRoot to fail", msg(resp))
		}
	})
	t.Run("pod rules per platform", func(t *testing.T) {
		p := newPolicy()
		p.podRules = func(in policy.Input) []policy.RuleResult {
			return []policy.RuleResult{{Name: "amd64-only", Passed: in.Image.Config["architecture"] == "amd64", Message: "not amd64"}}
		}
		f := &fakeVerifier{verify: func(context.Context, string) (*verify.Verdict, error) { return indexVerdict(ref, nonroot), nil }}
		resp := admit(t, newWebhook(t, f, p).Validate(), request(t, podKind, newPod(podSpec(goodContainer("app", ref)))))
		want := `platform linux/arm64 (sha256:` + armDigest + `…): pod rule "amd64-only": not amd64`
		if resp.Allowed || !strings.Contains(msg(resp), want) {
			t.Fatalf("got %q, want %q", msg(resp), want)
		}
	})
}

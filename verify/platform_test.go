package verify_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// multiIndex pushes an index of a linux/amd64 and a linux/arm64 image and
// attests the index (provenance) and the platforms in attested.
func multiIndex(t *testing.T, f *fixture, tag string, attested ...string) (name.Digest, []registrytest.PlatformManifest) {
	t.Helper()
	idx, pms := f.reg.PushIndex(t, "multi", tag,
		registrytest.PlatformImage(t, "linux/amd64", map[string]string{"/amd64.txt": "amd64"}),
		registrytest.PlatformImage(t, "linux/arm64", map[string]string{"/arm64.txt": "arm64"}))
	f.attest(t, idx, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	for _, pm := range pms {
		for _, p := range attested {
			if pm.Platform == p {
				f.attest(t, pm.Ref, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
				f.attest(t, pm.Ref, hallmark.PredicateSPDX, spdxPredicate)
			}
		}
	}
	return idx, pms
}

// TestEvaluatorPlatforms: an index whose arm64 manifest has no
// attestation is denied for arm64 and for every platform (""), allowed for
// amd64, whose config the rules then read.
func TestEvaluatorPlatforms(t *testing.T) {
	f := newFixture(t, true)
	idx, pms := multiIndex(t, f, "v1", "linux/amd64")
	// A rule over the image config: it must see the selected platform's.
	pol := testPolicy(t, f, "p", `{name: arch, expression: "image.config.architecture in ['amd64', 'arm64']"}`)
	e := newEvaluator(t, f, []*policy.Policy{pol})
	for _, tc := range []struct {
		name, ref, platform string
		allowed             bool
		reason              string
		platforms           int
	}{
		{"amd64", idx.String(), "linux/amd64", true, "", 1},
		{"arm64", idx.String(), "linux/arm64", false, `linux/arm64: rule "signers": the image has no attestations`, 1},
		{"all", idx.String(), "", false, `linux/arm64: rule "signers": the image has no attestations`, 2},
		{"all by tag", f.reg.Host + "/multi:v1", "", false, `linux/arm64: rule "builders": no verified SLSA provenance`, 2},
		{"arm64 variant spelled out", idx.String(), "linux/arm64/v8", false, `linux/arm64: rule "signers"`, 1},
		{"absent platform", idx.String(), "linux/s390x", false, `index: rule "platform": the index has no linux/s390x image; it has linux/amd64, linux/arm64`, 0},
		{"platform manifest itself", pms[0].Ref.String(), "linux/amd64", true, "", 0},
		{"platform manifest, other platform", pms[0].Ref.String(), "linux/arm64", false, `rule "platform": the image is linux/amd64, not linux/arm64`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := e.Verify(t.Context(), verify.Request{Ref: tc.ref, Platform: tc.platform})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if v.Allowed != tc.allowed || !strings.Contains(strings.Join(v.Reasons, "\n"), tc.reason) {
				t.Fatalf("allowed %v reasons %q; want %v with %q", v.Allowed, v.Reasons, tc.allowed, tc.reason)
			}
			if len(v.Platforms) != tc.platforms {
				t.Errorf("%d platform verdicts, want %d", len(v.Platforms), tc.platforms)
			}
			if tc.allowed && v.Input.Image.Config["architecture"] != "amd64" {
				t.Errorf("rules saw the config %v, want amd64's", v.Input.Image.Config)
			}
		})
	}
}

// TestEvaluatorRejectsMalformedPlatform: a selector that is not
// os/arch[/variant] is invalid input, not a denial.
func TestEvaluatorRejectsMalformedPlatform(t *testing.T) {
	f := newFixture(t, true)
	idx, _ := multiIndex(t, f, "")
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")})
	if _, err := e.Verify(t.Context(), verify.Request{Ref: idx.String(), Platform: "arm64"}); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("Verify with platform arm64 = %v, want ErrInvalid", err)
	}
}

// TestEvaluatorIndexNeedsItsOwnAttestations: platforms that pass do not
// make up for an index that has no provenance of its own.
func TestEvaluatorIndexNeedsItsOwnAttestations(t *testing.T) {
	f := newFixture(t, true)
	idx, pms := f.reg.PushIndex(t, "bare", "",
		registrytest.PlatformImage(t, "linux/amd64", map[string]string{"/a": "a"}))
	f.attest(t, pms[0].Ref, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")})
	v, err := e.Verify(t.Context(), verify.Request{Ref: idx.String(), Platform: "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Allowed || !strings.Contains(strings.Join(v.Reasons, "\n"), `index: rule "signers": the image has no attestations`) {
		t.Fatalf("allowed %v reasons %q; want the index denied", v.Allowed, v.Reasons)
	}
	if len(v.Platforms) != 1 || !v.Platforms[0].Allowed {
		t.Errorf("platforms %+v, want amd64 allowed", v.Platforms)
	}
}

// TestEvaluatorCacheKeyHasPlatform: a cached allow for one platform never
// answers for another platform or for all of them.
func TestEvaluatorCacheKeyHasPlatform(t *testing.T) {
	f := newFixture(t, true)
	idx, _ := multiIndex(t, f, "", "linux/amd64")
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")})
	for _, platform := range []string{"linux/amd64", "linux/amd64"} {
		if v, err := e.Verify(t.Context(), verify.Request{Ref: idx.String(), Platform: platform}); err != nil || !v.Allowed {
			t.Fatalf("Verify amd64 = %+v, %v", v, err)
		}
	}
	for _, platform := range []string{"", "linux/arm64"} {
		v, err := e.Verify(t.Context(), verify.Request{Ref: idx.String(), Platform: platform})
		if err != nil {
			t.Fatal(err)
		}
		if v.Allowed || v.Cached {
			t.Errorf("platform %q: allowed %v cached %v; want a fresh denial", platform, v.Allowed, v.Cached)
		}
	}
}

// TestEvaluatorPlatformVSA: a VSA for one platform of an index is about
// that platform's manifest, one for every platform about the index; both
// list the index's and the platforms' attestations as inputs.
func TestEvaluatorPlatformVSA(t *testing.T) {
	f := newFixture(t, true)
	idx, pms := multiIndex(t, f, "", "linux/amd64", "linux/arm64")
	s := &fakeSigner{}
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")}, verify.WithVSASigner(s, "https://hallmark.dev/verifiers/test"))
	for _, tc := range []struct {
		platform, subject string
		inputs            int
	}{
		{"linux/arm64", pms[1].Ref.DigestStr(), 3},
		{"", idx.DigestStr(), 5},
	} {
		v, err := e.Verify(t.Context(), verify.Request{Ref: idx.String(), Platform: tc.platform, VSA: true})
		if err != nil || !v.Allowed || v.VSA == nil {
			t.Fatalf("Verify %q = %+v, %v", tc.platform, v, err)
		}
		var st struct {
			Subject []struct {
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
			Predicate struct {
				InputAttestations []any `json:"inputAttestations"`
			} `json:"predicate"`
		}
		if err := json.Unmarshal(v.VSA.Statement, &st); err != nil {
			t.Fatal(err)
		}
		if "sha256:"+st.Subject[0].Digest["sha256"] != tc.subject || len(st.Predicate.InputAttestations) != tc.inputs {
			t.Errorf("platform %q: VSA %s; want subject %s and %d inputs", tc.platform, v.VSA.Statement, tc.subject, tc.inputs)
		}
	}
}

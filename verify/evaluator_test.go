package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/publish"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

const builderID = "https://hallmark.dev/builders/test"

// testPolicy is a policy trusting f's signer, requiring provenance from
// builderID, plus extra rules (YAML list items).
func testPolicy(t testing.TB, f *fixture, name string, rules string) *policy.Policy {
	t.Helper()
	issuer, san := f.ss.Identity()
	doc := fmt.Sprintf(`apiVersion: hallmark.dev/v1
kind: Policy
metadata: {name: %s}
spec:
  signers: [{issuer: %q, subject: %q}]
  builders: [%q]
  requirePredicateTypes: [https://slsa.dev/provenance/v1]
  rules: [%s]
`, name, issuer, san, builderID, rules)
	p, err := policy.Load([]byte(doc))
	if err != nil {
		t.Fatalf("load policy: %v\n%s", err, doc)
	}
	return p
}

// trust is the fake Sigstore's trusted root as an Evaluator takes it.
func (f *fixture) trust(t testing.TB) *verify.Trust {
	t.Helper()
	data, err := f.ss.TrustedRoot(t).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	trust, err := verify.ParseTrust(data)
	if err != nil {
		t.Fatal(err)
	}
	return trust
}

func newEvaluator(t testing.TB, f *fixture, pols []*policy.Policy, opts ...verify.EvaluatorOption) *verify.Evaluator {
	t.Helper()
	e, err := verify.NewEvaluator(f.trust(t), pols, append([]verify.EvaluatorOption{verify.WithRegistry(registrytest.Client(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var goodProvenance = `{"buildDefinition":{"buildType":"https://hallmark.dev/buildtypes/dockerfile/v1"},"runDetails":{"builder":{"id":"` + builderID + `"}}}`

func TestEvaluatorVerdicts(t *testing.T) {
	f := newFixture(t, true)
	good, _ := f.reg.PushRandom(t, "app", "good")
	f.attest(t, good, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	otherBuilder, _ := f.reg.PushRandom(t, "app", "other")
	f.attest(t, otherBuilder, hallmark.PredicateSLSAProvenanceV1, strings.Replace(goodProvenance, builderID, "https://evil.example/b", 1))
	sbomOnly, _ := f.reg.PushRandom(t, "app", "sbom")
	f.attest(t, sbomOnly, hallmark.PredicateSPDX, spdxPredicate)
	unsigned, _ := f.reg.PushRandom(t, "app", "unsigned")

	pols := []*policy.Policy{
		testPolicy(t, f, "base", ""),
		testPolicy(t, f, "cel", `{name: has-config, expression: "image.config.architecture != ''"}, {name: never, expression: "size(attestations) > 5", message: "needs six attestations"}`),
	}
	e := newEvaluator(t, f, pols)
	for _, tc := range []struct {
		name, ref, policy string
		allowed           bool
		reason            string
	}{
		{"allowed by tag", f.reg.Host + "/app:good", "", true, ""},
		{"allowed by digest", good.String(), "base", true, ""},
		{"other builder", otherBuilder.String(), "", false, `rule "builders": builder "https://evil.example/b" is not allowed`},
		{"missing provenance", sbomOnly.String(), "", false, `requirePredicateType:https://slsa.dev/provenance/v1`},
		{"unsigned", unsigned.String(), "", false, `rule "signers": the image has no attestations`},
		{"CEL rule fails", good.String(), "cel", false, `rule "never": needs six attestations`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := e.Verify(t.Context(), verify.Request{Ref: tc.ref, Policy: tc.policy})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if v.Allowed != tc.allowed || !strings.Contains(strings.Join(v.Reasons, "\n"), tc.reason) {
				t.Fatalf("allowed %v reasons %q; want %v with %q", v.Allowed, v.Reasons, tc.allowed, tc.reason)
			}
			if v.Ref != tc.ref || !strings.HasPrefix(v.Pinned, f.reg.Host+"/app@sha256:") || v.PolicyHash == "" {
				t.Errorf("verdict %+v", v)
			}
		})
	}
	v, err := e.Verify(t.Context(), verify.Request{Ref: good.String(), Policy: "cel"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Input.Provenance == nil || v.Input.Image.Config == nil || v.Input.Image.Manifest == nil {
		t.Errorf("rules saw provenance %v, config %v, manifest %v", v.Input.Provenance != nil, v.Input.Image.Config != nil, v.Input.Image.Manifest != nil)
	}
	if _, err := e.Verify(t.Context(), verify.Request{Ref: good.String(), Policy: "nope"}); !errors.Is(err, hallmark.ErrNotFound) {
		t.Errorf("unknown policy: %v, want ErrNotFound", err)
	}
}

// TestEvaluatorCache: a second request for the same digest is answered
// without the registry; through a tag, only the tag is resolved again, so a
// tag moved to another image is never answered from the cache.
func TestEvaluatorCache(t *testing.T) {
	f := newFixture(t, true)
	good, _ := f.reg.PushRandom(t, "app", "v1")
	f.attest(t, good, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")})

	first, err := e.Verify(t.Context(), verify.Request{Ref: good.String()})
	if err != nil || !first.Allowed || first.Cached {
		t.Fatalf("first Verify = %+v, %v", first, err)
	}
	before := f.reg.Requests()
	again, err := e.Verify(t.Context(), verify.Request{Ref: good.String()})
	if err != nil || !again.Allowed || !again.Cached {
		t.Fatalf("second Verify = %+v, %v; want cached", again, err)
	}
	if n := f.reg.Requests() - before; n != 0 {
		t.Errorf("a cached verdict by digest made %d registry requests", n)
	}
	// Fresh verifies again, and the next request gets its verdict cached.
	before = f.reg.Requests()
	fresh, err := e.Verify(t.Context(), verify.Request{Ref: good.String(), Fresh: true})
	if err != nil || !fresh.Allowed || fresh.Cached || !fresh.EvaluatedAt.After(first.EvaluatedAt) || f.reg.Requests() == before {
		t.Fatalf("fresh Verify = %+v, %v (%d registry requests); want a new evaluation", fresh, err, f.reg.Requests()-before)
	}
	if again, err := e.Verify(t.Context(), verify.Request{Ref: good.String()}); err != nil || !again.Cached || !again.EvaluatedAt.Equal(fresh.EvaluatedAt) {
		t.Fatalf("after a fresh Verify = %+v, %v; want its verdict, cached", again, err)
	}
	tag := f.reg.Host + "/app:v1"
	byTag, err := e.Verify(t.Context(), verify.Request{Ref: tag})
	if err != nil || !byTag.Cached || byTag.Ref != tag {
		t.Fatalf("Verify by tag = %+v, %v; want cached", byTag, err)
	}
	// Move the tag to an unsigned image.
	moved, _ := f.reg.PushRandom(t, "app", "v1")
	v, err := e.Verify(t.Context(), verify.Request{Ref: tag})
	if err != nil {
		t.Fatal(err)
	}
	if v.Allowed || v.Cached || v.Digest.String() != moved.DigestStr() {
		t.Errorf("after the tag moved: allowed %v cached %v digest %s; want a fresh denial of %s", v.Allowed, v.Cached, v.Digest, moved.DigestStr())
	}
}

// TestEvaluatorNeverCachesErrors: a registry outage is "could not
// evaluate", and the next request verifies again.
func TestEvaluatorNeverCachesErrors(t *testing.T) {
	f := newFixture(t, true)
	good, _ := f.reg.PushRandom(t, "app", "v1")
	f.attest(t, good, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")})
	var down atomic.Bool
	down.Store(true)
	f.reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if down.Load() && strings.Contains(r.URL.Path, "/referrers/") {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	if _, err := e.Verify(t.Context(), verify.Request{Ref: good.String()}); !errors.Is(err, hallmark.ErrUnavailable) {
		t.Fatalf("Verify with the registry down = %v, want ErrUnavailable", err)
	}
	down.Store(false)
	v, err := e.Verify(t.Context(), verify.Request{Ref: good.String()})
	if err != nil || !v.Allowed || v.Cached {
		t.Fatalf("Verify after the outage = %+v, %v; want a fresh allowed verdict", v, err)
	}
}

// TestEvaluatorTTL: verdicts expire; denials sooner than successes.
func TestEvaluatorTTL(t *testing.T) {
	f := newFixture(t, true)
	good, _ := f.reg.PushRandom(t, "app", "good")
	f.attest(t, good, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	bad, _ := f.reg.PushRandom(t, "app", "bad")
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")}, verify.WithClock(clock), verify.WithVerdictTTL(time.Hour, time.Minute))
	for _, ref := range []string{good.String(), bad.String()} {
		if _, err := e.Verify(t.Context(), verify.Request{Ref: ref}); err != nil {
			t.Fatal(err)
		}
	}
	advance(2 * time.Minute)
	g, err := e.Verify(t.Context(), verify.Request{Ref: good.String()})
	if err != nil || !g.Cached {
		t.Errorf("allowed verdict after 2m: cached %v, %v; want cached (TTL 1h)", g.Cached, err)
	}
	b, err := e.Verify(t.Context(), verify.Request{Ref: bad.String()})
	if err != nil || b.Cached {
		t.Errorf("denied verdict after 2m: cached %v, %v; want expired (TTL 1m)", b.Cached, err)
	}
}

// TestEvaluatorCollapses: concurrent requests for one image and policy
// cost the registry no more than one verification.
func TestEvaluatorCollapses(t *testing.T) {
	f := newFixture(t, true)
	var imgs [3]string
	for i := range imgs {
		d, _ := f.reg.PushRandom(t, "app", fmt.Sprint("v", i))
		f.attest(t, d, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
		imgs[i] = d.String()
	}
	warm, one, many := imgs[0], imgs[1], imgs[2]
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")})
	// The first call also sets up the registry transport; then measure one.
	if _, err := e.Verify(t.Context(), verify.Request{Ref: warm}); err != nil {
		t.Fatal(err)
	}
	before := f.reg.Requests()
	if _, err := e.Verify(t.Context(), verify.Request{Ref: one}); err != nil {
		t.Fatal(err)
	}
	single := f.reg.Requests() - before

	before = f.reg.Requests()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			v, err := e.Verify(context.Background(), verify.Request{Ref: many})
			if err == nil && !v.Allowed {
				err = fmt.Errorf("denied: %v", v.Reasons)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.reg.Requests() - before; n != single {
		t.Errorf("32 concurrent requests made %d registry requests; one verification makes %d", n, single)
	}
}

// fakeSigner records what it signs.
type fakeSigner struct{ statements [][]byte }

func (s *fakeSigner) SignStatement(_ context.Context, st []byte) (*verify.SignedStatement, error) {
	s.statements = append(s.statements, st)
	return &verify.SignedStatement{Bundle: []byte(`{"fake":true}`), LogIndex: 7}, nil
}

func TestEvaluatorVSA(t *testing.T) {
	f := newFixture(t, true)
	good, _ := f.reg.PushRandom(t, "app", "good")
	f.attest(t, good, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	unsigned, _ := f.reg.PushRandom(t, "app", "unsigned")
	s := &fakeSigner{}
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")}, verify.WithVSASigner(s, "https://hallmark.dev/verifiers/test"))

	v, err := e.Verify(t.Context(), verify.Request{Ref: good.String(), VSA: true})
	if err != nil || v.VSA == nil {
		t.Fatalf("Verify with VSA = %+v, %v", v, err)
	}
	var st struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate struct {
			Verifier           struct{ ID string } `json:"verifier"`
			ResourceURI        string              `json:"resourceUri"`
			VerificationResult string              `json:"verificationResult"`
			VerifiedLevels     []string            `json:"verifiedLevels"`
			Policy             struct {
				Digest map[string]string `json:"digest"`
			} `json:"policy"`
			InputAttestations []struct {
				URI string `json:"uri"`
			} `json:"inputAttestations"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(v.VSA.Statement, &st); err != nil {
		t.Fatal(err)
	}
	p := st.Predicate
	if st.PredicateType != hallmark.PredicateVSA || "sha256:"+st.Subject[0].Digest["sha256"] != good.DigestStr() ||
		p.Verifier.ID != "https://hallmark.dev/verifiers/test" || p.ResourceURI != good.String() || p.VerificationResult != "PASSED" ||
		len(p.VerifiedLevels) != 1 || p.VerifiedLevels[0] != "SLSA_BUILD_LEVEL_3" || "sha256:"+p.Policy.Digest["sha256"] != v.PolicyHash ||
		len(p.InputAttestations) != 1 {
		t.Errorf("VSA statement: %s", v.VSA.Statement)
	}
	// Denied images get no VSA; nothing is signed for them.
	d, err := e.Verify(t.Context(), verify.Request{Ref: unsigned.String(), VSA: true})
	if err != nil || d.Allowed || d.VSA != nil || len(s.statements) != 1 {
		t.Errorf("denied with VSA request: %+v, %v, %d signed", d, err, len(s.statements))
	}
	// Without a signer, asking for a VSA is "could not evaluate".
	plain := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")})
	if _, err := plain.Verify(t.Context(), verify.Request{Ref: good.String(), VSA: true}); !errors.Is(err, hallmark.ErrUnavailable) {
		t.Errorf("VSA without a signer: %v, want ErrUnavailable", err)
	}
}

func TestNewEvaluatorRejects(t *testing.T) {
	f := newFixture(t, true)
	p := testPolicy(t, f, "p", "")
	trust := f.trust(t)
	for _, tc := range []struct {
		name  string
		trust *verify.Trust
		pols  []*policy.Policy
		opts  []verify.EvaluatorOption
	}{
		{"no policy", trust, nil, nil},
		{"duplicate names", trust, []*policy.Policy{p, p}, nil},
		{"no trusted root", nil, []*policy.Policy{p}, nil},
		// Identities given to NewEvaluator no longer compile (TestOptionTypes).
		{"unknown default", trust, []*policy.Policy{p}, []verify.EvaluatorOption{verify.WithDefaultPolicy("q")}},
		{"nil logger", trust, []*policy.Policy{p}, []verify.EvaluatorOption{verify.WithLogger(nil)}},
		{"negative TTL", trust, []*policy.Policy{p}, []verify.EvaluatorOption{verify.WithVerdictTTL(-1, 0)}},
		{"max bundle size", trust, []*policy.Policy{p}, []verify.EvaluatorOption{verify.WithMaxBundleSize(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := verify.NewEvaluator(tc.trust, tc.pols, tc.opts...); !errors.Is(err, hallmark.ErrInvalid) {
				t.Errorf("NewEvaluator = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestEvaluatorRulesSeeTheReference: image.ref is filled before the rules
// run, so a rule over the reference decides; and a verdict for one
// reference never answers for another when the rules read the image.
func TestEvaluatorRulesSeeTheReference(t *testing.T) {
	f := newFixture(t, true)
	good, _ := f.reg.PushRandom(t, "app", "latest")
	f.attest(t, good, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", `{name: no-latest, expression: '!image.ref.endsWith(":latest")'}`)})
	latest := f.reg.Host + "/app:latest"

	byDigest, err := e.Verify(t.Context(), verify.Request{Ref: good.String()})
	if err != nil || !byDigest.Allowed {
		t.Fatalf("Verify by digest = %+v, %v; want allowed", byDigest, err)
	}
	byTag, err := e.Verify(t.Context(), verify.Request{Ref: latest})
	if err != nil {
		t.Fatal(err)
	}
	if byTag.Allowed || byTag.Cached {
		t.Fatalf("Verify %s = allowed %v cached %v; want a fresh denial by the no-latest rule", latest, byTag.Allowed, byTag.Cached)
	}
	if !slices.ContainsFunc(byTag.Rules, func(r policy.RuleResult) bool { return r.Name == "no-latest" && !r.Passed }) {
		t.Errorf("rules = %+v; want no-latest failed", byTag.Rules)
	}
	again, err := e.Verify(t.Context(), verify.Request{Ref: good.String()})
	if err != nil || !again.Allowed || !again.Cached {
		t.Errorf("Verify by digest again = %+v, %v; want the cached allowance", again, err)
	}
}

// TestEvaluatorCosignSignature: a plain signature in the form `cosign sign`
// (v3) publishes, a v1 statement of predicate type
// https://sigstore.dev/cosign/sign/v1 whose subject carries annotations,
// satisfies a policy that names only its signer, and not one that requires
// gateway provenance.
func TestEvaluatorCosignSignature(t *testing.T) {
	f := newFixture(t, true)
	img, _ := f.reg.PushRandom(t, "app", "signed")
	const cosignSign = "https://sigstore.dev/cosign/sign/v1"
	hex := strings.TrimPrefix(img.DigestStr(), "sha256:")
	st := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + hex + `"},"annotations":{"team":"a"}}],"predicateType":"` + cosignSign + `","predicate":{}}`
	signed, err := f.signer.Sign(t.Context(), []byte(st))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Publish(t.Context(), img, signed.Bundle, cosignSign); err != nil {
		t.Fatal(err)
	}
	issuer, san := f.ss.Identity()
	signerOnly, err := policy.Load(fmt.Appendf(nil, "apiVersion: hallmark.dev/v1\nkind: Policy\nmetadata: {name: signed}\nspec:\n  signers: [{issuer: %q, subject: %q}]\n", issuer, san))
	if err != nil {
		t.Fatal(err)
	}
	e := newEvaluator(t, f, []*policy.Policy{signerOnly, testPolicy(t, f, "built", "")})
	v, err := e.Verify(t.Context(), verify.Request{Ref: img.String(), Policy: "signed"})
	if err != nil || !v.Allowed {
		t.Fatalf("Verify under the signer's policy = %+v, %v; want allowed", v, err)
	}
	v, err = e.Verify(t.Context(), verify.Request{Ref: img.String(), Policy: "built"})
	if err != nil || v.Allowed {
		t.Fatalf("Verify under the gateway-built policy = allowed %v, %v; want denied", v.Allowed, err)
	}
}

package attest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/sign"
	"github.com/hallmark-dev/hallmark/attest/sign/signtest"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
	"github.com/hallmark-dev/hallmark/verify"
)

// fixture pushes a random image to an in-process registry and returns an
// Attester signing with a fake Sigstore, the build facts, and a verifier.
func fixture(t *testing.T, referrersAPI bool) (*Attester, *signtest.Sigstore, hallmark.BuildRequest, hallmark.BuildResult, *verify.Verifier) {
	t.Helper()
	reg := registrytest.New(t, registrytest.WithReferrersAPI(referrersAPI))
	host := reg.Host
	repo := host + "/team/app"
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := reg.Push(t, "team/app", "", img)
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ss := signtest.New(t)
	signer, err := sign.New(ss.SigningConfig(t), ss.TrustedRoot(t), sign.FuncTokenSource(func(context.Context) (string, error) { return ss.Token(t), nil }))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(signer, WithBuilderID("https://hallmark.example/builders/test"), WithRegistry(registrytest.Client(t, registry.WithInsecureHosts(host))))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	req := hallmark.BuildRequest{
		ID:            "b-test",
		Requester:     hallmark.Identity{Issuer: "https://issuer.example", Subject: "ci"},
		ContextDigest: hallmark.Digest("sha256:" + strings.Repeat("a", 64)),
		Dockerfile:    "Dockerfile",
		Repository:    repo,
		Tags:          []string{repo + ":v1"},
	}
	res := hallmark.BuildResult{
		ID: "b-test", Digest: hallmark.Digest(d.String()), Repository: repo, Tags: req.Tags,
		Pinned: ref.String(), Started: now.Add(-time.Second), Solved: now, Frontend: "dockerfile.v0",
		DockerfileDigest: hallmark.Digest("sha256:" + strings.Repeat("b", 64)),
	}
	issuer, san := ss.Identity()
	v, err := verify.New(ss.TrustedRoot(t), verify.WithIdentities(verify.Identity{Issuer: issuer, SubjectAlternativeName: san}), verify.WithRegistry(registrytest.Client(t, registry.WithInsecureHosts(host))))
	if err != nil {
		t.Fatal(err)
	}
	return a, ss, req, res, v
}

func TestAttestPublishesVerifiableSBOMAndProvenance(t *testing.T) {
	for _, api := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "tag fallback"}[api], func(t *testing.T) {
			a, _, req, res, v := fixture(t, api)
			var lines []string
			atts, err := a.Attest(t.Context(), req, res, func(f string, args ...any) { lines = append(lines, f) })
			if err != nil {
				t.Fatalf("Attest: %v", err)
			}
			if len(atts) != 2 || len(lines) < 3 {
				t.Fatalf("got %d attestations and %d progress lines, want 2 and 3", len(atts), len(lines))
			}
			for _, att := range atts {
				if att.Subject != res.Digest || att.Platform != "" {
					t.Errorf("%s is about %s (platform %q), want the image %s", att.PredicateType, att.Subject, att.Platform, res.Digest)
				}
			}
			got, err := v.Image(t.Context(), res.Pinned)
			if err != nil {
				t.Fatal(err)
			}
			for _, pt := range []string{hallmark.PredicateSPDX, hallmark.PredicateSLSAProvenanceV1} {
				if n := len(got.Verified(pt)); n != 1 {
					t.Errorf("%d verified %s attestations, want 1 (all: %+v)", n, pt, got.Attestations)
				}
			}
		})
	}
}

func TestAttestFailsWhenSigningFails(t *testing.T) {
	a, ss, req, res, v := fixture(t, true)
	ss.Stop(signtest.Fulcio)
	_, err := a.Attest(t.Context(), req, res, nil)
	if !errors.Is(err, hallmark.ErrUnavailable) {
		t.Fatalf("Attest with Fulcio down = %v, want ErrUnavailable", err)
	}
	got, err := v.Image(t.Context(), res.Pinned)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Verified("")); n != 0 {
		t.Fatalf("%d attestations verify after a failed Attest", n)
	}
}

func TestAttestRejectsMissingImage(t *testing.T) {
	a, _, req, res, _ := fixture(t, true)
	res.Digest = hallmark.Digest("sha256:" + strings.Repeat("c", 64))
	if _, err := a.Attest(t.Context(), req, res, nil); err == nil {
		t.Fatal("Attest of an image that is not in the registry succeeded")
	}
}

// TestAttestRegistryErrors: a registry failure has the class registry.Error
// gives it, as for every other caller.
func TestAttestRegistryErrors(t *testing.T) {
	a, _, req, res, _ := fixture(t, true)
	refusing := registrytest.New(t)
	refusing.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
		return true
	})
	missing := res
	missing.Digest = hallmark.Digest("sha256:" + strings.Repeat("c", 64))
	denied := res
	denied.Repository = refusing.Host + "/team/app"
	tests := []struct {
		name string
		res  hallmark.BuildResult
		want error
	}{
		{"missing image", missing, hallmark.ErrNotFound},
		{"access refused", denied, hallmark.ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := a.Attest(t.Context(), req, tt.res, nil); !errors.Is(err, tt.want) {
				t.Fatalf("Attest = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewRejectsNilSigner(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

// TestNewRejectsNilOptions: nil for a logger or a registry client is an
// error, as for every package's WithLogger.
func TestNewRejectsNilOptions(t *testing.T) {
	a, _, _, _, _ := fixture(t, true)
	for name, opt := range map[string]Option{"nil logger": WithLogger(nil), "nil registry": WithRegistry(nil)} {
		t.Run(name, func(t *testing.T) {
			if got, err := New(a.signer, opt); !errors.Is(err, hallmark.ErrInvalid) || got != nil {
				t.Fatalf("New = %v, %v; want ErrInvalid", got, err)
			}
		})
	}
}

func TestAttestReusesVerifiedBaseSBOM(t *testing.T) {
	a, _, req, res, v := fixture(t, true)
	if _, err := a.Attest(t.Context(), req, res, nil); err != nil {
		t.Fatalf("attest base: %v", err)
	}
	// A derived image: the base plus one layer, pushed to the same repo.
	baseRef, err := name.NewDigest(res.Pinned, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	baseImg, err := remote.Image(baseRef)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := random.Layer(256, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	derived, err := mutate.AppendLayers(baseImg, layer)
	if err != nil {
		t.Fatal(err)
	}
	d, err := derived.Digest()
	if err != nil {
		t.Fatal(err)
	}
	dref, err := name.NewDigest(res.Repository+"@"+d.String(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dref, derived); err != nil {
		t.Fatal(err)
	}
	a.opts.bases = v
	dres := res
	dres.Digest, dres.Pinned = hallmark.Digest(d.String()), dref.String()
	dres.RuntimeBase = &hallmark.ResolvedBase{Ref: res.Pinned, Pinned: res.Pinned, Digest: res.Digest}
	var lines []string
	if _, err := a.Attest(t.Context(), req, dres, func(f string, args ...any) { lines = append(lines, fmt.Sprintf(f, args...)) }); err != nil {
		t.Fatalf("attest derived: %v", err)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "reusing the verified SBOM of base "+res.Pinned) {
		t.Fatalf("progress %q does not report reusing the base SBOM", lines)
	}
	// A second build on the base reuses the SBOM verified by the first.
	lines = nil
	if _, err := a.Attest(t.Context(), req, dres, func(f string, args ...any) { lines = append(lines, fmt.Sprintf(f, args...)) }); err != nil {
		t.Fatalf("attest derived again: %v", err)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "verified in the last") {
		t.Fatalf("progress %q: the second build did not reuse the cached base SBOM", lines)
	}

	// A base whose SBOM is signed by an identity the verifier does not
	// trust is cataloged in full, silently.
	other, err := verify.New(signtest.New(t).TrustedRoot(t), verify.WithAnyIdentityUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	a.opts.bases = other
	lines = nil
	if _, err := a.Attest(t.Context(), req, dres, func(f string, args ...any) { lines = append(lines, fmt.Sprintf(f, args...)) }); err != nil {
		t.Fatalf("attest derived with an untrusting verifier: %v", err)
	}
	if strings.Contains(strings.Join(lines, "\n"), "reusing") {
		t.Fatalf("reused a base SBOM that did not verify: %q", lines)
	}
}

// TestAttestAlsoSigns: what also adds is signed in the same batch as the
// SBOM and provenance (one Fulcio certificate), about the image, after
// also saw the SBOM's packages; an error from also signs nothing.
func TestAttestAlsoSigns(t *testing.T) {
	a, ss, req, res, v := fixture(t, true)
	var seen []hallmark.Attestation
	scan := func(_ context.Context, described []hallmark.Attestation) ([]hallmark.Predicate, error) {
		seen = described
		return []hallmark.Predicate{{Type: hallmark.PredicateVulns, JSON: []byte(`{"scanner":{"uri":"test"}}`)}}, nil
	}
	atts, err := a.Attest(t.Context(), req, res, nil, scan)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0].PredicateType != hallmark.PredicateSPDX || seen[0].Packages == nil || seen[1].PredicateType != hallmark.PredicateSLSAProvenanceV1 {
		t.Fatalf("also saw %+v, want the SBOM (with its packages) and the provenance", seen)
	}
	if len(atts) != 3 || atts[2].PredicateType != hallmark.PredicateVulns || atts[2].Subject != res.Digest || atts[2].LogIndex < 0 {
		t.Fatalf("attestations %+v, want the scan third, about %s, logged", atts, res.Digest)
	}
	if n := ss.Requests(signtest.Fulcio); n != 1 {
		t.Errorf("Fulcio got %d requests, want 1 for the whole batch", n)
	}
	got, err := v.Image(t.Context(), res.Pinned)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Verified(hallmark.PredicateVulns)); n != 1 {
		t.Errorf("%d verified scan attestations, want 1", n)
	}

	blocked := errors.New("blocked by the scan")
	a2, ss2, req2, res2, _ := fixture(t, true)
	if _, err := a2.Attest(t.Context(), req2, res2, nil, func(context.Context, []hallmark.Attestation) ([]hallmark.Predicate, error) { return nil, blocked }); !errors.Is(err, blocked) {
		t.Fatalf("Attest with a failing also = %v, want its error", err)
	}
	if n := ss2.Requests(signtest.Fulcio); n != 0 {
		t.Errorf("a failing also still made %d Fulcio requests", n)
	}
}

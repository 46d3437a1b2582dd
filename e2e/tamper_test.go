//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/publish"
	"github.com/hallmark-dev/hallmark/attest/sign"
	"github.com/hallmark-dev/hallmark/attest/sign/signtest"
	"github.com/hallmark-dev/hallmark/internal/devstack"
	"github.com/hallmark-dev/hallmark/internal/intoto"
	hverify "github.com/hallmark-dev/hallmark/verify"
)

// TestVerifyTampered attaches forged, edited, replayed and stripped
// attestations to images: every one must be denied, for the right reason.
func TestVerifyTampered(t *testing.T) {
	_, pinned := attestedExample(t)
	st := env.stack.State
	prov := exampleBundle(t, pinned, hallmark.PredicateSLSAProvenanceV1)

	for _, tc := range []struct {
		name string
		// image makes the image under test and attaches its attestations.
		image func(t *testing.T) string
		// reason must appear in the denial.
		reason string
	}{
		{"no attestations", func(t *testing.T) string {
			return pushRandom(t, st.Registry+"/e2e/tamper:none")
		}, "the image has no attestations"},
		{"replayed attestation of another image", func(t *testing.T) string {
			img := pushRandom(t, st.Registry+"/e2e/tamper:replayed")
			attach(t, img, prov, hallmark.PredicateSLSAProvenanceV1)
			return img
		}, "subject digest does not match"},
		{"payload edited after signing", func(t *testing.T) string {
			img := copyDigest(t, pinned, st.Registry+"/e2e/tamper-edited:v1")
			attach(t, img, signtest.EditPayload(t, prov, "dev-ci", "dev-cj"), hallmark.PredicateSLSAProvenanceV1)
			return img
		}, "verify bundle"},
		{"no timestamp", func(t *testing.T) string {
			img := copyDigest(t, pinned, st.Registry+"/e2e/tamper-nots:v1")
			attach(t, img, signtest.DropMaterial(t, prov, "timestampVerificationData"), hallmark.PredicateSLSAProvenanceV1)
			return img
		}, "timestamp"},
		{"no transparency log entry", func(t *testing.T) string {
			img := copyDigest(t, pinned, st.Registry+"/e2e/tamper-notlog:v1")
			attach(t, img, signtest.DropMaterial(t, prov, "tlogEntries"), hallmark.PredicateSLSAProvenanceV1)
			return img
		}, "no transparency log entry"},
		{"signer not in policy", func(t *testing.T) string {
			img := pushRandom(t, st.Registry+"/e2e/tamper:wrong-signer")
			tok, err := env.stack.OIDC().Mint("mallory", devstack.SigningAudience, time.Hour, map[string]any{"builder_id": "https://evil.example/builder"})
			if err != nil {
				t.Fatal(err)
			}
			sc, err := root.NewSigningConfigFromPath(st.SigningConfig)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := root.NewTrustedRootFromPath(st.TrustedRoot)
			if err != nil {
				t.Fatal(err)
			}
			attach(t, img, signStatement(t, img, sc, tr, tok), hallmark.PredicateSLSAProvenanceV1)
			return img
		}, "does not match the policy"},
		{"certificate from an untrusted CA", func(t *testing.T) string {
			img := pushRandom(t, st.Registry+"/e2e/tamper:foreign-ca")
			fake := signtest.New(t, signtest.WithIdentity(st.Issuer, devstack.BuilderID))
			attach(t, img, signStatement(t, img, fake.SigningConfig(t), fake.TrustedRoot(t), fake.Token(t)), hallmark.PredicateSLSAProvenanceV1)
			return img
		}, "verify bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := tc.image(t)
			resp, err := verifyRPC(t, img, "")
			if err != nil {
				t.Fatalf("Verify(%s): %v", img, err)
			}
			if resp.GetAllowed() {
				t.Fatalf("Verify(%s) allowed a tampered image", img)
			}
			if got := strings.Join(resp.GetReasons(), "\n"); !strings.Contains(strings.ToLower(got), strings.ToLower(tc.reason)) {
				t.Errorf("reasons do not say %q:\n%s", tc.reason, got)
			}
		})
	}
}

// exampleBundle returns the bundle of predicateType attached to image.
func exampleBundle(t testing.TB, image, predicateType string) []byte {
	t.Helper()
	_, refs := bundleReferrers(t, image)
	for _, r := range refs {
		if r.PredicateType == predicateType {
			data, err := hverify.Fetch(t.Context(), r)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	t.Fatalf("%s has no %s bundle", image, predicateType)
	return nil
}

// attach publishes bundle as a referrer of image.
func attach(t testing.TB, image string, bundle []byte, predicateType string) {
	t.Helper()
	if _, err := publish.Publish(t.Context(), pinnedRef(t, image), bundle, predicateType); err != nil {
		t.Fatalf("attach to %s: %v", image, err)
	}
}

// copyDigest copies src into the repository of dst and returns it pinned:
// the same digest, but without src's referrers.
func copyDigest(t testing.TB, src, dst string) string {
	t.Helper()
	copyImage(t, src, dst)
	ref, err := name.ParseReference(dst, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().String() + src[strings.Index(src, "@"):]
}

// signStatement signs a provenance-typed statement about image with the
// Sigstore described by sc and tr, as the holder of tok.
func signStatement(t *testing.T, image string, sc *root.SigningConfig, tr *root.TrustedRoot, tok string) []byte {
	t.Helper()
	ref := pinnedRef(t, image)
	d, err := hallmark.ParseDigest(ref.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	statement, err := intoto.Statement(ref.Context().String(), d, hallmark.PredicateSLSAProvenanceV1,
		map[string]any{"buildDefinition": map[string]any{"buildType": "https://evil.example/b"}, "runDetails": map[string]any{"builder": map[string]any{"id": devstack.BuilderID}}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.New(sc, tr, sign.FuncTokenSource(func(context.Context) (string, error) { return tok, nil }))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Sign(t.Context(), statement)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return signed.Bundle
}

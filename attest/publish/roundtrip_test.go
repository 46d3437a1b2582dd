package publish_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/publish"
	"github.com/hallmark-dev/hallmark/attest/sign"
	"github.com/hallmark-dev/hallmark/attest/sign/signtest"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
	hverify "github.com/hallmark-dev/hallmark/verify"
)

// TestSignPublishVerify signs a statement about an image, publishes it,
// finds it again and verifies it the way a consumer (cosign, package verify)
// does.
func TestSignPublishVerify(t *testing.T) {
	for _, mode := range registrytest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			reg := newRegistry(t, mode.Referrers)
			subject, _ := reg.PushRandom(t, "app", "latest")
			ss := signtest.New(t)
			signer, err := sign.New(ss.SigningConfig(t), ss.TrustedRoot(t),
				sign.FuncTokenSource(func(context.Context) (string, error) { return ss.Token(t), nil }))
			if err != nil {
				t.Fatal(err)
			}
			statement, err := json.Marshal(map[string]any{
				"_type":         hallmark.StatementTypeV1,
				"subject":       []any{map[string]any{"name": subject.Context().Name(), "digest": map[string]string{"sha256": subject.DigestStr()[len("sha256:"):]}}},
				"predicateType": hallmark.PredicateSLSAProvenanceV1,
				"predicate":     map[string]any{},
			})
			if err != nil {
				t.Fatal(err)
			}
			signed, err := signer.Sign(t.Context(), statement)
			if err != nil {
				t.Fatal(err)
			}
			d, err := publish.Publish(t.Context(), subject, signed.Bundle, signed.PredicateType)
			if err != nil {
				t.Fatal(err)
			}

			refs, err := hverify.List(t.Context(), subject)
			if err != nil || len(refs) != 1 || refs[0].Digest != d || refs[0].BundleDigest != signed.BundleDigest {
				t.Fatalf("List = %+v, %v; want the published %s", refs, err, d)
			}
			b, err := hverify.Fetch(t.Context(), refs[0])
			if err != nil {
				t.Fatal(err)
			}
			var bun bundle.Bundle
			if err := bun.UnmarshalJSON(b); err != nil {
				t.Fatal(err)
			}
			v, err := verify.NewVerifier(ss.TrustedRoot(t), verify.WithSignedTimestamps(1), verify.WithTransparencyLog(1))
			if err != nil {
				t.Fatal(err)
			}
			issuer, san := ss.Identity()
			id, err := verify.NewShortCertificateIdentity(issuer, "", san, "")
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(&bun, verify.NewPolicy(verify.WithArtifactDigest("sha256", mustHex(t, subject.DigestStr()[len("sha256:"):])), verify.WithCertificateIdentity(id)))
			if err != nil {
				t.Fatalf("verify fetched bundle: %v", err)
			}
			if res.Statement.GetPredicateType() != refs[0].PredicateType {
				t.Errorf("statement predicate %q, annotation %q", res.Statement.GetPredicateType(), refs[0].PredicateType)
			}
			if a := refs[0].Annotations; a["dev.hallmark.signer.issuer"] != issuer || a["dev.hallmark.signer.identity"] != san {
				t.Errorf("signer hints = %q %q, want the certificate's %q %q", a["dev.hallmark.signer.issuer"], a["dev.hallmark.signer.identity"], issuer, san)
			}
		})
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

//go:build e2e

package e2e

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/hallmark-dev/hallmark/internal/devstack"
	hverify "github.com/hallmark-dev/hallmark/verify"
)

// pinnedRef parses image, "repository@sha256:…" on the stack's plain-HTTP
// registry.
func pinnedRef(t testing.TB, image string) name.Digest {
	t.Helper()
	ref, err := name.NewDigest(image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// bundleReferrers lists the Sigstore bundle referrers of image (see
// pinnedRef), and returns them with the image's reference.
func bundleReferrers(t testing.TB, image string) (name.Digest, []hverify.Referrer) {
	t.Helper()
	ref := pinnedRef(t, image)
	refs, err := hverify.List(t.Context(), ref)
	if err != nil {
		t.Fatalf("list referrers of %s: %v", image, err)
	}
	return ref, refs
}

// gatewayVerifier returns a sigstore-go verifier of the stack's trusted
// root that wants a log entry and a signed timestamp, and the identity of
// the gateway's certificates.
func gatewayVerifier(t testing.TB) (*sgverify.Verifier, sgverify.CertificateIdentity) {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(env.stack.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sgverify.NewVerifier(tr, sgverify.WithTransparencyLog(1), sgverify.WithSignedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	id, err := sgverify.NewShortCertificateIdentity(env.stack.Issuer, "", devstack.BuilderID, "")
	if err != nil {
		t.Fatal(err)
	}
	return v, id
}

package verify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/sign"
	"github.com/hallmark-dev/hallmark/attest/sign/signtest"
	"github.com/hallmark-dev/hallmark/internal/intoto"
)

// fuzzDigest is the image digest the fuzzed bundles are checked against.
const fuzzDigest = hallmark.Digest("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")

// signedBundle signs a statement about fuzzDigest with a fake Sigstore and
// returns the bundle and a Verifier that accepts it.
func signedBundle(tb testing.TB) ([]byte, *Verifier) {
	tb.Helper()
	ss := signtest.New(tb)
	signer, err := sign.New(ss.SigningConfig(tb), ss.TrustedRoot(tb), sign.FuncTokenSource(func(context.Context) (string, error) { return ss.Token(tb), nil }))
	if err != nil {
		tb.Fatal(err)
	}
	st, err := intoto.Statement("registry.invalid/app", fuzzDigest, hallmark.PredicateSLSAProvenanceV1, json.RawMessage(`{"a":[1,2]}`))
	if err != nil {
		tb.Fatal(err)
	}
	signed, err := signer.Sign(tb.Context(), st)
	if err != nil {
		tb.Fatal(err)
	}
	issuer, san := ss.Identity()
	v, err := New(ss.TrustedRoot(tb), WithIdentities(Identity{Issuer: issuer, SubjectAlternativeName: san}))
	if err != nil {
		tb.Fatal(err)
	}
	return signed.Bundle, v
}

// FuzzVerifyBundle feeds mutations of a real bundle through the whole
// verification of untrusted bundle bytes: it must never panic, and whatever
// verifies must be a statement about the image.
func FuzzVerifyBundle(f *testing.F) {
	good, v := signedBundle(f)
	f.Add(good)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AA=="}]}}`))
	f.Add([]byte(strings.Replace(string(good), `"tlogEntries"`, `"tlogEntrie"`, 1)))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := Attestation{LogIndex: -1}
		v.verifyBundle(&a, data, fuzzDigest)
		if a.Verified == (a.Failure != "") {
			t.Fatalf("verified %v with failure %q", a.Verified, a.Failure)
		}
		if a.Verified && (a.Statement == nil || !a.Statement.HasSubjectDigest(fuzzDigest) || a.LogIndex < 0 || a.Timestamp.IsZero()) {
			t.Fatalf("verified attestation %+v is not about the image or lacks log index and time", a)
		}
	})
}

// FuzzParseReferrer reads untrusted referrer manifests, and the hints of
// their annotations (which the registry copies into the referrers index).
func FuzzParseReferrer(f *testing.F) {
	subject := string(fuzzDigest)
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","size":10,"digest":"sha256:` + strings.Repeat("a", 64) + `"}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"` + subject + `"},"annotations":{"org.opencontainers.image.created":"2026-01-02T03:04:05Z"}}`))
	f.Add([]byte(`{"layers":[{"digest":"md5:x"}],"subject":{"digest":"` + subject + `"}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"annotations":{"org.opencontainers.image.created":"2026-01-02T03:04:05.5+01:00","dev.sigstore.bundle.predicateType":"p",` +
		`"dev.hallmark.signer.issuer":"https://i","dev.hallmark.signer.identity":"s","dev.hallmark.bundle.digest":"sha256:` + strings.Repeat("b", 64) + `"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m struct {
			Annotations map[string]string `json:"annotations"`
		}
		if json.Unmarshal(data, &m) == nil {
			h := hintOf(m.Annotations)
			if h.full != (h.key.predicateType != "" && h.key.issuer != "" && h.key.san != "" && !h.created.IsZero()) {
				t.Fatalf("hints %+v of %q: full %v", h, m.Annotations, h.full)
			}
			newest := map[signerKey]time.Time{h.key: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
			if skippable(h, newest) != h.full {
				t.Fatalf("hints %+v of %q: skippable %v before any time", h, m.Annotations, !h.full)
			}
		}
		r, err := parseReferrer(data, subject)
		if err != nil {
			return
		}
		if _, err := hallmark.ParseDigest(string(r.BundleDigest)); err != nil || r.BundleSize < 0 || !strings.HasPrefix(r.BundleMediaType, bundlePrefix) {
			t.Fatalf("accepted referrer %+v", r)
		}
	})
}

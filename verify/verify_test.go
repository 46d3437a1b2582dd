package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/publish"
	"github.com/hallmark-dev/hallmark/attest/sign"
	"github.com/hallmark-dev/hallmark/attest/sign/signtest"
	"github.com/hallmark-dev/hallmark/internal/intoto"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
	"github.com/hallmark-dev/hallmark/verify"
)

// fixture is a fake Sigstore, a signer using it and an in-process registry.
type fixture struct {
	reg    *registrytest.Registry
	ss     *signtest.Sigstore
	signer *sign.Signer
}

func newFixture(t testing.TB, referrers bool, opts ...signtest.Option) *fixture {
	t.Helper()
	ss := signtest.New(t, opts...)
	signer, err := sign.New(ss.SigningConfig(t), ss.TrustedRoot(t),
		sign.FuncTokenSource(func(context.Context) (string, error) { return ss.Token(t), nil }))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{reg: newRegistry(t, referrers), ss: ss, signer: signer}
}

// statement signs an in-toto statement about digest and returns the bundle.
func (f *fixture) statement(t testing.TB, repo string, digest hallmark.Digest, predicateType, predicate string) []byte {
	t.Helper()
	st, err := intoto.Statement(repo, digest, predicateType, json.RawMessage(predicate))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := f.signer.Sign(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	return signed.Bundle
}

// attest signs a statement about subject and publishes it as its referrer.
func (f *fixture) attest(t testing.TB, subject name.Digest, predicateType, predicate string) []byte {
	t.Helper()
	b := f.statement(t, subject.Context().Name(), hallmark.Digest(subject.DigestStr()), predicateType, predicate)
	if _, err := publish.Publish(t.Context(), subject, b, predicateType); err != nil {
		t.Fatal(err)
	}
	return b
}

// identity is the signer identity of the fake's certificates.
func (f *fixture) identity() verify.Identity {
	issuer, san := f.ss.Identity()
	return verify.Identity{Issuer: issuer, SubjectAlternativeName: san}
}

func (f *fixture) verifier(t *testing.T, opts ...verify.Option) *verify.Verifier {
	t.Helper()
	return newVerifier(t, f.ss.TrustedRoot(t), append([]verify.Option{verify.WithIdentities(f.identity())}, opts...)...)
}

func newVerifier(t *testing.T, tr *root.TrustedRoot, opts ...verify.Option) *verify.Verifier {
	t.Helper()
	v, err := verify.New(tr, append([]verify.Option{verify.WithRegistry(registrytest.Client(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const (
	provenancePredicate = `{"buildDefinition":{"buildType":"https://hallmark.dev/buildtypes/dockerfile/v1"}}`
	spdxPredicate       = `{"spdxVersion":"SPDX-2.3","name":"x"}`
)

func TestImageVerifies(t *testing.T) {
	for _, mode := range registrytest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			f := newFixture(t, mode.Referrers)
			subject, _ := f.reg.PushRandom(t, "app", "v1")
			f.attest(t, subject, hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
			f.attest(t, subject, hallmark.PredicateSPDX, spdxPredicate)

			ref := f.reg.Host + "/app:v1"
			res, err := f.verifier(t).Image(t.Context(), ref)
			if err != nil {
				t.Fatalf("Image: %v", err)
			}
			if res.Ref != ref || string(res.Digest) != subject.DigestStr() || res.Pinned != subject.String() || res.Omitted != 0 {
				t.Fatalf("result = %+v, want %s", res, subject)
			}
			if len(res.Attestations) != 2 {
				t.Fatalf("%d attestations, want 2", len(res.Attestations))
			}
			_, san := f.ss.Identity()
			for _, a := range res.Attestations {
				if !a.Verified || a.Failure != "" || a.Statement == nil {
					t.Errorf("%s: verified %v, failure %q", a.PredicateType, a.Verified, a.Failure)
					continue
				}
				if a.SignerIdentity != san || a.SignerIssuer != signtest.DefaultIssuer || a.LogIndex < 0 || a.Timestamp.IsZero() {
					t.Errorf("%s: signer %q from %q, log index %d, time %v", a.PredicateType, a.SignerIdentity, a.SignerIssuer, a.LogIndex, a.Timestamp)
				}
				if a.Statement.PredicateType != a.PredicateType || a.Referrer.PredicateType != a.PredicateType {
					t.Errorf("predicate types: attestation %q, statement %q, referrer %q", a.PredicateType, a.Statement.PredicateType, a.Referrer.PredicateType)
				}
			}
			prov := res.Verified(hallmark.PredicateSLSAProvenanceV1)
			if len(prov) != 1 || string(prov[0].Statement.Predicate) != provenancePredicate {
				t.Errorf("Verified(provenance) = %+v", prov)
			}
			if n := len(res.Verified("")); n != 2 {
				t.Errorf("Verified(\"\") has %d, want 2", n)
			}
			if n := len(res.Verified(hallmark.PredicateVSA)); n != 0 {
				t.Errorf("Verified(VSA) has %d, want 0", n)
			}
		})
	}
}

// TestImageFailures attaches one bad bundle per case: each is a result with
// Verified false and a Failure that says why, never an error.
func TestImageFailures(t *testing.T) {
	tests := []struct {
		name string
		// attach attaches the bundle to subject; verifier returns the
		// Verifier (nil: the fixture's default).
		attach   func(t *testing.T, f *fixture, subject name.Digest, desc v1.Descriptor)
		verifier func(t *testing.T, f *fixture) *verify.Verifier
		failure  string
	}{
		{
			name:   "wrong identity",
			attach: attestProvenance,
			verifier: func(t *testing.T, f *fixture) *verify.Verifier {
				return newVerifier(t, f.ss.TrustedRoot(t), verify.WithIdentities(verify.Identity{Issuer: signtest.DefaultIssuer, SubjectAlternativeName: "https://x"}))
			},
			failure: "certificate identity " + signtest.DefaultSubject + " (issuer " + signtest.DefaultIssuer + ") does not match the policy",
		},
		{
			name:   "wrong issuer",
			attach: attestProvenance,
			verifier: func(t *testing.T, f *fixture) *verify.Verifier {
				return newVerifier(t, f.ss.TrustedRoot(t), verify.WithIdentities(verify.Identity{Issuer: "https://other.invalid", SubjectAlternativeName: signtest.DefaultSubject}))
			},
			failure: "does not match the policy",
		},
		{
			name:   "regexp must match the whole SAN",
			attach: attestProvenance,
			verifier: func(t *testing.T, f *fixture) *verify.Verifier {
				return newVerifier(t, f.ss.TrustedRoot(t), verify.WithIdentities(verify.Identity{Issuer: signtest.DefaultIssuer, SANRegexp: `hallmark\.signtest\.invalid`}))
			},
			failure: "does not match the policy",
		},
		{
			name: "tampered payload",
			attach: func(t *testing.T, f *fixture, subject name.Digest, _ v1.Descriptor) {
				b := f.statement(t, subject.Context().Name(), hallmark.Digest(subject.DigestStr()), hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
				publishRaw(t, subject, signtest.EditPayload(t, b, "dockerfile", "evilfile"))
			},
			failure: "verify bundle: ",
		},
		{
			name:   "foreign trusted root",
			attach: attestProvenance,
			verifier: func(t *testing.T, f *fixture) *verify.Verifier {
				return newVerifier(t, f.ss.ForeignTrustedRoot(t), verify.WithIdentities(f.identity()))
			},
			failure: "certificate",
		},
		{
			name: "statement about another digest",
			attach: func(t *testing.T, f *fixture, subject name.Digest, _ v1.Descriptor) {
				other, _ := f.reg.PushRandom(t, "other", "v1")
				publishRaw(t, subject, f.statement(t, other.Context().Name(), hallmark.Digest(other.DigestStr()), hallmark.PredicateSLSAProvenanceV1, provenancePredicate))
			},
			failure: "subject digest does not match the image",
		},
		{
			name:   "oversized bundle",
			attach: attestProvenance,
			verifier: func(t *testing.T, f *fixture) *verify.Verifier {
				return f.verifier(t, verify.WithMaxBundleSize(1024))
			},
			failure: "over the 1024-byte limit",
		},
		{
			name: "no signed timestamp",
			attach: func(t *testing.T, f *fixture, subject name.Digest, _ v1.Descriptor) {
				b := f.statement(t, subject.Context().Name(), hallmark.Digest(subject.DigestStr()), hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
				publishRaw(t, subject, signtest.DropMaterial(t, b, "timestampVerificationData"))
			},
			failure: "timestamp",
		},
		{
			name: "no transparency log entry",
			attach: func(t *testing.T, f *fixture, subject name.Digest, _ v1.Descriptor) {
				b := f.statement(t, subject.Context().Name(), hallmark.Digest(subject.DigestStr()), hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
				publishRaw(t, subject, signtest.DropMaterial(t, b, "tlogEntries"))
			},
			failure: "bundle has no transparency log entry",
		},
		{
			name: "malformed json",
			attach: func(t *testing.T, _ *fixture, subject name.Digest, desc v1.Descriptor) {
				pushRawReferrer(t, subject, desc, hallmark.MediaTypeBundleV03, []byte(`{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",`))
			},
			failure: "bundle is not a JSON object",
		},
		{
			name: "unknown layer media type",
			attach: func(t *testing.T, f *fixture, subject name.Digest, desc v1.Descriptor) {
				b := f.statement(t, subject.Context().Name(), hallmark.Digest(subject.DigestStr()), hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
				pushRawReferrer(t, subject, desc, "application/vnd.dev.sigstore.bundle.v0.9+json", b)
			},
			failure: `bundle media type "application/vnd.dev.sigstore.bundle.v0.9+json" is not supported`,
		},
		{
			name: "unknown bundle media type",
			attach: func(t *testing.T, f *fixture, subject name.Digest, desc v1.Descriptor) {
				b := f.statement(t, subject.Context().Name(), hallmark.Digest(subject.DigestStr()), hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
				pushRawReferrer(t, subject, desc, hallmark.MediaTypeBundleV03, signtest.EditBundle(t, b, func(m map[string]any) {
					m["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json"
				}))
			},
			failure: "is not supported",
		},
		{
			name: "not an in-toto payload",
			attach: func(t *testing.T, f *fixture, subject name.Digest, desc v1.Descriptor) {
				b := f.statement(t, subject.Context().Name(), hallmark.Digest(subject.DigestStr()), hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
				pushRawReferrer(t, subject, desc, hallmark.MediaTypeBundleV03, signtest.EditBundle(t, b, func(m map[string]any) {
					m["dsseEnvelope"].(map[string]any)["payloadType"] = "text/plain"
				}))
			},
			failure: `DSSE payload type "text/plain" is not`,
		},
		{
			name: "digest of the blob does not match",
			attach: func(t *testing.T, f *fixture, subject name.Digest, desc v1.Descriptor) {
				pushRawReferrer(t, subject, desc, hallmark.MediaTypeBundleV03, []byte(`{"a":1}`))
				// Make the registry serve other bytes for that blob.
				f.reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
					if strings.HasSuffix(r.URL.Path, "/blobs/"+hallmark.SHA256([]byte(`{"a":1}`)).String()) && r.Method == http.MethodGet {
						_, _ = w.Write([]byte(`{"b":22}`))
						return true
					}
					return false
				})
			},
			failure: "fetch bundle",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, true)
			subject, desc := f.reg.PushRandom(t, "app", "v1")
			tt.attach(t, f, subject, desc)
			v := f.verifier(t)
			if tt.verifier != nil {
				v = tt.verifier(t, f)
			}
			res, err := v.Image(t.Context(), f.reg.Host+"/app:v1")
			if err != nil {
				t.Fatalf("Image: %v", err)
			}
			if len(res.Attestations) != 1 {
				t.Fatalf("%d attestations, want 1", len(res.Attestations))
			}
			a := res.Attestations[0]
			t.Logf("failure: %s", a.Failure)
			if a.Verified || a.Statement != nil || !strings.Contains(a.Failure, tt.failure) {
				t.Errorf("verified %v, statement %v, failure %q; want a failure with %q", a.Verified, a.Statement != nil, a.Failure, tt.failure)
			}
			if len(res.Verified("")) != 0 {
				t.Error("Verified lists a failed attestation")
			}
		})
	}
}

func attestProvenance(t *testing.T, f *fixture, subject name.Digest, _ v1.Descriptor) {
	t.Helper()
	f.attest(t, subject, hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
}

// publishRaw publishes a (possibly tampered) bundle as a provenance
// referrer of subject.
func publishRaw(t *testing.T, subject name.Digest, b []byte) {
	t.Helper()
	if _, err := publish.Publish(t.Context(), subject, b, hallmark.PredicateSLSAProvenanceV1); err != nil {
		t.Fatal(err)
	}
}

// TestPredicateTypeFromStatement attaches a provenance bundle whose
// (unsigned) annotation claims it is an SBOM: the verified statement wins.
func TestPredicateTypeFromStatement(t *testing.T) {
	f := newFixture(t, true)
	subject, _ := f.reg.PushRandom(t, "app", "v1")
	b := f.statement(t, subject.Context().Name(), hallmark.Digest(subject.DigestStr()), hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
	if _, err := publish.Publish(t.Context(), subject, b, hallmark.PredicateSPDX); err != nil {
		t.Fatal(err)
	}
	res, err := f.verifier(t).Image(t.Context(), subject.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Verified(hallmark.PredicateSPDX)) != 0 || len(res.Verified(hallmark.PredicateSLSAProvenanceV1)) != 1 {
		t.Fatalf("attestations = %+v; want only a verified provenance", res.Attestations)
	}
}

func TestImageOptions(t *testing.T) {
	tests := []struct {
		name     string
		sigstore []signtest.Option
		opts     func(f *fixture) []verify.Option
		verified bool
	}{
		{"identity regexp", nil, func(f *fixture) []verify.Option {
			return []verify.Option{verify.WithIdentities(verify.Identity{IssuerRegexp: `https://oidc\.signtest\.invalid`, SANRegexp: `https://hallmark\.signtest\.invalid/.*`})}
		}, true},
		{"exact and regexp", nil, func(f *fixture) []verify.Option {
			id := f.identity()
			id.SANRegexp = `.*/gateway`
			return []verify.Option{verify.WithIdentities(id)}
		}, true},
		{"second identity matches", nil, func(f *fixture) []verify.Option {
			return []verify.Option{verify.WithIdentities(verify.Identity{Issuer: "https://a.invalid", SubjectAlternativeName: "b"}, f.identity())}
		}, true},
		{"any identity", nil, func(*fixture) []verify.Option { return []verify.Option{verify.WithAnyIdentityUnsafe()} }, true},
		{"timestamp only, log required", []signtest.Option{signtest.WithoutRekor()}, func(f *fixture) []verify.Option {
			return []verify.Option{verify.WithIdentities(f.identity())}
		}, false},
		{"timestamp only, log not required", []signtest.Option{signtest.WithoutRekor()}, func(f *fixture) []verify.Option {
			return []verify.Option{verify.WithIdentities(f.identity()), verify.WithoutTransparencyLogUnsafe()}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, true, tt.sigstore...)
			subject, _ := f.reg.PushRandom(t, "app", "v1")
			f.attest(t, subject, hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
			res, err := newVerifier(t, f.ss.TrustedRoot(t), tt.opts(f)...).Image(t.Context(), subject.String())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Attestations) != 1 || res.Attestations[0].Verified != tt.verified {
				t.Fatalf("attestations = %+v, want verified %v", res.Attestations, tt.verified)
			}
		})
	}
}

func TestMaxBundles(t *testing.T) {
	f := newFixture(t, true)
	subject, _ := f.reg.PushRandom(t, "app", "v1")
	// Three predicate types: none supersedes another.
	for _, pt := range []string{hallmark.PredicateSPDX, hallmark.PredicateSLSAProvenanceV1, hallmark.PredicateVulns} {
		f.attest(t, subject, pt, `{"n":1}`)
	}
	res, err := f.verifier(t, verify.WithMaxBundles(2)).Image(t.Context(), subject.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Attestations) != 2 || res.Omitted != 1 || len(res.Verified("")) != 2 || len(res.Superseded) != 0 {
		t.Fatalf("%d attestations, %d omitted, %d superseded; want 2, 1 and 0", len(res.Attestations), res.Omitted, len(res.Superseded))
	}
}

// TestImageResolvesOnce moves the tag to another attested image right after
// the verifier read it: the result is about the first image only, and the
// tag was read once.
func TestImageResolvesOnce(t *testing.T) {
	for _, mode := range registrytest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			f := newFixture(t, mode.Referrers)
			first, _ := f.reg.PushRandom(t, "app", "v1")
			f.attest(t, first, hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
			second, _ := f.reg.PushRandom(t, "app", "v2")
			f.attest(t, second, hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
			f.attest(t, second, hallmark.PredicateSPDX, spdxPredicate)
			secondManifest, err := remote.Get(second, remote.WithContext(t.Context()))
			if err != nil {
				t.Fatal(err)
			}

			var tagReads atomic.Int64
			f.reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, "/app/manifests/v1") || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
					return false
				}
				tagReads.Add(1)
				f.reg.Handler().ServeHTTP(w, r)
				// Move the tag: v1 now names the second image.
				put := httptest.NewRequest(http.MethodPut, r.URL.Path, strings.NewReader(string(secondManifest.Manifest)))
				put.Header.Set("Content-Type", string(secondManifest.MediaType))
				rec := httptest.NewRecorder()
				f.reg.Handler().ServeHTTP(rec, put)
				if rec.Code != http.StatusCreated {
					t.Errorf("move tag: %d %s", rec.Code, rec.Body)
				}
				return true
			})

			res, err := f.verifier(t).Image(t.Context(), f.reg.Host+"/app:v1")
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Digest) != first.DigestStr() || res.Pinned != first.String() {
				t.Fatalf("result digest %s, want the first image %s", res.Digest, first.DigestStr())
			}
			if len(res.Attestations) != 1 || !res.Attestations[0].Verified || !res.Attestations[0].Statement.HasSubjectDigest(res.Digest) {
				t.Fatalf("attestations = %+v, want the first image's provenance only", res.Attestations)
			}
			if n := tagReads.Load(); n != 1 {
				t.Errorf("the tag was read %d times, want once", n)
			}
			moved, err := remote.Head(first.Context().Tag("v1"), remote.WithContext(t.Context()))
			if err != nil || moved.Digest.String() != second.DigestStr() {
				t.Errorf("tag now names %v (%v), want the second image: the test did not move it", moved, err)
			}
		})
	}
}

func TestImageErrors(t *testing.T) {
	f := newFixture(t, true)
	f.reg.PushRandom(t, "app", "v1")
	downHost := registrytest.UnreachableHost()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusBadGateway)
	}))
	t.Cleanup(failing.Close)
	// The same refusal that builder and attest/publish report as
	// ErrPermissionDenied (registry.Error).
	refusing := registrytest.New(t)
	refusing.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
		return true
	})

	tests := []struct {
		name string
		ref  string
		want error
	}{
		{"registry down", downHost + "/app:v1", hallmark.ErrUnavailable},
		{"registry failing", strings.TrimPrefix(failing.URL, "http://") + "/app:v1", hallmark.ErrUnavailable},
		{"registry refuses access", refusing.Host + "/app:v1", hallmark.ErrPermissionDenied},
		{"tag not found", f.reg.Host + "/app:nope", hallmark.ErrNotFound},
		{"repository not found", f.reg.Host + "/nope:v1", hallmark.ErrNotFound},
		{"digest not found", f.reg.Host + "/app@sha256:" + strings.Repeat("3", 64), hallmark.ErrNotFound},
		{"bad reference", "UPPER/Case::x", hallmark.ErrInvalid},
		{"empty reference", "", hallmark.ErrInvalid},
	}
	v := f.verifier(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := v.Image(t.Context(), tt.ref)
			if !errors.Is(err, tt.want) || res != nil {
				t.Fatalf("Image = %v, %v; want %v", res, err, tt.want)
			}
			t.Log(err)
		})
	}
}

// TestReferrersUnavailable lets the image resolve but the referrers fail:
// that is "could not evaluate", not "no attestations".
func TestReferrersUnavailable(t *testing.T) {
	f := newFixture(t, true)
	subject, _ := f.reg.PushRandom(t, "app", "v1")
	f.attest(t, subject, hallmark.PredicateSLSAProvenanceV1, provenancePredicate)
	for _, path := range []string{"/referrers/", "/blobs/"} {
		t.Run(strings.Trim(path, "/"), func(t *testing.T) {
			f.reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
				if strings.Contains(r.URL.Path, path) && !strings.HasSuffix(r.URL.Path, registrytest.EmptyDigest) {
					http.Error(w, "down", http.StatusServiceUnavailable)
					return true
				}
				return false
			})
			res, err := f.verifier(t).Image(t.Context(), subject.String())
			if !errors.Is(err, hallmark.ErrUnavailable) {
				t.Fatalf("Image = %+v, %v; want ErrUnavailable", res, err)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	ss := signtest.New(t)
	tr := ss.TrustedRoot(t)
	good := verify.Identity{Issuer: "https://i", SubjectAlternativeName: "s"}
	tests := []struct {
		name string
		tr   *root.TrustedRoot
		opts []verify.Option
	}{
		{"nil trusted root", nil, []verify.Option{verify.WithIdentities(good)}},
		{"no identity", tr, nil},
		{"identities and any", tr, []verify.Option{verify.WithIdentities(good), verify.WithAnyIdentityUnsafe()}},
		{"no issuer", tr, []verify.Option{verify.WithIdentities(verify.Identity{SubjectAlternativeName: "s"})}},
		{"no SAN", tr, []verify.Option{verify.WithIdentities(verify.Identity{Issuer: "https://i"})}},
		{"bad SAN regexp", tr, []verify.Option{verify.WithIdentities(verify.Identity{Issuer: "https://i", SANRegexp: "("})}},
		{"bad issuer regexp", tr, []verify.Option{verify.WithIdentities(verify.Identity{IssuerRegexp: "[", SubjectAlternativeName: "s"})}},
		{"max bundles", tr, []verify.Option{verify.WithIdentities(good), verify.WithMaxBundles(0)}},
		{"max bundle size", tr, []verify.Option{verify.WithIdentities(good), verify.WithMaxBundleSize(registry.MaxBundleSize + 1)}},
		{"nil logger", tr, []verify.Option{verify.WithIdentities(good), verify.WithLogger(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := verify.New(tt.tr, tt.opts...)
			if !errors.Is(err, hallmark.ErrInvalid) || v != nil {
				t.Fatalf("New = %v, %v; want ErrInvalid", v, err)
			}
			t.Log(err)
		})
	}
}

package verify_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/sign/signtest"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// Tests of how old bundles are treated (the package documentation): of
// the verified attestations of one predicate type by one signer only the
// newest is evaluated, and bundles whose unsigned hints say they are older
// than a verified one are not even fetched.

// hintsOf are the annotations attest/publish writes on the referrer of
// bundle b, signed by f's identity, with the creation time created.
func hintsOf(f *fixture, predicateType string, b []byte, created time.Time) map[string]string {
	issuer, san := f.ss.Identity()
	return map[string]string{
		registry.AnnotationCreated:        created.UTC().Format(time.RFC3339),
		registry.AnnotationBundleContent:  registry.BundleContentDSSE,
		registry.AnnotationPredicateType:  predicateType,
		registry.AnnotationSignerIssuer:   issuer,
		registry.AnnotationSignerIdentity: san,
		registry.AnnotationBundleDigest:   hallmark.SHA256(b).String(),
	}
}

// pushBundle pushes bundle b as a bundle referrer of subject in the
// layout attest/publish writes, with exactly the given annotations (on
// registries without the referrers API, remote.Put updates the fallback
// tag, copying them into its index), and returns the referrer's digest.
func pushBundle(t testing.TB, subject name.Digest, subjectDesc v1.Descriptor, b []byte, annotations map[string]string) hallmark.Digest {
	t.Helper()
	repo := subject.Context()
	layer := static.NewLayer(b, registry.BundleArtifactType)
	for _, l := range []v1.Layer{static.NewLayer([]byte("{}"), registry.MediaTypeEmpty), layer} {
		if err := remote.WriteLayer(repo, l, remote.WithContext(t.Context())); err != nil {
			t.Fatal(err)
		}
	}
	h, err := layer.Digest()
	if err != nil {
		t.Fatal(err)
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: registry.MediaTypeEmpty, ArtifactType: registry.BundleArtifactType, Size: 2,
			Digest: v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(registrytest.EmptyDigest, "sha256:")}},
		Layers:       []v1.Descriptor{{MediaType: registry.BundleArtifactType, Digest: h, Size: int64(len(b))}},
		Subject:      &v1.Descriptor{MediaType: subjectDesc.MediaType, Digest: subjectDesc.Digest, Size: subjectDesc.Size},
		ArtifactType: registry.BundleArtifactType,
		Annotations:  annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d := hallmark.SHA256(raw)
	if err := remote.Put(repo.Digest(d.String()), registry.OCIManifest(raw), remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	return d
}

// fetches records the referrer manifests and bundles a verification GETs.
type fetches struct {
	mu  sync.Mutex
	got map[string]int
}

// countFetches makes f's registry record every GET of a manifest or blob
// by digest.
func countFetches(f *fixture) *fetches {
	c := &fetches{got: map[string]int{}}
	f.reg.SetHook(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet {
			return false
		}
		for _, kind := range []string{"/manifests/", "/blobs/"} {
			if _, d, ok := strings.Cut(r.URL.Path, kind); ok && strings.HasPrefix(d, "sha256:") {
				c.mu.Lock()
				c.got[d]++
				c.mu.Unlock()
			}
		}
		return false
	})
	return c
}

// of returns which of digests were fetched, and how many fetches that was.
func (c *fetches) of(digests ...hallmark.Digest) (fetched []hallmark.Digest, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range digests {
		if c.got[string(d)] > 0 {
			fetched = append(fetched, d)
			n += c.got[string(d)]
		}
	}
	return fetched, n
}

// read returns which of refs were read: their manifest, or their bundle
// (bundleOf maps a referrer to its bundle), which a hint names without the
// manifest.
func (c *fetches) read(bundleOf map[hallmark.Digest]hallmark.Digest, refs ...hallmark.Digest) []hallmark.Digest {
	var out []hallmark.Digest
	for _, r := range refs {
		if got, _ := c.of(r, bundleOf[r]); len(got) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// bundlesOf maps each referrer of subject to its bundle.
func bundlesOf(t testing.TB, subject name.Digest) map[hallmark.Digest]hallmark.Digest {
	t.Helper()
	out := map[hallmark.Digest]hallmark.Digest{}
	for bd, r := range listed(t, subject) {
		out[r.Digest] = bd
	}
	return out
}

func (c *fetches) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.got)
}

// published is a referrer pushed by a test: its manifest and bundle.
type published struct {
	referrer, bundle hallmark.Digest
}

// listed returns subject's referrers by bundle digest, as List sees them.
func listed(t testing.TB, subject name.Digest) map[hallmark.Digest]verify.Referrer {
	t.Helper()
	refs, err := verify.List(t.Context(), subject)
	if err != nil {
		t.Fatal(err)
	}
	out := map[hallmark.Digest]verify.Referrer{}
	for _, r := range refs {
		out[r.BundleDigest] = r
	}
	return out
}

// attestPublished is f.attest that returns the referrer it published.
func attestPublished(t testing.TB, f *fixture, subject name.Digest, predicateType, predicate string) published {
	t.Helper()
	b := f.attest(t, subject, predicateType, predicate)
	bd := hallmark.SHA256(b)
	r, ok := listed(t, subject)[bd]
	if !ok {
		t.Fatalf("published bundle %s is not listed", bd)
	}
	return published{referrer: r.Digest, bundle: bd}
}

// signedAt is the verified signing time of f's bundle b about subject.
func signedAt(t testing.TB, f *fixture, subject name.Digest, b []byte) time.Time {
	t.Helper()
	res, err := verify.VerifyBundle(t.Context(), f.ss.TrustedRoot(t), b, verify.ArtifactDigest(hallmark.Digest(subject.DigestStr())),
		verify.WithIdentities(f.identity()))
	if err != nil {
		t.Fatal(err)
	}
	return res.Timestamp
}

// afterSecondOf returns once the wall clock is past the second of t. The
// fake TSA stamps the wall clock at second precision, so a bundle signed
// after that has a later verified signing time than one signed at t.
func afterSecondOf(t time.Time) {
	time.Sleep(time.Until(t.Truncate(time.Second).Add(time.Second)))
}

// referrerDigests returns the referrers' digests.
func referrerDigests(ps ...published) []hallmark.Digest {
	var out []hallmark.Digest
	for _, p := range ps {
		out = append(out, p.referrer)
	}
	return out
}

// bundleDigests returns the bundles' digests.
func bundleDigests(ps ...published) []hallmark.Digest {
	var out []hallmark.Digest
	for _, p := range ps {
		out = append(out, p.bundle)
	}
	return out
}

// digestsOf returns the referrer digests of as.
func digestsOf(as []verify.Attestation) []hallmark.Digest {
	var out []hallmark.Digest
	for _, a := range as {
		out = append(out, a.Referrer.Digest)
	}
	slices.Sort(out)
	return out
}

func sorted(ds ...hallmark.Digest) []hallmark.Digest {
	out := slices.Clone(ds)
	slices.Sort(out)
	return out
}

// TestManyBundles: 50 rebuilds of the same content left an SBOM and a
// provenance each, 100 bundles. A verification fetches the newest two
// manifests and bundles only, lists the other 98 as superseded by them,
// and the policy sees two attestations: for an Evaluator (which would
// otherwise be over its limit of 32) and a Verifier alike.
func TestManyBundles(t *testing.T) {
	const rebuilds = 50
	for _, mode := range registrytest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			f := newFixture(t, mode.Referrers)
			img, desc := f.reg.PushRandom(t, "app", "v1")
			// The 49 earlier rebuilds, published a minute apart an hour
			// ago (their hints are all the verification reads of them).
			start := time.Now().Add(-time.Hour).Truncate(time.Second)
			var old []published
			for i := range rebuilds - 1 {
				for _, pt := range []string{hallmark.PredicateSPDX, hallmark.PredicateSLSAProvenanceV1} {
					b := f.statement(t, img.Context().Name(), hallmark.Digest(img.DigestStr()), pt, predicateOf(pt))
					d := pushBundle(t, img, desc, b, hintsOf(f, pt, b, start.Add(time.Duration(i)*time.Minute)))
					old = append(old, published{referrer: d, bundle: hallmark.SHA256(b)})
				}
			}
			// The last rebuild, published by attest/publish now.
			newest := []published{
				attestPublished(t, f, img, hallmark.PredicateSPDX, spdxPredicate),
				attestPublished(t, f, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance),
			}
			if n := len(listed(t, img)); n != 2*rebuilds {
				t.Fatalf("the image has %d referrers, want %d", n, 2*rebuilds)
			}
			all := append(slices.Clone(old), newest...)

			fetched := countFetches(f)
			p := testPolicy(t, f, "p", `{name: two, expression: "size(attestations) == 2"}`)
			v, err := newEvaluator(t, f, []*policy.Policy{p}).Verify(t.Context(), verify.Request{Ref: img.String()})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !v.Allowed || len(v.Input.Attestations) != 2 {
				t.Fatalf("Verify: allowed %v %q, %d attestations; want allowed with 2", v.Allowed, v.Reasons, len(v.Input.Attestations))
			}
			checkNewest(t, "Verify", v.Attestations, v.Superseded, newest, old)
			if got, n := fetched.of(referrerDigests(all...)...); n != 0 {
				t.Errorf("Verify fetched %d referrer manifests %v, want none: the hints name the bundles", n, got)
			}
			if got, n := fetched.of(bundleDigests(all...)...); !slices.Equal(sorted(got...), sorted(bundleDigests(newest...)...)) || n != 2 {
				t.Errorf("Verify fetched %d bundles %v, want the newest 2 once", n, got)
			}

			fetched.reset()
			res, err := f.verifier(t).Image(t.Context(), img.String())
			if err != nil {
				t.Fatalf("Image: %v", err)
			}
			if res.Omitted != 0 {
				t.Errorf("Image omitted %d", res.Omitted)
			}
			checkNewest(t, "Image", res.Attestations, res.Superseded, newest, old)
			if _, n := fetched.of(append(referrerDigests(all...), bundleDigests(all...)...)...); n != 2 {
				t.Errorf("Image made %d fetches of referrers and bundles, want 2: the newest bundles", n)
			}
		})
	}
}

// checkNewest checks that atts are the newest two, verified, and
// superseded the old ones, skipped unfetched, each naming the newest of
// its type.
func checkNewest(t *testing.T, what string, atts, superseded []verify.Attestation, newest, old []published) {
	t.Helper()
	if got, want := digestsOf(atts), sorted(referrerDigests(newest...)...); !slices.Equal(got, want) {
		t.Fatalf("%s evaluated %v, want the newest %v", what, got, want)
	}
	by := map[string]hallmark.Digest{}
	for _, a := range atts {
		if !a.Verified || a.SupersededBy != "" {
			t.Errorf("%s: newest %s: verified %v (%s), superseded by %q", what, a.PredicateType, a.Verified, a.Failure, a.SupersededBy)
		}
		by[a.PredicateType] = a.Referrer.Digest
	}
	if got, want := digestsOf(superseded), sorted(referrerDigests(old...)...); !slices.Equal(got, want) {
		t.Fatalf("%s superseded %d, want the %d old ones", what, len(got), len(want))
	}
	for _, a := range superseded {
		if a.Verified || a.Failure != "" || a.SupersededBy != by[a.PredicateType] || a.Referrer.Created.IsZero() {
			t.Errorf("%s: superseded %+v: want unverified, no failure, superseded by the newest %s (%s)", what, a, a.PredicateType, by[a.PredicateType])
			break
		}
	}
}

// otherSigner returns a fixture for a second signer identity whose
// Sigstore publishes to f's registry, and a trusted root that trusts both.
func otherSigner(t *testing.T, f *fixture, referrers bool) (*fixture, *root.TrustedRoot) {
	t.Helper()
	g := newFixture(t, referrers, signtest.WithIdentity(signtest.DefaultIssuer, "https://other.signtest.invalid/builder"))
	a, b := f.ss.TrustedRoot(t), g.ss.TrustedRoot(t)
	logs := maps.Clone(a.RekorLogs())
	maps.Copy(logs, b.RekorLogs())
	both, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		append(slices.Clone(a.FulcioCertificateAuthorities()), b.FulcioCertificateAuthorities()...), nil,
		append(slices.Clone(a.TimestampingAuthorities()), b.TimestampingAuthorities()...), logs)
	if err != nil {
		t.Fatal(err)
	}
	return g, both
}

// TestSupersession: what the unsigned hints can and cannot do. Every case
// publishes genuine attestations and others, verifies the image with a
// Verifier trusting want, and checks which referrers were fetched, which
// are evaluated and which superseded.
func TestSupersession(t *testing.T) {
	type outcome struct {
		// evaluated and superseded are referrer digests; fetched are
		// referrer digests that were read (their manifest, or the bundle
		// their hint names) and whose bundle was read.
		evaluated, superseded, fetched []hallmark.Digest
		// failed counts evaluated attestations that did not verify.
		failed int
	}
	tests := []struct {
		name string
		// setup publishes to img and returns the verifier and the outcome
		// wanted.
		setup func(t *testing.T, f *fixture, img name.Digest, desc v1.Descriptor, referrers bool) (*verify.Verifier, outcome)
	}{
		{
			// Junk claiming to be the newest provenance of the trusted
			// signer: signed by an untrusted Sigstore, and garbage. It is
			// fetched and fails, and supersedes nothing.
			name: "junk with forged newer hints",
			setup: func(t *testing.T, f *fixture, img name.Digest, desc v1.Descriptor, _ bool) (*verify.Verifier, outcome) {
				prov := attestPublished(t, f, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
				sbom := attestPublished(t, f, img, hallmark.PredicateSPDX, spdxPredicate)
				future := time.Now().Add(time.Hour)
				untrusted := newFixture(t, true)
				forged := untrusted.statement(t, img.Context().Name(), hallmark.Digest(img.DigestStr()), hallmark.PredicateSLSAProvenanceV1, goodProvenance)
				garbage := []byte(`{"mediaType":"` + hallmark.MediaTypeBundleV03 + `","junk":true}`)
				var junk []hallmark.Digest
				for _, b := range [][]byte{forged, garbage} {
					junk = append(junk, pushBundle(t, img, desc, b, hintsOf(f, hallmark.PredicateSLSAProvenanceV1, b, future)))
				}
				return f.verifier(t), outcome{
					evaluated: append([]hallmark.Digest{prov.referrer, sbom.referrer}, junk...),
					fetched:   append([]hallmark.Digest{prov.referrer, sbom.referrer}, junk...),
					failed:    2,
				}
			},
		},
		{
			// Garbage whose hint names the genuine provenance's bundle:
			// the hint chooses what is read, so the genuine bundle is what
			// is verified for it too, a genuine attestation that push
			// access could attach anyway; the garbage is never read.
			name: "hint naming another bundle",
			setup: func(t *testing.T, f *fixture, img name.Digest, desc v1.Descriptor, _ bool) (*verify.Verifier, outcome) {
				genuine := f.statement(t, img.Context().Name(), hallmark.Digest(img.DigestStr()), hallmark.PredicateSLSAProvenanceV1, goodProvenance)
				at := signedAt(t, f, img, genuine)
				good := pushBundle(t, img, desc, genuine, hintsOf(f, hallmark.PredicateSLSAProvenanceV1, genuine, at))
				// As long as the genuine bundle, so that only the digests differ.
				garbage := []byte(`{"mediaType":"` + hallmark.MediaTypeBundleV03 + `","junk":"`)
				garbage = append(garbage, strings.Repeat("x", len(genuine)-len(garbage)-2)+`"}`...)
				bad := pushBundle(t, img, desc, garbage, hintsOf(f, hallmark.PredicateSLSAProvenanceV1, genuine, at))
				return f.verifier(t), outcome{
					evaluated: []hallmark.Digest{good, bad},
					fetched:   []hallmark.Digest{good},
				}
			},
		},
		{
			// A hint naming a blob that is no bundle (the image's config):
			// the referrer manifest is read and names the real bundle,
			// which is verified.
			name: "hint naming a blob that is no bundle",
			setup: func(t *testing.T, f *fixture, img name.Digest, desc v1.Descriptor, _ bool) (*verify.Verifier, outcome) {
				genuine := f.statement(t, img.Context().Name(), hallmark.Digest(img.DigestStr()), hallmark.PredicateSLSAProvenanceV1, goodProvenance)
				hints := hintsOf(f, hallmark.PredicateSLSAProvenanceV1, genuine, signedAt(t, f, img, genuine))
				hints[registry.AnnotationBundleDigest] = configDigest(t, img)
				ref := pushBundle(t, img, desc, genuine, hints)
				return f.verifier(t), outcome{evaluated: []hallmark.Digest{ref}, fetched: []hallmark.Digest{ref}}
			},
		},
		{
			// An old genuine provenance, re-wrapped in a referrer that
			// claims it is newer than everything: it is verified, its
			// verified time is old, so it is the one superseded, by the
			// genuine newer provenance, which is verified too.
			name: "replayed old bundle with a forged newer creation time",
			setup: func(t *testing.T, f *fixture, img name.Digest, desc v1.Descriptor, _ bool) (*verify.Verifier, outcome) {
				oldBundle := f.statement(t, img.Context().Name(), hallmark.Digest(img.DigestStr()), hallmark.PredicateSLSAProvenanceV1, goodProvenance)
				afterSecondOf(signedAt(t, f, img, oldBundle))
				genuine := attestPublished(t, f, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
				replayed := pushBundle(t, img, desc, oldBundle, hintsOf(f, hallmark.PredicateSLSAProvenanceV1, oldBundle, time.Now().Add(time.Hour)))
				return f.verifier(t), outcome{
					evaluated:  []hallmark.Digest{genuine.referrer},
					superseded: []hallmark.Digest{replayed},
					fetched:    []hallmark.Digest{genuine.referrer, replayed},
				}
			},
		},
		{
			// Two trusted signers each published a provenance, a second
			// apart: neither supersedes the other.
			name: "same type, other signer",
			setup: func(t *testing.T, f *fixture, img name.Digest, _ v1.Descriptor, referrers bool) (*verify.Verifier, outcome) {
				g, both := otherSigner(t, f, referrers)
				first := f.attest(t, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
				afterSecondOf(signedAt(t, f, img, first))
				second := attestPublished(t, g, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
				firstRef := listed(t, img)[hallmark.SHA256(first)].Digest
				v := newVerifier(t, both, verify.WithIdentities(f.identity(), g.identity()))
				return v, outcome{
					evaluated: []hallmark.Digest{firstRef, second.referrer},
					fetched:   []hallmark.Digest{firstRef, second.referrer},
				}
			},
		},
		{
			// Two provenances signed in the same second by the same
			// signer: both are verified and both evaluated.
			name: "same second",
			setup: func(t *testing.T, f *fixture, img name.Digest, desc v1.Descriptor, _ bool) (*verify.Verifier, outcome) {
				var a, b []byte
				for range 5 {
					a = f.statement(t, img.Context().Name(), hallmark.Digest(img.DigestStr()), hallmark.PredicateSLSAProvenanceV1, goodProvenance)
					b = f.statement(t, img.Context().Name(), hallmark.Digest(img.DigestStr()), hallmark.PredicateSLSAProvenanceV1, goodProvenance)
					if signedAt(t, f, img, a).Equal(signedAt(t, f, img, b)) {
						break
					}
				}
				at := signedAt(t, f, img, a)
				if !at.Equal(signedAt(t, f, img, b)) {
					t.Fatal("could not sign two bundles in one second")
				}
				ra := pushBundle(t, img, desc, a, hintsOf(f, hallmark.PredicateSLSAProvenanceV1, a, at))
				rb := pushBundle(t, img, desc, b, hintsOf(f, hallmark.PredicateSLSAProvenanceV1, b, at))
				return f.verifier(t), outcome{evaluated: []hallmark.Digest{ra, rb}, fetched: []hallmark.Digest{ra, rb}}
			},
		},
		{
			// Referrers without signer hints (cosign's, older Hallmark's)
			// are never skipped: all are fetched, and only then is the
			// older superseded, by verified times.
			name: "no hints",
			setup: func(t *testing.T, f *fixture, img name.Digest, desc v1.Descriptor, _ bool) (*verify.Verifier, outcome) {
				oldBundle := f.statement(t, img.Context().Name(), hallmark.Digest(img.DigestStr()), hallmark.PredicateSLSAProvenanceV1, goodProvenance)
				oldAt := signedAt(t, f, img, oldBundle)
				afterSecondOf(oldAt)
				newBundle := f.statement(t, img.Context().Name(), hallmark.Digest(img.DigestStr()), hallmark.PredicateSLSAProvenanceV1, goodProvenance)
				cosign := func(b []byte, created time.Time) map[string]string {
					h := hintsOf(f, hallmark.PredicateSLSAProvenanceV1, b, created)
					delete(h, registry.AnnotationSignerIssuer)
					delete(h, registry.AnnotationSignerIdentity)
					delete(h, registry.AnnotationBundleDigest)
					return h
				}
				oldRef := pushBundle(t, img, desc, oldBundle, cosign(oldBundle, oldAt))
				newRef := pushBundle(t, img, desc, newBundle, cosign(newBundle, signedAt(t, f, img, newBundle)))
				return f.verifier(t), outcome{evaluated: []hallmark.Digest{newRef}, superseded: []hallmark.Digest{oldRef}, fetched: []hallmark.Digest{oldRef, newRef}}
			},
		},
	}
	for _, tt := range tests {
		for _, mode := range registrytest.Modes {
			t.Run(tt.name+"/"+mode.Name, func(t *testing.T) {
				f := newFixture(t, mode.Referrers)
				img, desc := f.reg.PushRandom(t, "app", "v1")
				v, want := tt.setup(t, f, img, desc, mode.Referrers)
				var all []hallmark.Digest
				bundleOf := map[hallmark.Digest]hallmark.Digest{}
				for bd, r := range listed(t, img) {
					all = append(all, r.Digest)
					bundleOf[r.Digest] = bd
				}
				fetched := countFetches(f)
				res, err := v.Image(t.Context(), img.String())
				if err != nil {
					t.Fatalf("Image: %v", err)
				}
				for _, a := range res.Attestations {
					t.Logf("evaluated %s %s at %s: verified %v %s", a.Referrer.Digest, a.PredicateType, a.Timestamp, a.Verified, a.Failure)
				}
				if got := digestsOf(res.Attestations); !slices.Equal(got, sorted(want.evaluated...)) {
					t.Errorf("evaluated %v, want %v", got, sorted(want.evaluated...))
				}
				if got := digestsOf(res.Superseded); !slices.Equal(got, sorted(want.superseded...)) {
					t.Errorf("superseded %v, want %v", got, sorted(want.superseded...))
				}
				failed := 0
				for _, a := range res.Attestations {
					if !a.Verified {
						failed++
					}
				}
				if failed != want.failed || len(res.Verified("")) != len(res.Attestations)-want.failed {
					t.Errorf("%d evaluated attestations failed, want %d", failed, want.failed)
				}
				for _, a := range res.Superseded {
					if a.SupersededBy == "" || !slices.Contains(digestsOf(res.Attestations), a.SupersededBy) {
						t.Errorf("superseded %s by %q, not by an evaluated attestation", a.Referrer.Digest, a.SupersededBy)
					}
				}
				if got := fetched.read(bundleOf, all...); !slices.Equal(sorted(got...), sorted(want.fetched...)) {
					t.Errorf("fetched referrers %v, want %v", sorted(got...), sorted(want.fetched...))
				}
				for _, r := range want.fetched {
					if got, _ := fetched.of(bundleOf[r]); len(got) != 1 {
						t.Errorf("the bundle of %s was not fetched", r)
					}
				}
			})
		}
	}
}

// TestEvaluatorNoHintsOverMaxBundles: referrers without signer hints are
// never skipped, so more of them than WithMaxBundles is an error naming
// verify.limits.maxBundles, decided from the index alone, as before hints
// existed; the same referrers with hints are evaluated, the newest only.
func TestEvaluatorNoHintsOverMaxBundles(t *testing.T) {
	for _, mode := range registrytest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			f := newFixture(t, mode.Referrers)
			start := time.Now().Add(-time.Hour)
			// push publishes four provenances about a new image, a minute
			// apart an hour ago, with edit applied to each one's hints.
			push := func(edit func(map[string]string)) (name.Digest, []hallmark.Digest) {
				img, desc := f.reg.PushRandom(t, "app", "")
				var refs []hallmark.Digest
				for i := range 4 {
					b := f.statement(t, img.Context().Name(), hallmark.Digest(img.DigestStr()), hallmark.PredicateSLSAProvenanceV1, goodProvenance)
					h := hintsOf(f, hallmark.PredicateSLSAProvenanceV1, b, start.Add(time.Duration(i)*time.Minute))
					edit(h)
					refs = append(refs, pushBundle(t, img, desc, b, h))
				}
				return img, refs
			}
			img, refs := push(func(h map[string]string) { delete(h, registry.AnnotationSignerIdentity) })
			hinted, hintedRefs := push(func(map[string]string) {})
			bundleOf := bundlesOf(t, img)
			maps.Copy(bundleOf, bundlesOf(t, hinted))

			fetched := countFetches(f)
			e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")}, verify.WithMaxBundles(3))
			v, err := e.Verify(t.Context(), verify.Request{Ref: img.String()})
			if v != nil {
				t.Fatalf("Verify = allowed %v %v, want no verdict", v.Allowed, v.Reasons)
			}
			wantLimit(t, err, verify.SettingMaxBundles)
			if got := fetched.read(bundleOf, refs...); len(got) != 0 {
				t.Errorf("fetched %d referrers, want none", len(got))
			}
			v, err = e.Verify(t.Context(), verify.Request{Ref: hinted.String()})
			if err != nil || !v.Allowed || len(v.Attestations) != 1 || len(v.Superseded) != 3 {
				t.Fatalf("Verify with hints = %+v, %v; want allowed, 1 attestation and 3 superseded", v, err)
			}
			if got := fetched.read(bundleOf, hintedRefs...); !slices.Equal(got, hintedRefs[3:]) {
				t.Errorf("fetched %v, want the newest only", got)
			}
		})
	}
}

// TestEvaluatorNewestScan: of two vulnerability scans by the gateway, the
// older with a critical finding, the rules see only the newer.
func TestEvaluatorNewestScan(t *testing.T) {
	scan := func(level string) string {
		result := `[]`
		if level != "" {
			result = fmt.Sprintf(`[{"id":"GO-2024-3321","severity":[{"method":"CVSS","score":"9.1","level":%q}],"package":"pkg:golang/golang.org/x/crypto@v0.30.0","installed":"0.30.0"}]`, level)
		}
		return `{"scanner":{"uri":"https://hallmark.dev/vuln","db":{"uri":"https://osv.dev"},"result":` + result + `},` +
			`"metadata":{"scanStartedOn":"2026-01-01T00:00:00Z","scanFinishedOn":"2026-01-01T00:00:01Z"}}`
	}
	for _, mode := range registrytest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			f := newFixture(t, mode.Referrers)
			img, _ := f.reg.PushRandom(t, "app", "")
			f.attest(t, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
			critical := f.attest(t, img, hallmark.PredicateVulns, scan("critical"))
			p := testPolicy(t, f, "p", `{name: no-critical, expression: "vulns != null && vulns.critical == 0"}, `+
				`{name: one-scan, expression: "attestations.filter(a, a.predicateType == '`+hallmark.PredicateVulns+`').size() == 1"}`)
			e := newEvaluator(t, f, []*policy.Policy{p}, verify.WithVerdictCacheSize(0))
			v, err := e.Verify(t.Context(), verify.Request{Ref: img.String()})
			if err != nil || v.Allowed || !strings.Contains(strings.Join(v.Reasons, "\n"), "no-critical") {
				t.Fatalf("Verify with the critical scan = %+v, %v; want denied by no-critical", v, err)
			}
			afterSecondOf(signedAt(t, f, img, critical))
			clean := attestPublished(t, f, img, hallmark.PredicateVulns, scan(""))
			v, err = e.Verify(t.Context(), verify.Request{Ref: img.String()})
			if err != nil || !v.Allowed {
				t.Fatalf("Verify after the clean scan = %+v, %v; want allowed", v, err)
			}
			if len(v.Superseded) != 1 || v.Superseded[0].Referrer.BundleDigest != hallmark.SHA256(critical) || v.Superseded[0].SupersededBy != clean.referrer {
				t.Errorf("superseded %+v, want the critical scan, by the clean one", v.Superseded)
			}
		})
	}
}

// TestEvaluatorJunkCostsBudget: junk referrers claiming to be the newest
// are fetched and count against WithMaxBundles, so enough of them make the
// image an error, never allowed; under the limit, the image is evaluated
// on its genuine attestations.
func TestEvaluatorJunkCostsBudget(t *testing.T) {
	f := newFixture(t, true)
	img, desc := f.reg.PushRandom(t, "app", "")
	f.attest(t, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	f.attest(t, img, hallmark.PredicateSPDX, spdxPredicate)
	for i := range 3 {
		junk := fmt.Appendf(nil, `{"mediaType":%q,"junk":%d}`, hallmark.MediaTypeBundleV03, i)
		pushBundle(t, img, desc, junk, hintsOf(f, hallmark.PredicateSLSAProvenanceV1, junk, time.Now().Add(time.Hour)))
	}
	p := testPolicy(t, f, "p", "")
	v, err := newEvaluator(t, f, []*policy.Policy{p}, verify.WithMaxBundles(4)).Verify(t.Context(), verify.Request{Ref: img.String()})
	if v != nil {
		t.Fatalf("Verify = allowed %v %v, want no verdict", v.Allowed, v.Reasons)
	}
	wantLimit(t, err, verify.SettingMaxBundles)
	v, err = newEvaluator(t, f, []*policy.Policy{p}, verify.WithMaxBundles(5)).Verify(t.Context(), verify.Request{Ref: img.String()})
	if err != nil || !v.Allowed || len(v.Attestations) != 5 || len(v.Input.Attestations) != 2 {
		t.Fatalf("Verify = %+v, %v; want allowed on the 2 genuine attestations, 5 checked", v, err)
	}
}

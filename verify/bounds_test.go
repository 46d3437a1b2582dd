package verify_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// hostile answers GET requests whose path ends with suffix the way serve
// does, and leaves the others to the registry.
func hostile(suffix string, serve func(http.ResponseWriter)) registrytest.Hook {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, suffix) {
			return false
		}
		serve(w)
		return true
	}
}

// wantLimit checks that err is a *verify.LimitError of setting that says
// what to change.
func wantLimit(t *testing.T, err error, setting string) {
	t.Helper()
	var le *verify.LimitError
	if !errors.Is(err, hallmark.ErrTooLarge) || !errors.As(err, &le) || le.Setting != setting {
		t.Fatalf("Verify = %v, want a LimitError of %s", err, setting)
	}
	if !strings.Contains(err.Error(), setting) || !strings.Contains(err.Error(), fmt.Sprint(le.Limit)) {
		t.Errorf("error %q does not name the limit and %s", err, setting)
	}
}

// TestEvaluatorBoundsManifests: every manifest a verification reads (the
// image's manifest, the image of an index, the referrers index from the
// API or the fallback tag, each referrer manifest) is bounded by
// WithMaxManifestSize, whether the registry declares gigabytes or sends
// without end: the error names the limit and its setting, memory stays
// near the limit, and nothing is cached.
func TestEvaluatorBoundsManifests(t *testing.T) {
	const limit = 64 << 10
	huge := func(mediaType types.MediaType) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) { registrytest.Huge(w, string(mediaType), 4<<30) }
	}
	endless := func(mediaType types.MediaType) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) { registrytest.Endless(w, string(mediaType), 1<<30) }
	}
	for _, tt := range []struct {
		name      string
		referrers bool // the registry serves the referrers API
		// suffix is the path suffix the registry misbehaves on, given the
		// image and its (only) referrer manifest.
		suffix func(img name.Digest, referrer string) string
		serve  func(http.ResponseWriter)
		// noBundle answers 404 for the bundle the referrer's hint names,
		// so that its manifest is read.
		noBundle bool
	}{
		{"image manifest declared 4 GiB", true, func(img name.Digest, _ string) string { return "/manifests/" + img.DigestStr() }, huge(types.OCIManifestSchema1), false},
		{"endless image manifest", true, func(img name.Digest, _ string) string { return "/manifests/" + img.DigestStr() }, endless(types.OCIManifestSchema1), false},
		{"referrers index declared 4 GiB", true, func(img name.Digest, _ string) string { return "/referrers/" + img.DigestStr() }, huge(types.OCIImageIndex), false},
		{"endless referrers index", true, func(img name.Digest, _ string) string { return "/referrers/" + img.DigestStr() }, endless(types.OCIImageIndex), false},
		{"endless fallback tag index", false, func(img name.Digest, _ string) string { return "/manifests/" + registry.FallbackTag(img).TagStr() }, endless(types.OCIImageIndex), false},
		{"endless referrer manifest", true, func(_ name.Digest, referrer string) string { return "/manifests/" + referrer }, endless(types.OCIManifestSchema1), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.referrers)
			img, _ := f.reg.PushRandom(t, "app", "")
			f.attest(t, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
			refs, err := verify.List(t.Context(), img)
			if err != nil || len(refs) != 1 {
				t.Fatalf("List = %v, %v", refs, err)
			}
			e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")}, verify.WithMaxManifestSize(limit))
			h := hostile(tt.suffix(img, string(refs[0].Digest)), tt.serve)
			if tt.noBundle {
				h = func(w http.ResponseWriter, r *http.Request) bool {
					if strings.HasSuffix(r.URL.Path, "/blobs/"+string(refs[0].BundleDigest)) {
						http.NotFound(w, r)
						return true
					}
					return hostile(tt.suffix(img, string(refs[0].Digest)), tt.serve)(w, r)
				}
			}
			f.reg.SetHook(h)
			var v *verify.Verdict
			alloc := registrytest.Allocated(func() { v, err = e.Verify(t.Context(), verify.Request{Ref: img.String()}) })
			t.Logf("allocated %d KiB: %v", alloc>>10, err)
			if v != nil {
				t.Fatalf("Verify = %+v, want no verdict", v)
			}
			wantLimit(t, err, verify.SettingMaxManifestBytes)
			// Loose: the whole process, the registry's writes included.
			if alloc > 16<<20 {
				t.Errorf("the verification allocated %d MiB; want a bound near the 64 KiB limit", alloc>>20)
			}
			f.reg.SetHook(nil)
			if v, err := e.Verify(t.Context(), verify.Request{Ref: img.String()}); err != nil || !v.Allowed || v.Cached {
				t.Errorf("Verify once the registry behaves = %+v, %v; want allowed, not from the cache", v, err)
			}
		})
	}

	t.Run("image of an index declared 4 GiB", func(t *testing.T) {
		f := newFixture(t, true)
		child := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("d", 64)}
		raw := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":%d,"platform":{"os":"linux","architecture":"amd64"}}]}`,
			types.OCIImageIndex, types.OCIManifestSchema1, child, int64(4)<<30)
		// Served by the hook: the registry refuses an index whose image it
		// does not have.
		digest := hallmark.SHA256(raw).String()
		idx, err := name.NewDigest(f.reg.Host + "/idx@" + digest)
		if err != nil {
			t.Fatal(err)
		}
		var fetched atomic.Bool
		f.reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
			fetched.Store(fetched.Load() || strings.HasSuffix(r.URL.Path, child.String()))
			if !strings.HasSuffix(r.URL.Path, "/manifests/"+digest) {
				return false
			}
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			w.Header().Set("Docker-Content-Digest", digest)
			_, _ = w.Write(raw)
			return true
		})
		e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")}, verify.WithMaxManifestSize(limit))
		_, err = e.Verify(t.Context(), verify.Request{Ref: idx.String()})
		wantLimit(t, err, verify.SettingMaxManifestBytes)
		if fetched.Load() {
			t.Error("the image was fetched although the index declares it over the limit")
		}
	})
}

// TestEvaluatorManyReferrers: an image whose referrers index lists 5,000
// manifests is an error naming verify.limits.maxReferrers, decided from the
// index alone (no referrer manifest fetched), never a verdict from some of
// them, although one of them is a good attestation.
func TestEvaluatorManyReferrers(t *testing.T) {
	f := newFixture(t, true)
	img, desc := f.reg.PushRandom(t, "app", "")
	f.attest(t, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	good, err := verify.List(t.Context(), img)
	if err != nil || len(good) != 1 {
		t.Fatalf("List = %v, %v", good, err)
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	created := time.Now().UTC().Format(time.RFC3339)
	for i := range 5000 {
		idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 700,
			Digest:       v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", i)},
			ArtifactType: hallmark.MediaTypeBundleV03, Annotations: map[string]string{registry.AnnotationCreated: created}})
	}
	h, err := v1.NewHash(string(good[0].Digest))
	if err != nil {
		t.Fatal(err)
	}
	idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 700, Digest: h, ArtifactType: hallmark.MediaTypeBundleV03})
	body, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	var manifests atomic.Int64
	f.reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case strings.HasSuffix(r.URL.Path, "/referrers/"+desc.Digest.String()):
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			_, _ = w.Write(body)
			return true
		case strings.Contains(r.URL.Path, "/manifests/sha256:") && !strings.HasSuffix(r.URL.Path, desc.Digest.String()):
			manifests.Add(1) // not the fallback tag, read while the API is asked
		}
		return false
	})
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")})
	var v *verify.Verdict
	start := time.Now()
	alloc := registrytest.Allocated(func() { v, err = e.Verify(t.Context(), verify.Request{Ref: img.String()}) })
	t.Logf("index of %d KiB: %s, allocated %d KiB: %v", len(body)>>10, time.Since(start), alloc>>10, err)
	if v != nil {
		t.Fatalf("Verify = %+v, want no verdict", v)
	}
	wantLimit(t, err, verify.SettingMaxReferrers)
	if n := manifests.Load(); n != 0 {
		t.Errorf("%d referrer manifests were fetched, want none", n)
	}
	if alloc > 64<<20 {
		t.Errorf("the verification allocated %d MiB for an index of %d KiB", alloc>>20, len(body)>>10)
	}
}

// TestEvaluatorFailsClosedOverMaxBundles: with more bundle referrers than
// WithMaxBundles, an Evaluator gives no verdict (an error naming
// verify.limits.maxBundles) rather than one from the newest: a rule that
// denies on an attestation left out would otherwise allow the image. (A
// Verifier, which only reports, still lists the newest: TestMaxBundles.)
func TestEvaluatorFailsClosedOverMaxBundles(t *testing.T) {
	f := newFixture(t, true)
	img, _ := f.reg.PushRandom(t, "app", "")
	f.attest(t, img, "https://example.com/vulnerable/v1", `{}`)
	f.attest(t, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	f.attest(t, img, hallmark.PredicateSPDX, spdxPredicate)
	p := testPolicy(t, f, "p", `{name: not-vulnerable, expression: "!attestations.exists(a, a.predicateType == 'https://example.com/vulnerable/v1')"}`)
	all, err := newEvaluator(t, f, []*policy.Policy{p}).Verify(t.Context(), verify.Request{Ref: img.String()})
	if err != nil || all.Allowed {
		t.Fatalf("Verify with every attestation = %+v, %v; want denied", all, err)
	}
	v, err := newEvaluator(t, f, []*policy.Policy{p}, verify.WithMaxBundles(2)).Verify(t.Context(), verify.Request{Ref: img.String()})
	if v != nil {
		t.Fatalf("Verify = allowed %v %v, want no verdict", v.Allowed, v.Reasons)
	}
	wantLimit(t, err, verify.SettingMaxBundles)
}

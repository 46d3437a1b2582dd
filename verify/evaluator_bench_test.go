package verify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// benchmarkVerify verifies ref with e b.N times, each verdict checked by
// ok, and reports the percentiles of the decision times.
func benchmarkVerify(b *testing.B, e *verify.Evaluator, ref string, ok func(*verify.Verdict) bool) {
	b.Helper()
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		v, err := e.Verify(b.Context(), verify.Request{Ref: ref})
		if err != nil || !ok(v) {
			b.Fatalf("Verify = %v, %v", v, err)
		}
		durations = append(durations, time.Since(start))
	}
	reportPercentiles(b, durations)
}

// reportPercentiles reports p50 and p99 of durations in milliseconds.
func reportPercentiles(b *testing.B, durations []time.Duration) {
	b.Helper()
	if len(durations) == 0 {
		return
	}
	slices.Sort(durations)
	at := func(p float64) float64 {
		return float64(durations[int(p*float64(len(durations)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkVerifyCold verifies an image with provenance and SBOM from an
// in-process registry (referrers API), every time from scratch: referrers,
// bundles, Sigstore verification, config, rules.
func BenchmarkVerifyCold(b *testing.B) {
	f := newFixture(b, true)
	img, _ := f.reg.PushRandom(b, "app", "v1")
	f.attest(b, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	f.attest(b, img, hallmark.PredicateSPDX, spdxPredicate)
	e := newEvaluator(b, f, []*policy.Policy{testPolicy(b, f, "p", "")}, verify.WithVerdictCacheSize(0))
	benchmarkVerify(b, e, img.String(), func(v *verify.Verdict) bool { return v.Allowed })
}

// BenchmarkVerifyCached is a decision served from the verdict cache: an
// image by digest, verified before.
func BenchmarkVerifyCached(b *testing.B) {
	f := newFixture(b, true)
	img, _ := f.reg.PushRandom(b, "app", "v1")
	f.attest(b, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	e := newEvaluator(b, f, []*policy.Policy{testPolicy(b, f, "p", "")})
	if _, err := e.Verify(b.Context(), verify.Request{Ref: img.String()}); err != nil {
		b.Fatal(err)
	}
	benchmarkVerify(b, e, img.String(), func(v *verify.Verdict) bool { return v.Cached })
}

// BenchmarkVerifyColdMaxBundles is BenchmarkVerifyCold on an image that
// carries as many bundles as the Evaluator verifies (DefaultMaxBundles,
// 32: 16 provenance and 16 SBOM statements, as 16 rebuilds of
// reproducible content leave) without the signer hints that let a
// verification skip superseded ones (cosign's, older Hallmark's): the most
// a cold verification reads and checks. One more such bundle makes the
// image an error, not a verdict (docs/policy.md).
func BenchmarkVerifyColdMaxBundles(b *testing.B) {
	f := newFixture(b, true)
	img, desc := f.reg.PushRandom(b, "app", "v1")
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range verify.DefaultMaxBundles / 2 {
		for _, pt := range []string{hallmark.PredicateSPDX, hallmark.PredicateSLSAProvenanceV1} {
			bundle := f.statement(b, img.Context().Name(), hallmark.Digest(img.DigestStr()), pt, predicateOf(pt))
			h := hintsOf(f, pt, bundle, start.Add(time.Duration(i)*time.Minute))
			delete(h, registry.AnnotationSignerIssuer)
			delete(h, registry.AnnotationSignerIdentity)
			pushBundle(b, img, desc, bundle, h)
		}
	}
	e := newEvaluator(b, f, []*policy.Policy{testPolicy(b, f, "p", "")}, verify.WithVerdictCacheSize(0))
	benchmarkVerify(b, e, img.String(), func(v *verify.Verdict) bool {
		return v.Allowed && len(v.Attestations)+len(v.Superseded) == verify.DefaultMaxBundles
	})
}

// BenchmarkVerifyColdManyBundles is BenchmarkVerifyCold on an image that
// 50 rebuilds of reproducible content left with 100 bundles (an SBOM and a
// provenance each, published a minute apart): the verification reads the
// referrers index, fetches and verifies the newest two, and skips the 98
// they supersede (the package documentation, "How old bundles are
// treated"). The issue's target is p99 under 50 ms.
func BenchmarkVerifyColdManyBundles(b *testing.B) {
	const rebuilds = 50
	f := newFixture(b, true)
	img, desc := f.reg.PushRandom(b, "app", "v1")
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range rebuilds - 1 {
		for _, pt := range []string{hallmark.PredicateSPDX, hallmark.PredicateSLSAProvenanceV1} {
			bundle := f.statement(b, img.Context().Name(), hallmark.Digest(img.DigestStr()), pt, predicateOf(pt))
			pushBundle(b, img, desc, bundle, hintsOf(f, pt, bundle, start.Add(time.Duration(i)*time.Minute)))
		}
	}
	f.attest(b, img, hallmark.PredicateSPDX, spdxPredicate)
	f.attest(b, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	e := newEvaluator(b, f, []*policy.Policy{testPolicy(b, f, "p", "")}, verify.WithVerdictCacheSize(0))
	benchmarkVerify(b, e, img.String(), func(v *verify.Verdict) bool {
		return v.Allowed && len(v.Attestations) == 2 && len(v.Superseded) == 2*rebuilds-2
	})
}

// predicateOf is the test predicate of predicateType, provenance or SPDX.
func predicateOf(predicateType string) string {
	if predicateType == hallmark.PredicateSLSAProvenanceV1 {
		return goodProvenance
	}
	return spdxPredicate
}

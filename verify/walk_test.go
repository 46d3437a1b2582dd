package verify

import (
	"slices"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// TestSkippable: an index entry is skipped only when all its hints are
// given and its claimed creation time is before the second of a verified
// signing time of the same predicate type and signer.
func TestSkippable(t *testing.T) {
	key := signerKey{"https://slsa.dev/provenance/v1", "https://issuer.example", "https://builder.example"}
	signed := time.Date(2026, 12, 6, 1, 0, 10, 600_000_000, time.UTC) // 01:00:10.6
	hints := func(edit func(map[string]string)) map[string]string {
		a := map[string]string{
			registry.AnnotationPredicateType:  key.predicateType,
			registry.AnnotationSignerIssuer:   key.issuer,
			registry.AnnotationSignerIdentity: key.san,
			registry.AnnotationCreated:        "2026-12-06T01:00:09Z",
		}
		edit(a)
		return a
	}
	created := func(v string) func(map[string]string) {
		return func(a map[string]string) { a[registry.AnnotationCreated] = v }
	}
	for _, tt := range []struct {
		name        string
		annotations map[string]string
		skip        bool
	}{
		{"a second older", hints(func(map[string]string) {}), true},
		{"older, fraction", hints(created("2026-12-06T01:00:09.999Z")), true},
		{"same second", hints(created("2026-12-06T01:00:10Z")), false},
		{"same second, earlier fraction", hints(created("2026-12-06T01:00:10.1Z")), false},
		{"newer", hints(created("2026-12-06T01:00:11Z")), false},
		{"other time zone, older", hints(created("2026-12-06T02:00:09+01:00")), true},
		{"other predicate type", hints(func(a map[string]string) { a[registry.AnnotationPredicateType] = "https://spdx.dev/Document" }), false},
		{"other issuer", hints(func(a map[string]string) { a[registry.AnnotationSignerIssuer] = "https://other.example" }), false},
		{"other identity", hints(func(a map[string]string) { a[registry.AnnotationSignerIdentity] = "https://other.example" }), false},
		{"no identity", hints(func(a map[string]string) { delete(a, registry.AnnotationSignerIdentity) }), false},
		{"no issuer", hints(func(a map[string]string) { delete(a, registry.AnnotationSignerIssuer) }), false},
		{"no predicate type", hints(func(a map[string]string) { delete(a, registry.AnnotationPredicateType) }), false},
		{"no creation time", hints(func(a map[string]string) { delete(a, registry.AnnotationCreated) }), false},
		{"unparsable creation time", hints(created("yesterday")), false},
		{"zero creation time", hints(created("0001-01-01T00:00:00Z")), false},
		{"no annotations", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			newest := map[signerKey]time.Time{key: signed}
			if got := skippable(hintOf(tt.annotations), newest); got != tt.skip {
				t.Errorf("skippable = %v, want %v", got, tt.skip)
			}
			if skippable(hintOf(tt.annotations), map[signerKey]time.Time{}) {
				t.Error("skipped with nothing verified")
			}
		})
	}
}

// TestSupersede: of verified attestations of one predicate type and
// signer, the newest by verified time is evaluated and ties are kept; ones
// that did not verify are always evaluated.
func TestSupersede(t *testing.T) {
	at := func(d string, pt, san string, sec int, verified bool) Attestation {
		return Attestation{Referrer: Referrer{Digest: hallmark.Digest(d)}, PredicateType: pt, SignerIssuer: "i", SignerIdentity: san,
			Timestamp: time.Unix(int64(sec), 0), Verified: verified}
	}
	checked := []Attestation{
		at("a", "p", "s", 1, true),
		at("b", "p", "s", 3, true),
		at("c", "p", "s", 3, true), // tie with b
		at("d", "p", "other", 1, true),
		at("e", "q", "s", 2, true),
		at("f", "p", "s", 9, false), // did not verify: supersedes nothing
	}
	skipped := []Attestation{{Referrer: Referrer{Digest: hallmark.Digest("g"), PredicateType: "p", SignerIssuer: "i", SignerIdentity: "s"}}}
	current, superseded := supersede(checked, skipped)
	var cur []string
	for _, a := range current {
		cur = append(cur, string(a.Referrer.Digest))
	}
	if got, want := cur, []string{"b", "c", "d", "e", "f"}; !slices.Equal(got, want) {
		t.Errorf("current = %v, want %v", got, want)
	}
	if len(superseded) != 2 || superseded[0].Referrer.Digest != "a" || superseded[1].Referrer.Digest != "g" {
		t.Fatalf("superseded = %+v, want a and g", superseded)
	}
	for _, a := range superseded {
		if a.SupersededBy != "c" {
			t.Errorf("%s superseded by %q, want c (the newest; of a tie, the greatest digest)", a.Referrer.Digest, a.SupersededBy)
		}
	}
}

package attest

import (
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestAttestPredicate(t *testing.T) {
	a, _, _, res, v := fixture(t, true)
	const pt = "https://in-toto.io/attestation/vulns/v0.1"
	var lines []string
	atts, err := a.AttestPredicate(t.Context(), res, pt, []byte(`{"scanner":{"uri":"https://hallmark.dev/vuln","result":[]}}`), func(f string, args ...any) { lines = append(lines, f) })
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 || atts[0].PredicateType != pt || atts[0].Subject != res.Digest || len(lines) != 1 {
		t.Fatalf("attestations %+v, lines %q", atts, lines)
	}
	got, err := v.Image(t.Context(), res.Pinned)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Verified(pt)); n != 1 {
		t.Errorf("%d verified %s attestations, want 1", n, pt)
	}

	for _, bad := range []string{`[]`, `not json`} {
		if _, err := a.AttestPredicate(t.Context(), res, pt, []byte(bad), nil); err == nil {
			t.Errorf("AttestPredicate(%s) succeeded", bad)
		}
	}
	res.Digest = hallmark.Digest("sha256:" + strings.Repeat("c", 64))
	res.Repository = "Not A Repository"
	if _, err := a.AttestPredicate(t.Context(), res, pt, []byte(`{}`), nil); err == nil {
		t.Error("AttestPredicate of a bad repository succeeded")
	}
}

package verify_test

import (
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// TestEvaluatorVulnsOfIndex: the scan of a multi-platform image is about
// the index; every platform's rules read it as vulns.
func TestEvaluatorVulnsOfIndex(t *testing.T) {
	f := newFixture(t, true)
	pol := testPolicy(t, f, "p", `{name: scanned, expression: "vulns != null && vulns.critical == 0 && timestamp(vulns.scannedAt) < now"}`)
	idx, _ := multiIndex(t, f, "v1", "linux/amd64", "linux/arm64")
	v, err := newEvaluator(t, f, []*policy.Policy{pol}).Verify(t.Context(), verify.Request{Ref: idx.String()})
	if err != nil {
		t.Fatal(err)
	}
	if v.Allowed || !strings.Contains(strings.Join(v.Reasons, "\n"), `linux/amd64: rule "scanned"`) {
		t.Errorf("an index without a scan: allowed %v, reasons %q; want the rule on vulns to deny", v.Allowed, v.Reasons)
	}

	f.attest(t, idx, hallmark.PredicateVulns, `{"scanner":{"uri":"https://hallmark.dev/vuln","db":{"uri":"https://osv.dev"},"result":[]},`+
		`"metadata":{"scanStartedOn":"2026-01-01T00:00:00Z","scanFinishedOn":"2026-01-01T00:00:01Z"}}`)
	v, err = newEvaluator(t, f, []*policy.Policy{pol}).Verify(t.Context(), verify.Request{Ref: idx.String()})
	if err != nil {
		t.Fatal(err)
	}
	if !v.Allowed || len(v.Platforms) != 2 {
		t.Errorf("scanned index: allowed %v, reasons %q, %d platforms", v.Allowed, v.Reasons, len(v.Platforms))
	}
}

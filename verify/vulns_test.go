package verify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/verify/policy"
)

const vulnsPredicateJSON = `{"scanner":{"uri":"https://hallmark.dev/vuln","version":"v1","db":{"uri":"https://osv.dev","version":"x","lastUpdate":"2026-12-04T12:00:00Z"},
  "result":[
    {"id":"GO-2024-3321","aliases":["CVE-2024-45337"],"severity":[{"method":"CVSS","score":"9.1","level":"critical"}],"package":"pkg:golang/golang.org/x/crypto@v0.30.0","installed":"0.30.0","fixed":["0.31.0"],
     "excepted":{"reason":"no ssh server","by":"policy"}},
    {"id":"GO-2025-0001","severity":[{"method":"rating","score":"high","level":"high"}],"package":"pkg:golang/golang.org/x/net@v0.1.0","installed":"0.1.0"}]},
  "metadata":{"scanStartedOn":"2026-12-05T10:00:00Z","scanFinishedOn":"2026-12-05T10:00:01Z"}}`

func TestVulnsInput(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 1, 0, time.UTC)
	in := vulnsInput(json.RawMessage(vulnsPredicateJSON), now)
	if in == nil {
		t.Fatal("vulnsInput = nil")
	}
	if in["critical"] != 0 || in["high"] != 1 || in["excepted"] != 1 || in["scannedAt"] != "2026-12-05T10:00:01Z" || in["scanAgeSeconds"] != int64(7200) ||
		in["databaseAgeSeconds"] != int64(22*3600) || len(in["findings"].([]any)) != 2 {
		t.Errorf("vulns = %v", in)
	}
	for _, bad := range []string{`[]`, `{}`, `{"metadata":{"scanFinishedOn":"yesterday"}}`} {
		if got := vulnsInput(json.RawMessage(bad), now); got != nil {
			t.Errorf("vulnsInput(%s) = %v, want nil", bad, got)
		}
	}

	// The rules the issue asks for.
	p, err := policy.Load([]byte("apiVersion: hallmark.dev/v1\nkind: Policy\nmetadata:\n  name: test\nspec:\n" +
		"  signers:\n    - issuer: https://issuer.example\n      subject: builder\n  rules:\n" +
		"    - name: no-critical\n      expression: 'vulns != null && vulns.critical == 0'\n" +
		"    - name: fresh\n      expression: 'timestamp(vulns.scannedAt) > now - duration(\"24h\")'\n" +
		"    - name: no-high\n      expression: 'vulns.findings.all(f, f.excepted || f.level != \"high\")'\n"))
	if err != nil {
		t.Fatal(err)
	}
	res := p.Evaluate(t.Context(), policy.Input{Vulns: in, Now: now})
	want := map[string]bool{"no-critical": true, "fresh": true, "no-high": false}
	for _, r := range res {
		if w, ok := want[r.Name]; ok && r.Passed != w {
			t.Errorf("rule %s passed = %v (%s), want %v", r.Name, r.Passed, r.Message, w)
		}
	}
	res = p.Evaluate(t.Context(), policy.Input{Vulns: in, Now: now.Add(48 * time.Hour)})
	for _, r := range res {
		if r.Name == "fresh" && r.Passed {
			t.Error("a scan two days old passed the 24 h rule")
		}
	}
	res = p.Evaluate(t.Context(), policy.Input{Now: now})
	for _, r := range res {
		if r.Passed && r.Name != "signers" && !strings.HasPrefix(r.Name, "require") {
			t.Errorf("rule %s passed without a scan", r.Name)
		}
	}
}

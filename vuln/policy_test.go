package vuln

import (
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	crit := Finding{ID: "GO-2024-3321", Aliases: []string{"CVE-2024-45337"}, Package: "pkg:golang/golang.org/x/crypto@v0.30.0", Name: "golang.org/x/crypto", Fixed: []string{"0.31.0"}, Severity: Severity{Level: Critical}}
	unfixed := Finding{ID: "CVE-2025-1", Package: "pkg:deb/debian/libc6@2.36?upstream=glibc", Name: "glibc", Severity: Severity{Level: High}}
	unknown := Finding{ID: "CVE-2025-2", Package: "pkg:npm/left-pad@1.0.0", Name: "left-pad", Severity: Severity{Level: Unknown}}
	rep := Report{Findings: []Finding{crit, unfixed, unknown}}
	exc := func(adv, pkg string, expires time.Time) Exception {
		return Exception{Advisory: adv, Package: pkg, Reason: "r", Expires: expires, By: ByPolicy}
	}
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	tests := []struct {
		name         string
		p            Policy
		wantBlocking []string
		wantExcepted []string
		wantWarnings int
	}{
		{name: "none", p: Policy{FailOn: None}},
		{name: "empty is none", p: Policy{}},
		{name: "critical", p: Policy{FailOn: Critical}, wantBlocking: []string{"GO-2024-3321"}},
		{name: "high", p: Policy{FailOn: High}, wantBlocking: []string{"GO-2024-3321", "CVE-2025-1"}},
		{name: "low: unknown never blocks", p: Policy{FailOn: Low}, wantBlocking: []string{"GO-2024-3321", "CVE-2025-1"}},
		{name: "only fixed", p: Policy{FailOn: High, OnlyFixed: true}, wantBlocking: []string{"GO-2024-3321"}},
		{name: "exception by alias", p: Policy{FailOn: Critical, Exceptions: []Exception{exc("cve-2024-45337", "", later)}}, wantExcepted: []string{"GO-2024-3321"}},
		{name: "exception by purl without version", p: Policy{FailOn: Critical, Exceptions: []Exception{exc("GO-2024-3321", "pkg:golang/golang.org/x/crypto", later)}}, wantExcepted: []string{"GO-2024-3321"}},
		{name: "exception by name", p: Policy{FailOn: Critical, Exceptions: []Exception{exc("GO-2024-3321", "golang.org/x/crypto", later)}}, wantExcepted: []string{"GO-2024-3321"}},
		{name: "exception of another version", p: Policy{FailOn: Critical, Exceptions: []Exception{exc("GO-2024-3321", "pkg:golang/golang.org/x/crypto@v0.29.0", later)}}, wantBlocking: []string{"GO-2024-3321"}},
		{name: "exception of another package", p: Policy{FailOn: Critical, Exceptions: []Exception{exc("GO-2024-3321", "pkg:golang/golang.org/x/net", later)}}, wantBlocking: []string{"GO-2024-3321"}},
		{name: "expired exception", p: Policy{FailOn: Critical, Exceptions: []Exception{exc("GO-2024-3321", "", earlier), exc("GO-2024-3321", "", now)}}, wantBlocking: []string{"GO-2024-3321"}, wantWarnings: 2},
		{name: "exception below failOn is still listed", p: Policy{FailOn: None, Exceptions: []Exception{exc("CVE-2025-2", "", later)}}, wantExcepted: []string{"CVE-2025-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.p.Decide(rep, now)
			if got := ids(d.Blocking); strings.Join(got, ",") != strings.Join(tt.wantBlocking, ",") {
				t.Errorf("blocking %q, want %q", got, tt.wantBlocking)
			}
			var ex []Finding
			for _, e := range d.Excepted {
				ex = append(ex, e.Finding)
			}
			if got := ids(ex); strings.Join(got, ",") != strings.Join(tt.wantExcepted, ",") {
				t.Errorf("excepted %q, want %q", got, tt.wantExcepted)
			}
			if len(d.Warnings) != tt.wantWarnings {
				t.Errorf("warnings %q, want %d", d.Warnings, tt.wantWarnings)
			}
		})
	}
}

func ids(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func TestParseLevel(t *testing.T) {
	for _, s := range []string{"critical", "HIGH", "medium", "low", "none"} {
		if _, err := ParseLevel(s); err != nil {
			t.Errorf("ParseLevel(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "unknown", "severe"} {
		if _, err := ParseLevel(s); err == nil {
			t.Errorf("ParseLevel(%q) succeeded", s)
		}
	}
}

package vuln

import (
	"slices"
	"strings"
	"testing"
)

func TestMatchGo(t *testing.T) {
	db := goDatabase(t)
	crypto30 := purl("golang", "golang.org/x", "crypto", "v0.30.0")
	fs := db.Match([]Package{pkg(t, crypto30)})
	got := byID(fs, "GO-2024-3321")
	if len(got) != 1 {
		t.Fatalf("findings for x/crypto v0.30.0: %+v", fs)
	}
	f := got[0]
	if f.Package != crypto30 || f.Ecosystem != "Go" || f.Name != "golang.org/x/crypto" || f.Installed != "0.30.0" ||
		strings.Join(f.Aliases, " ") != "CVE-2024-45337 GHSA-v778-237x-gjrc" || strings.Join(f.Fixed, " ") != "0.31.0" {
		t.Errorf("GO-2024-3321 = %+v", f)
	}
	if want := (Severity{Level: Critical, Score: 9.1, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", Source: "GHSA-v778-237x-gjrc"}); f.Severity != want {
		t.Errorf("severity = %+v, want %+v", f.Severity, want)
	}
	// The GitHub record is the same vulnerability: merged, not repeated.
	if len(byID(fs, "GHSA-v778-237x-gjrc")) != 0 {
		t.Errorf("GHSA-v778-237x-gjrc reported beside GO-2024-3321: %+v", fs)
	}
	for _, f := range fs {
		if f.Severity.Level == "" {
			t.Errorf("%s has no severity level", f.ID)
		}
	}

	fixed := db.Match([]Package{pkg(t, purl("golang", "golang.org/x", "crypto", "v0.31.0"))})
	if len(byID(fixed, "GO-2024-3321")) != 0 || len(fixed) >= len(fs) {
		t.Errorf("x/crypto v0.31.0 still has GO-2024-3321 (%d findings, %d before)", len(fixed), len(fs))
	}

	text := byID(db.Match([]Package{pkg(t, purl("golang", "golang.org/x", "text", "v0.3.7"))}), "GO-2022-1059")
	if len(text) != 1 || text[0].Severity.Level != High || text[0].Severity.Source != "GHSA-69ch-w2m2-3vjp" ||
		text[0].Severity.Score != 7.5 || strings.Join(text[0].Fixed, " ") != "0.3.8" {
		t.Errorf("x/text v0.3.7 = %+v", text)
	}
	if text := byID(db.Match([]Package{pkg(t, purl("golang", "golang.org/x", "text", "v0.3.8"))}), "GO-2022-1059"); len(text) != 0 {
		t.Errorf("x/text v0.3.8 = %+v", text)
	}
}

func TestMatchGoStdlib(t *testing.T) {
	db := goDatabase(t)
	for _, v := range []string{"1.21.0", "go1.21.0", "v1.21.0"} {
		fs := db.Match([]Package{pkg(t, purl("golang", "", "stdlib", v))})
		if len(fs) < 20 {
			t.Errorf("stdlib %s: %d findings", v, len(fs))
		}
		for _, f := range fs {
			if f.Name != "stdlib" || f.Installed != "1.21.0" || f.Severity.Level != Unknown || len(f.Fixed) == 0 {
				t.Errorf("stdlib %s: %+v", v, f)
				break
			}
		}
	}
	// A release candidate is inside ranges introduced at "1.21.0-0".
	rc := db.Match([]Package{pkg(t, purl("golang", "", "stdlib", "go1.21rc2"))})
	if len(rc) == 0 || rc[0].Installed != "1.21.0-rc.2" {
		t.Errorf("stdlib go1.21rc2: %+v", rc)
	}
	if n := len(db.Match([]Package{pkg(t, purl("golang", "", "stdlib", "1.99.0"))})); n != 0 {
		t.Errorf("stdlib 1.99.0: %d findings", n)
	}
}

func TestMatchGoUnchecked(t *testing.T) {
	db := goDatabase(t)
	rep := db.Scan([]Package{
		pkg(t, "pkg:golang/example.com/local"),                          // (devel): no version
		pkg(t, purl("golang", "", "stdlib", "devel go1.24-abcdef Tue")), // a development toolchain
		pkg(t, purl("golang", "github.com/gin-gonic", "gin", "not-a-version")),
		pkg(t, "pkg:oci/hello@sha256%3Aabc"),
		pkg(t, purl("pypi", "", "django", "4.2.0")),
	})
	if len(rep.Findings) != 0 {
		t.Errorf("findings: %+v", rep.Findings)
	}
	want := []string{
		"pkg:golang/example.com/local: a Go module built from a local directory, (devel), has no version to check",
		`pkg:golang/stdlib@devel%20go1.24-abcdef%20Tue: Go toolchain version "devel go1.24-abcdef Tue" is not a release`,
		`pkg:golang/github.com/gin-gonic/gin@not-a-version: version "not-a-version" does not parse as a semver version`,
		`pkg:oci/hello@sha256%3Aabc: no OSV ecosystem for purl type "oci"`,
		"pkg:pypi/django@4.2.0: no advisories loaded for PyPI",
	}
	var got []string
	for _, u := range rep.Unchecked {
		got = append(got, u.Package+": "+u.Reason)
	}
	if !slices.Equal(got, want) {
		t.Errorf("unchecked:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMatchGoPseudoVersion: pseudo-versions are pre-releases of the next
// version, ordered as the go command orders them.
func TestMatchGoPseudoVersion(t *testing.T) {
	db := goDatabase(t)
	// GO-2024-3321 is fixed in 0.31.0; this pseudo-version is a commit
	// after v0.30.0 and before v0.31.0.
	before := db.Match([]Package{pkg(t, purl("golang", "golang.org/x", "crypto", "v0.30.1-0.20241210000000-abcdefabcdef"))})
	after := db.Match([]Package{pkg(t, purl("golang", "golang.org/x", "crypto", "v0.31.1-0.20241220000000-abcdefabcdef"))})
	if len(byID(before, "GO-2024-3321")) != 1 || len(byID(after, "GO-2024-3321")) != 0 {
		t.Errorf("pseudo-versions: before %d, after %d findings of GO-2024-3321", len(byID(before, "GO-2024-3321")), len(byID(after, "GO-2024-3321")))
	}
}
